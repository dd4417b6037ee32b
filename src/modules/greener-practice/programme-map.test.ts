import { describe, expect, it } from 'vitest';
import { markerStyles, markerSvg, type MapMarkerCategory } from './programme-map.ts';

describe('map markers', () => {
  it('gives each award a shape of its own, so that awards are not told apart by colour alone', () => {
    const awards: MapMarkerCategory[] = ['gold', 'silver', 'bronze'];
    const shapes = awards.map((award) => markerStyles[award].shape);
    expect(new Set(shapes).size).toBe(awards.length);
    expect(shapes).not.toContain(markerStyles['taking-part'].shape);
    expect(markerSvg(markerStyles.gold, 10, 10)).toMatch(
      /^<polygon points="10\.0,3\.0 17\.0,10\.0 /,
    );
    expect(markerSvg(markerStyles.silver, 10, 10)).toMatch(/^<rect x="4\.0" y="4\.0" width="12"/);
    expect(markerSvg(markerStyles.bronze, 10, 10)).toMatch(/^<polygon /);
    expect(markerSvg(markerStyles['taking-part'], 10, 10)).toMatch(/^<circle /);
  });

  it('escapes the tooltip of a marker', () => {
    expect(markerSvg(markerStyles.gold, 0, 0, 'A & B <Surgery>')).toContain(
      '<title>A &amp; B &lt;Surgery&gt;</title></polygon>',
    );
  });
});
