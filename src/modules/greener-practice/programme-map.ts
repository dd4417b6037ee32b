import fs from 'node:fs';
import path from 'node:path';
import { parseCsvWithHeader } from '../../lib/csv.ts';
import { escapeXml } from '../../web/charts/svg.ts';
import {
  boundsOf,
  fitProjection,
  pathOf,
  ringsOfGeometry,
  simplifyRing,
  type Projection,
  type Ring,
} from './map-geometry.ts';

/**
 * The map of LLR on programme dashboards: small areas (2011 LSOAs) shaded by their IMD 2019
 * decile, local authority districts outlined, and practices placed at their approximate location
 * (the centroid of their postcode's outcode) coloured by award. Drawn on the server as SVG; the
 * page gives the same facts in a table.
 */

const MAP_WIDTH = 640;
/** Boundaries are simplified again in pixels: nothing finer than this is drawn. */
const PIXEL_TOLERANCE = 0.9;

/** Colours for IMD deciles 1–2, 3–4, …, 9–10 (most to least deprived), dark to light. */
export const deprivationColours = ['#7a2e8a', '#a767b5', '#cfa6d6', '#e8d5ec', '#f7f0f8'] as const;

export type MapMarkerCategory = 'gold' | 'silver' | 'bronze' | 'taking-part' | 'not-started';

export type MarkerShape = 'diamond' | 'square' | 'triangle' | 'circle';

/** Each award has its own shape as well as its colour: gold and silver differ little in colour. */
export const markerStyles: Record<
  MapMarkerCategory,
  { label: string; fill: string; stroke: string; radius: number; shape: MarkerShape }
> = {
  gold: { label: 'Gold award', fill: '#ffb81c', stroke: '#212b32', radius: 7, shape: 'diamond' },
  silver: { label: 'Silver award', fill: '#aeb7bd', stroke: '#212b32', radius: 6, shape: 'square' },
  bronze: {
    label: 'Bronze award',
    fill: '#a0522d',
    stroke: '#212b32',
    radius: 7,
    shape: 'triangle',
  },
  'taking-part': {
    label: 'Taking part, no award yet',
    fill: '#005eb8',
    stroke: '#ffffff',
    radius: 4.5,
    shape: 'circle',
  },
  'not-started': {
    label: 'Not taking part yet',
    fill: '#ffffff',
    stroke: '#4c6272',
    radius: 3.5,
    shape: 'circle',
  },
};

/** One marker in its shape, centred on (x, y), with an optional tooltip title. */
export function markerSvg(
  style: (typeof markerStyles)[MapMarkerCategory],
  x: number,
  y: number,
  title?: string,
): string {
  const r = style.radius;
  const paint = `fill="${style.fill}" stroke="${style.stroke}" stroke-width="1"`;
  const inner = title === undefined ? '' : `<title>${escapeXml(title)}</title>`;
  const points = (corners: [number, number][]) =>
    corners.map(([dx, dy]) => `${(x + dx).toFixed(1)},${(y + dy).toFixed(1)}`).join(' ');
  switch (style.shape) {
    case 'diamond':
      return `<polygon points="${points([
        [0, -r],
        [r, 0],
        [0, r],
        [-r, 0],
      ])}" ${paint}>${inner}</polygon>`;
    case 'square':
      return `<rect x="${(x - r).toFixed(1)}" y="${(y - r).toFixed(1)}" width="${2 * r}" height="${2 * r}" ${paint}>${inner}</rect>`;
    case 'triangle':
      return `<polygon points="${points([
        [0, -r],
        [r, r * 0.8],
        [-r, r * 0.8],
      ])}" ${paint}>${inner}</polygon>`;
    case 'circle':
      return `<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="${r}" ${paint}>${inner}</circle>`;
  }
}

export interface MapMarker {
  code: string;
  name: string;
  latitude: number;
  longitude: number;
  category: MapMarkerCategory;
}

interface PreparedGeography {
  projection: Projection;
  areaPaths: { decileBand: number; path: string }[];
  districtPaths: string[];
}

let prepared: PreparedGeography | undefined;

function readGeoJson(file: string) {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as {
    features: {
      properties: Record<string, string>;
      geometry: { type: string; coordinates: unknown };
    }[];
  };
}

/** Reads and projects the boundary files once per process (they ship with Greenspace). */
export function prepareGeography(referenceDataDir: string): PreparedGeography {
  if (prepared) return prepared;
  const dir = path.join(referenceDataDir, 'geography');
  const areas = readGeoJson(path.join(dir, 'llr_lsoa2011_simplified.geojson'));
  const districts = readGeoJson(path.join(dir, 'llr_local_authority_districts_simplified.geojson'));
  const deciles = new Map(
    parseCsvWithHeader(
      fs.readFileSync(path.join(dir, 'llr_lsoa_imd2019.csv'), 'utf8'),
      'llr_lsoa_imd2019.csv',
      ['lsoa11cd', 'imd2019_decile'],
    ).map((record) => [record.values.lsoa11cd!, Number(record.values.imd2019_decile)]),
  );
  const districtRings = districts.features.map((feature) => ringsOfGeometry(feature.geometry));
  const projection = fitProjection(boundsOf(districtRings.flat()), MAP_WIDTH);
  const toPixels = (rings: Ring[]) =>
    rings.map((ring) =>
      simplifyRing(
        ring.map(([lon, lat]) => projection.project(lon, lat)),
        PIXEL_TOLERANCE,
      ),
    );
  prepared = {
    projection,
    areaPaths: areas.features.map((feature) => {
      const decile = deciles.get(feature.properties.lsoa11cd ?? '') ?? 0;
      return {
        decileBand: decile >= 1 && decile <= 10 ? Math.ceil(decile / 2) : 0,
        path: pathOf(toPixels(ringsOfGeometry(feature.geometry))),
      };
    }),
    districtPaths: districtRings.map((rings) => pathOf(toPixels(rings))),
  };
  return prepared;
}

/**
 * Spreads markers that share a location (practices in the same outcode) on a small circle around
 * it, in a stable order, so each stays visible; the table gives the exact facts.
 */
export function spreadMarkers(
  points: { key: string; x: number; y: number }[],
  spacing = 7,
): Map<string, { x: number; y: number }> {
  const groups = new Map<string, { key: string; x: number; y: number }[]>();
  for (const point of points) {
    const at = `${point.x.toFixed(1)},${point.y.toFixed(1)}`;
    groups.set(at, [...(groups.get(at) ?? []), point]);
  }
  const placed = new Map<string, { x: number; y: number }>();
  for (const group of groups.values()) {
    const sorted = [...group].sort((a, b) => a.key.localeCompare(b.key));
    if (sorted.length === 1) {
      placed.set(sorted[0]!.key, { x: sorted[0]!.x, y: sorted[0]!.y });
      continue;
    }
    const radius = spacing * Math.max(1, sorted.length / 6);
    sorted.forEach((point, index) => {
      const angle = (2 * Math.PI * index) / sorted.length;
      placed.set(point.key, {
        x: point.x + radius * Math.cos(angle),
        y: point.y + radius * Math.sin(angle),
      });
    });
  }
  return placed;
}

export function renderProgrammeMap(options: {
  referenceDataDir: string;
  id: string;
  title: string;
  description: string;
  markers: MapMarker[];
}): string {
  const geography = prepareGeography(options.referenceDataDir);
  const { projection } = geography;
  const titleId = `${options.id}-title`;
  const descId = `${options.id}-desc`;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="gs-map" viewBox="0 0 ${projection.width} ${projection.height}" width="${projection.width}" height="${projection.height}" role="img" aria-labelledby="${titleId} ${descId}" focusable="false">`,
    `<title id="${titleId}">${escapeXml(options.title)}</title>`,
    `<desc id="${descId}">${escapeXml(options.description)}</desc>`,
    '<g stroke="#ffffff" stroke-width="0.3">',
  ];
  for (let band = 1; band <= 5; band++) {
    const paths = geography.areaPaths.filter((area) => area.decileBand === band);
    if (paths.length === 0) continue;
    parts.push(
      `<path fill="${deprivationColours[band - 1]}" d="${paths.map((area) => area.path).join('')}"/>`,
    );
  }
  const unknown = geography.areaPaths.filter((area) => area.decileBand === 0);
  if (unknown.length > 0)
    parts.push(`<path fill="#d8dde0" d="${unknown.map((area) => area.path).join('')}"/>`);
  parts.push('</g>');
  parts.push(
    `<path fill="none" stroke="#212b32" stroke-width="1.2" d="${geography.districtPaths.join('')}"/>`,
  );
  const located = options.markers.map((marker) => {
    const [x, y] = projection.project(marker.longitude, marker.latitude);
    return { key: marker.code, x, y, marker };
  });
  const positions = spreadMarkers(located);
  // Awards drawn last, so they sit on top.
  const order: MapMarkerCategory[] = ['not-started', 'taking-part', 'bronze', 'silver', 'gold'];
  for (const category of order) {
    const style = markerStyles[category];
    for (const entry of located.filter((item) => item.marker.category === category)) {
      const at = positions.get(entry.key)!;
      parts.push(
        markerSvg(style, at.x, at.y, `${entry.marker.name} (${entry.marker.code}): ${style.label}`),
      );
    }
  }
  parts.push('</svg>');
  return parts.join('');
}
