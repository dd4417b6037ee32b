import { describe, expect, it } from 'vitest';
import { parseWithinGroup } from './practice-hierarchy.ts';

describe('parseWithinGroup', () => {
  it('reads LEVEL:CODE for a group above the rows asked for, the code in capitals', () => {
    expect(parseWithinGroup('icb:qk1', 'practice')).toEqual({ level: 'icb', code: 'QK1' });
    expect(parseWithinGroup(' region:Y60 ', 'sub-icb')).toEqual({ level: 'region', code: 'Y60' });
    expect(parseWithinGroup('sub-icb:04C', 'pcn')).toEqual({ level: 'sub-icb', code: '04C' });
    expect(parseWithinGroup('ICB:QK1', 'pcn')).toEqual({ level: 'icb', code: 'QK1' });
  });

  it('says what is wrong with anything else', () => {
    expect(parseWithinGroup('QK1', 'practice')).toMatch(/^must be LEVEL:CODE with a level of pcn/);
    expect(parseWithinGroup('national:ENG', 'practice')).toMatch(/^must be LEVEL:CODE/);
    expect(parseWithinGroup('icb:Q K1', 'practice')).toMatch(/^must be LEVEL:CODE/);
    expect(parseWithinGroup('pcn:U12345', 'icb')).toBe(
      'must be a group above the icb level (region)',
    );
    expect(parseWithinGroup('region:Y60', 'region')).toBe(
      'must be a group above the region level (none)',
    );
    expect(parseWithinGroup('region:Y60', 'national')).toBe(
      'must be a group above the national level (none)',
    );
  });
});
