import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  detectEpdLayout,
  EpdHeaderError,
  normaliseEpdMonth,
  normaliseSubIcbCode,
  splitCsvFields,
  splitCsvHeader,
} from './epd-layout.ts';

const common =
  'YEAR_MONTH,REGIONAL_OFFICE_NAME,REGIONAL_OFFICE_CODE,{H},PCO_NAME,PCO_CODE,PRACTICE_NAME,PRACTICE_CODE,ADDRESS_1,ADDRESS_2,ADDRESS_3,ADDRESS_4,POSTCODE,BNF_CHEMICAL_SUBSTANCE,CHEMICAL_SUBSTANCE_BNF_DESCR,BNF_CODE,BNF_DESCRIPTION,BNF_CHAPTER_PLUS_CODE,{S}QUANTITY,ITEMS,TOTAL_QUANTITY,ADQUSAGE,NIC,ACTUAL_COST,UNIDENTIFIED';
const areaTeam = common.replace('{H}', 'AREA_TEAM_NAME,AREA_TEAM_CODE').replace('{S}', '');
const icb = common.replace('{H}', 'ICB_NAME,ICB_CODE').replace('{S}', '');
const snomed = common.replace('{H}', 'ICB_NAME,ICB_CODE').replace('{S}', 'SNOMED_CODE,');

describe('EPD layout detection', () => {
  it('tells the three layouts apart by their header', () => {
    expect(detectEpdLayout(areaTeam).layout.id).toBe('epd-area-team');
    expect(detectEpdLayout(icb).layout.id).toBe('epd-icb');
    expect(detectEpdLayout(snomed).layout.id).toBe('epd-snomed');
  });

  it('accepts a byte-order mark, CRLF and quoted names', () => {
    const detected = detectEpdLayout(`\uFEFF"YEAR_MONTH",${icb.slice('YEAR_MONTH,'.length)}\r`);
    expect(detected.layout.id).toBe('epd-icb');
    expect(detected.columns[0]).toBe('YEAR_MONTH');
  });

  it('maps columns by name, so a reordered header still works', () => {
    const names = icb.split(',').reverse().join(',');
    expect(detectEpdLayout(names).layout.id).toBe('epd-icb');
  });

  it('names a missing column and the renamed column it probably is', () => {
    const renamed = icb.replace('TOTAL_QUANTITY', 'TOTAL_QTY');
    expect(() => detectEpdLayout(renamed)).toThrow(
      /TOTAL_QUANTITY \(found "TOTAL_QTY" instead\?\)/,
    );
    try {
      detectEpdLayout(renamed);
    } catch (error) {
      expect((error as EpdHeaderError).column).toBe('TOTAL_QUANTITY');
    }
  });

  it('refuses files that are not EPD', () => {
    expect(() => detectEpdLayout('a,b,c')).toThrow(/not an English Prescribing Dataset file/);
    expect(() => detectEpdLayout(icb.replace('ICB_CODE', 'X').replace('ICB_NAME', 'Y'))).toThrow(
      /cannot tell the EPD layout/,
    );
    expect(() => detectEpdLayout(`${icb},ITEMS`)).toThrow(/repeats column/);
  });

  it('splits quoted header fields with commas and doubled quotes', () => {
    expect(splitCsvHeader('a,"b,c","d ""e"""')).toEqual(['a', 'b,c', 'd "e"']);
    // As the engine reads them: spaces around a quoted value go, others stay.
    expect(splitCsvFields('a , "b,c" , d,"e')).toEqual({
      fields: ['a ', 'b,c', ' d', 'e'],
      complete: false,
    });
  });

  it('normalises months and sub-ICB codes', () => {
    expect(normaliseEpdMonth('202401')).toBe('2024-01');
    expect(normaliseEpdMonth('2017_09')).toBe('2017-09');
    expect(normaliseEpdMonth('2017-13')).toBeUndefined();
    expect(normaliseEpdMonth('Sept')).toBeUndefined();
    expect(normaliseSubIcbCode('03W00')).toBe('03W');
    expect(normaliseSubIcbCode('15N')).toBe('15N');
  });

  it('never throws anything but EpdHeaderError on arbitrary headers', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (header) => {
        try {
          detectEpdLayout(header);
        } catch (error) {
          expect(error).toBeInstanceOf(EpdHeaderError);
        }
      }),
    );
  });
});
