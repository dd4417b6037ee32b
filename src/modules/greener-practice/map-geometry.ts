/**
 * Plane geometry for the programme map: Douglas–Peucker simplification of boundary rings and a
 * projection of longitude and latitude onto the SVG's pixels. Pure functions; the map of LLR is
 * small enough (about 50 km across) for an equirectangular projection scaled by the cosine of its
 * middle latitude to keep shapes true to the eye.
 */

export type Point = readonly [number, number];
export type Ring = readonly Point[];

/** A polygon's rings (outer first) or a multipolygon's polygons, as GeoJSON holds them. */
export type PolygonRings = readonly Ring[];

function distanceToSegment(point: Point, start: Point, end: Point): number {
  const [x, y] = point;
  const [x1, y1] = start;
  const [x2, y2] = end;
  const dx = x2 - x1;
  const dy = y2 - y1;
  const lengthSquared = dx * dx + dy * dy;
  if (lengthSquared === 0) return Math.hypot(x - x1, y - y1);
  const t = Math.max(0, Math.min(1, ((x - x1) * dx + (y - y1) * dy) / lengthSquared));
  return Math.hypot(x - (x1 + t * dx), y - (y1 + t * dy));
}

/**
 * Douglas–Peucker: keeps the points that lie further than `tolerance` from the simplified line,
 * always the first and last. Iterative, so a long boundary cannot overflow the stack.
 */
export function simplifyLine(points: readonly Point[], tolerance: number): Point[] {
  if (points.length <= 2) return [...points];
  const keep = new Uint8Array(points.length);
  keep[0] = 1;
  keep[points.length - 1] = 1;
  const stack: [number, number][] = [[0, points.length - 1]];
  while (stack.length > 0) {
    const [first, last] = stack.pop()!;
    let furthest = -1;
    let furthestDistance = tolerance;
    for (let index = first + 1; index < last; index++) {
      const distance = distanceToSegment(points[index]!, points[first]!, points[last]!);
      if (distance > furthestDistance) {
        furthest = index;
        furthestDistance = distance;
      }
    }
    if (furthest !== -1) {
      keep[furthest] = 1;
      stack.push([first, furthest], [furthest, last]);
    }
  }
  return points.filter((_point, index) => keep[index] === 1);
}

/**
 * Simplifies a closed ring (first point equal to the last), keeping it closed and at least a
 * triangle: a ring that would collapse keeps its original shape instead.
 */
export function simplifyRing(ring: Ring, tolerance: number): Point[] {
  if (ring.length < 4) return [...ring];
  // Split at the point furthest from the start so that both halves have a real chord.
  let split = 1;
  let furthest = -1;
  for (let index = 1; index < ring.length - 1; index++) {
    const distance = Math.hypot(ring[index]![0] - ring[0]![0], ring[index]![1] - ring[0]![1]);
    if (distance > furthest) {
      furthest = distance;
      split = index;
    }
  }
  const first = simplifyLine(ring.slice(0, split + 1), tolerance);
  const second = simplifyLine(ring.slice(split), tolerance);
  const result = [...first, ...second.slice(1)];
  return result.length >= 4 ? result : [...ring];
}

export interface Bounds {
  west: number;
  south: number;
  east: number;
  north: number;
}

export function boundsOf(rings: Iterable<Ring>): Bounds {
  const bounds = { west: Infinity, south: Infinity, east: -Infinity, north: -Infinity };
  for (const ring of rings)
    for (const [lon, lat] of ring) {
      bounds.west = Math.min(bounds.west, lon);
      bounds.east = Math.max(bounds.east, lon);
      bounds.south = Math.min(bounds.south, lat);
      bounds.north = Math.max(bounds.north, lat);
    }
  return bounds;
}

export interface Projection {
  width: number;
  height: number;
  project(lon: number, lat: number): Point;
}

/** Fits the bounds into `width` pixels wide (with a margin), north up. */
export function fitProjection(bounds: Bounds, width: number, margin = 8): Projection {
  const middleLatitude = ((bounds.north + bounds.south) / 2) * (Math.PI / 180);
  const xScale = Math.cos(middleLatitude);
  const spanX = (bounds.east - bounds.west) * xScale || 1;
  const spanY = bounds.north - bounds.south || 1;
  const scale = (width - 2 * margin) / spanX;
  const height = Math.ceil(spanY * scale + 2 * margin);
  return {
    width,
    height,
    project(lon, lat) {
      return [margin + (lon - bounds.west) * xScale * scale, margin + (bounds.north - lat) * scale];
    },
  };
}

/** An SVG path for rings already in pixels, to one decimal place. */
export function pathOf(rings: readonly Ring[]): string {
  return rings
    .filter((ring) => ring.length >= 3)
    .map(
      (ring) =>
        `M${ring.map(([x, y]) => `${Math.round(x * 10) / 10},${Math.round(y * 10) / 10}`).join('L')}Z`,
    )
    .join('');
}

/** The outer and inner rings of a GeoJSON Polygon or MultiPolygon geometry. */
export function ringsOfGeometry(geometry: { type: string; coordinates: unknown }): Ring[] {
  if (geometry.type === 'Polygon') return geometry.coordinates as Ring[];
  if (geometry.type === 'MultiPolygon') return (geometry.coordinates as Ring[][]).flat();
  return [];
}
