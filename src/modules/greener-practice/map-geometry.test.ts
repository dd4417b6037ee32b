import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  boundsOf,
  fitProjection,
  pathOf,
  simplifyLine,
  simplifyRing,
  type Point,
} from './map-geometry.ts';
import { spreadMarkers } from './programme-map.ts';

const arbitraryLine = fc.array(
  fc.tuple(
    fc.double({ min: -100, max: 100, noNaN: true }),
    fc.double({ min: -100, max: 100, noNaN: true }),
  ),
  { minLength: 2, maxLength: 60 },
) as fc.Arbitrary<Point[]>;

function distanceToPolyline(point: Point, line: readonly Point[]): number {
  let best = Infinity;
  for (let index = 1; index < line.length; index++) {
    const [x1, y1] = line[index - 1]!;
    const [x2, y2] = line[index]!;
    const dx = x2 - x1;
    const dy = y2 - y1;
    const length = dx * dx + dy * dy;
    const t =
      length === 0
        ? 0
        : Math.max(0, Math.min(1, ((point[0] - x1) * dx + (point[1] - y1) * dy) / length));
    best = Math.min(best, Math.hypot(point[0] - (x1 + t * dx), point[1] - (y1 + t * dy)));
  }
  return best;
}

describe('simplifyLine', () => {
  it('drops points that lie on the line', () => {
    expect(
      simplifyLine(
        [
          [0, 0],
          [1, 0.01],
          [2, 0],
          [3, 5],
        ],
        0.1,
      ),
    ).toEqual([
      [0, 0],
      [2, 0],
      [3, 5],
    ]);
  });

  it('property: keeps both ends, keeps only original points in order, and strays no further than the tolerance', () => {
    fc.assert(
      fc.property(arbitraryLine, fc.double({ min: 0, max: 20, noNaN: true }), (line, tolerance) => {
        const simplified = simplifyLine(line, tolerance);
        expect(simplified[0]).toEqual(line[0]);
        expect(simplified.at(-1)).toEqual(line.at(-1));
        let cursor = 0;
        for (const point of simplified) {
          while (cursor < line.length && line[cursor] !== point) cursor += 1;
          expect(cursor).toBeLessThan(line.length);
        }
        for (const point of line)
          expect(distanceToPolyline(point, simplified)).toBeLessThanOrEqual(tolerance + 1e-9);
      }),
    );
  });
});

describe('simplifyRing', () => {
  it('keeps a ring closed and never collapses it below a triangle', () => {
    const square: Point[] = [
      [0, 0],
      [10, 0],
      [10, 10],
      [0, 10],
      [0, 0],
    ];
    expect(simplifyRing(square, 0.5)).toEqual(square);
    const tiny = simplifyRing(square, 1000);
    expect(tiny.length).toBeGreaterThanOrEqual(4);
    expect(tiny[0]).toEqual(tiny.at(-1));
  });
});

describe('fitProjection', () => {
  it('puts the north-west corner top left and keeps the width', () => {
    const bounds = boundsOf([
      [
        [-1.6, 52.4],
        [-0.4, 52.98],
      ],
    ]);
    const projection = fitProjection(bounds, 640, 8);
    expect(projection.project(-1.6, 52.98)).toEqual([8, 8]);
    const [x] = projection.project(-0.4, 52.4);
    expect(x).toBeCloseTo(632);
    expect(projection.height).toBeGreaterThan(300);
  });

  it('writes paths to one decimal place', () => {
    expect(
      pathOf([
        [
          [0.04, 1.26],
          [2, 3],
          [4, 5.55],
        ],
      ]),
    ).toBe('M0,1.3L2,3L4,5.6Z');
  });
});

describe('spreadMarkers', () => {
  it('spreads practices that share an outcode around it, and leaves a lone practice in place', () => {
    const placed = spreadMarkers([
      { key: 'A', x: 100, y: 100 },
      { key: 'B', x: 100, y: 100 },
      { key: 'C', x: 300, y: 50 },
    ]);
    expect(placed.get('C')).toEqual({ x: 300, y: 50 });
    expect(placed.get('A')).not.toEqual(placed.get('B'));
    expect(Math.hypot(placed.get('A')!.x - 100, placed.get('A')!.y - 100)).toBeCloseTo(7);
  });
});
