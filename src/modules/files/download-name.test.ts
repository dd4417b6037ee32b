import { describe, expect, it } from 'vitest';
import { contentDisposition, downloadName } from './file.service.ts';

describe('downloadName', () => {
  it('keeps a name whose extension matches what the file is', () => {
    expect(downloadName('Board report.pdf', 'pdf')).toBe('Board report.pdf');
    expect(downloadName('SCAN.PDF', 'pdf')).toBe('SCAN.PDF');
    expect(downloadName('photo.jpeg', 'jpg')).toBe('photo.jpeg');
  });

  it('gives the extension of what the file really is to any other name', () => {
    expect(downloadName('agenda.html', 'pdf')).toBe('agenda.pdf');
    expect(downloadName('minutes.tar.bat', 'docx')).toBe('minutes.tar.docx');
    expect(downloadName('notes', 'pdf')).toBe('notes.pdf');
    expect(downloadName('.hidden', 'png')).toBe('.hidden.png');
  });
});

describe('contentDisposition', () => {
  it('encodes the characters RFC 5987 does not allow as they are', () => {
    expect(contentDisposition('attachment', "O'Neill (final)*.pdf")).toBe(
      `attachment; filename="O'Neill (final)*.pdf"; filename*=UTF-8''O%27Neill%20%28final%29%2A.pdf`,
    );
  });

  it('gives an ASCII name beside the UTF-8 one', () => {
    expect(contentDisposition('inline', 'Café "plan".pdf')).toBe(
      `inline; filename="Caf_ _plan_.pdf"; filename*=UTF-8''Caf%C3%A9%20%22plan%22.pdf`,
    );
  });
});
