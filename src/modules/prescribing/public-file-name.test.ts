import { describe, expect, it } from 'vitest';
import { publicFileName } from './public-file-name.ts';

describe('the public name of an imported file', () => {
  it.each([
    ['/srv/data/epd/EPD_202401.csv.gz', 'EPD_202401.csv.gz'],
    ['EPD_202401.csv', 'EPD_202401.csv'],
    ['C:\\Users\\someone\\Downloads\\EPD_202401.csv', 'EPD_202401.csv'],
    [
      'https://storage.example.org/bucket/EPD_202401.zip?X-Amz-Signature=abc123&X-Amz-Credential=key',
      'EPD_202401.zip',
    ],
    ['https://example.org/files/EPD%20202401.csv#part', 'EPD 202401.csv'],
    [
      'https://example.org/EPD_202402.zip?token=secret › data/EPD_202402.csv',
      'EPD_202402.zip › EPD_202402.csv',
    ],
    ['/home/someone/epd.zip › EPD_201709.csv', 'epd.zip › EPD_201709.csv'],
  ])('shows %s as %s', (recorded, shown) => {
    expect(publicFileName(recorded)).toBe(shown);
  });

  it('never keeps a query string or a folder', () => {
    const shown = publicFileName('https://host.example/a/b/file.csv?sig=secret');
    expect(shown).not.toContain('secret');
    expect(shown).not.toContain('/');
  });
});
