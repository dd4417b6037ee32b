import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { changedFrom, decodeOpenedForm, encodeOpenedForm, mergeEdit } from './edit-merge.ts';

const fields = ['title', 'status', 'progress'] as const;
type Field = (typeof fields)[number];
const opened: Record<Field, string> = {
  title: 'Insulate the roof',
  status: 'on_track',
  progress: '10',
};

describe('merging a save with what changed since its form was opened', () => {
  it('keeps what was entered when nobody else changed anything', () => {
    expect(
      mergeEdit(fields, opened, opened, { ...opened, title: 'Insulate the roof and walls' }),
    ).toEqual({
      values: { ...opened, title: 'Insulate the roof and walls' },
      clashes: [],
      takenFromOthers: [],
    });
  });

  it('takes others’ changes to fields the form left alone, and keeps its own elsewhere', () => {
    const now = { ...opened, status: 'at_risk', progress: '30' };
    expect(
      mergeEdit(fields, opened, now, { ...opened, title: 'Insulate the roof and walls' }),
    ).toEqual({
      values: { title: 'Insulate the roof and walls', status: 'at_risk', progress: '30' },
      clashes: [],
      takenFromOthers: ['status', 'progress'],
    });
  });

  it('is a clash only where both changed a field to different values', () => {
    const now = { ...opened, status: 'at_risk', progress: '30' };
    expect(
      mergeEdit(fields, opened, now, { ...opened, status: 'complete', progress: '30' }),
    ).toEqual({
      values: { ...opened, status: 'complete', progress: '30' },
      clashes: ['status'],
      takenFromOthers: [],
    });
  });

  it('treats a form sent twice (a double click) as no clash: the second finds its own values saved', () => {
    const entered = { ...opened, title: 'Insulate the roof and walls' };
    const { values } = mergeEdit(fields, opened, opened, entered);
    expect(mergeEdit(fields, opened, values, entered)).toEqual({
      values: entered,
      clashes: [],
      takenFromOthers: [],
    });
  });

  it('counts a field missing from the form (one this person may not change) as left alone', () => {
    const now = { ...opened, title: 'Renamed by the plan team' };
    expect(mergeEdit(fields, opened, now, { status: 'at_risk', progress: '10' })).toEqual({
      values: { title: 'Renamed by the plan team', status: 'at_risk', progress: '10' },
      clashes: [],
      takenFromOthers: ['title'],
    });
  });

  it('counts a text area sent back as browsers send it (CRLF line ends) or with spaces at its ends as left alone', () => {
    const withLines = { ...opened, title: 'Insulate the roof\nand the walls' };
    const now = { ...withLines, title: 'Insulate the roof\nand the loft', status: 'at_risk' };
    const entered = {
      ...withLines,
      title: ' Insulate the roof\r\nand the walls\r\n',
      progress: '20',
    };
    expect(mergeEdit(fields, withLines, now, entered)).toEqual({
      values: { title: 'Insulate the roof\nand the loft', status: 'at_risk', progress: '20' },
      clashes: [],
      takenFromOthers: ['title', 'status'],
    });
    // A change inside the text is still a change, and clashes with theirs.
    const changed = { ...entered, title: 'Insulate the roof\r\nand the doors' };
    expect(mergeEdit(fields, withLines, now, changed).clashes).toEqual(['title']);
    // Both saving the same text, one with CRLF: no clash.
    const same = { ...entered, title: 'Insulate the roof\r\nand the loft' };
    expect(mergeEdit(fields, withLines, now, same).clashes).toEqual([]);
  });

  it('never loses a change: each field ends as entered, or as others left it where the form did not touch it', () => {
    const value = fc.constantFrom('a', 'b', 'c');
    const record = fc.record({ title: value, status: value, progress: value });
    fc.assert(
      fc.property(record, record, record, (before, now, entered) => {
        const merged = mergeEdit(fields, before, now, entered);
        for (const field of fields) {
          const touched = entered[field] !== before[field];
          const othersChanged = now[field] !== before[field];
          expect(merged.values[field]).toBe(touched ? entered[field] : now[field]);
          expect(merged.clashes.includes(field)).toBe(
            touched && othersChanged && entered[field] !== now[field],
          );
        }
      }),
    );
  });
});

describe('the fields a save without opened values would change', () => {
  it('are those it sends that differ from now as saved, not those it leaves out', () => {
    const now = { ...opened, title: 'Insulate the roof\nand walls' };
    expect(
      changedFrom(now, { title: 'Insulate the roof\r\nand walls ', status: 'at_risk' }, fields),
    ).toEqual(['status']);
    expect(changedFrom(now, { progress: '10' }, fields)).toEqual([]);
    expect(changedFrom(now, { title: 'Insulate', progress: '20' }, fields)).toEqual([
      'title',
      'progress',
    ]);
  });
});

describe('the opened values a form carries', () => {
  it('come back exactly as they were sent, whatever characters they hold', () => {
    fc.assert(
      fc.property(
        fc.record({ title: fc.string(), status: fc.string(), progress: fc.string() }),
        fc.nat(),
        (values, lastChangeId) => {
          const encoded = encodeOpenedForm({ values, lastChangeId });
          expect(encoded).toMatch(/^[A-Za-z0-9_-]*$/);
          expect(decodeOpenedForm(encoded, fields)).toEqual({ values, lastChangeId });
        },
      ),
    );
  });

  it('are not read from anything else', () => {
    const good = encodeOpenedForm({ values: opened, lastChangeId: 3 });
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    for (const text of [
      '',
      'not base64 at all!',
      encode(null),
      encode([opened]),
      encode({ values: opened }),
      encode({ values: opened, lastChangeId: -1 }),
      encode({ values: opened, lastChangeId: 1.5 }),
      encode({ values: { ...opened, progress: 10 }, lastChangeId: 3 }),
      encode({ values: { title: 'x', status: 'y' }, lastChangeId: 3 }),
      good.slice(0, -4),
    ]) {
      expect(decodeOpenedForm(text, fields), text).toBeNull();
    }
    expect(decodeOpenedForm(good, fields)).toEqual({ values: opened, lastChangeId: 3 });
  });
});
