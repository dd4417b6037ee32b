import { describe, expect, it } from 'vitest';
import { describeAllowedTypes } from './file-types.ts';

describe('describeAllowedTypes', () => {
  it('lists each kind once, with the article its first word takes when said aloud', () => {
    expect(describeAllowedTypes('spreadsheet')).toBe('an Excel workbook or CSV file');
    expect(describeAllowedTypes('video')).toBe('an MP4 video or WebM video');
    expect(describeAllowedTypes('captions')).toBe('a WebVTT captions file');
    expect(describeAllowedTypes('image')).toBe('a PNG image, JPEG image, GIF image or WebP image');
  });
});
