import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseCsvWithHeader } from '../../lib/csv.ts';
import { classifyBnfCode, parseDoseCount } from './inhaler-classification.ts';
import { loadInhalerReference } from './inhaler-reference.ts';

const reference = loadInhalerReference();
const fixtureDir = path.join(import.meta.dirname, 'test-fixtures');

function fixtureCodes(file: string): Map<string, string> {
  const records = parseCsvWithHeader(fs.readFileSync(path.join(fixtureDir, file), 'utf8'), file, [
    'BNF_CODE',
    'BNF_DESCRIPTION',
  ]);
  return new Map(records.map(({ values }) => [values.BNF_CODE!, values.BNF_DESCRIPTION!]));
}

describe('inhaler classification', () => {
  it('classifies every chapter 3 code of the EPD fixtures: the unclassified report is empty', () => {
    for (const file of ['epd_201709_bnf_chapter3_subset.csv', 'EPD_201601_fixture_sample.csv']) {
      const unclassified = [...fixtureCodes(file)]
        .filter(([code]) => code.startsWith('03'))
        .map(([code, description]) => ({
          code,
          result: classifyBnfCode(code, description, reference),
        }))
        .filter(({ result }) => result.kind === 'unclassified');
      expect(unclassified).toEqual([]);
    }
  });

  it('types fixture inhalers as the BNF description says', () => {
    const codes = fixtureCodes('epd_201709_bnf_chapter3_subset.csv');
    const device = (code: string) => {
      const result = classifyBnfCode(code, codes.get(code)!, reference);
      return result.kind === 'inhaler' ? result.product.deviceType : result.kind;
    };
    expect(device('0301011R0BEAIAP')).toBe('pmdi'); // Ventolin Evohaler
    expect(device('0301011R0BMABBU')).toBe('ba-mdi'); // Airomir Autohaler
    expect(device('0302000K0BDAAAL')).toBe('dpi'); // Symbicort Turbohaler
    expect(device('0301020Q0BBACAC')).toBe('smi'); // Spiriva Respimat
    expect(device('0301011R0AAAXAX')).toBe('not-inhaler'); // nebuliser liquid
    expect(device('0303020G0AAABAB')).toBe('not-inhaler'); // montelukast tablets
  });

  it('uses the description rules for codes missing from the table, naming the rule', () => {
    const mdi = classifyBnfCode('0302000C0ZZZZZZ', 'Beclomet_Inha 100mcg (200 D) CFF', reference);
    expect(mdi).toMatchObject({
      kind: 'inhaler',
      basis: 'rule:pressurised-mdi-brand-or-cfc-free',
      product: {
        deviceType: 'pmdi',
        propellant: 'HFA-134a',
        kgCo2ePerInhaler: 20.35,
        dosesPerInhaler: 200,
      },
    });
    const flutiform = classifyBnfCode(
      '0302000N0ZZZZZZ',
      'Flutiform_Inha 50/5mcg (120 D)',
      reference,
    );
    expect(flutiform.kind === 'inhaler' && flutiform.product.propellant).toBe('HFA-227ea');
    const dpi = classifyBnfCode('0302000K0ZZZZZZ', 'NewBrand Turbohaler 100mcg (120 D)', reference);
    expect(dpi.kind === 'inhaler' && dpi.product.kgCo2ePerInhaler).toBe(1);
    expect(classifyBnfCode('0302000K0ZZZZZZ', 'Budesonide 100mcg (120 D)', reference).kind).toBe(
      'unclassified',
    );
  });

  it('takes a rule-typed inhaler’s value, method and source from the table’s classes', () => {
    const ics = reference.classes.get('ics')!;
    expect(ics).toMatchObject({ kgCo2ePerInhaler: 20.35, kgCo2eSource: 'wilkinson-2019' });
    // The same code against a table whose ICS class says otherwise: the rule follows the table.
    const revised = {
      products: reference.products,
      classes: new Map(reference.classes).set('ics', {
        ...ics,
        kgCo2ePerInhaler: 18,
        kgCo2eSource: 'revised-source',
      }),
    };
    const description = 'Beclomet_Inha 100mcg (200 D) CFF';
    expect(classifyBnfCode('0302000C0ZZZZZZ', description, revised)).toMatchObject({
      product: { kgCo2ePerInhaler: 18, kgCo2eSource: 'revised-source', propellant: 'HFA-134a' },
    });
    const smi = classifyBnfCode('0301020Q0ZZZZZZ', 'NewBrand Respimat 2.5mcg (60 D)', reference);
    expect(smi).toMatchObject({
      product: {
        deviceType: 'smi',
        propellant: 'none',
        kgCo2ePerInhaler: 0.78,
        kgCo2eMethod: 'class estimate',
        kgCo2eSource: 'hansel-2019',
      },
    });
  });

  it('gives a cromoglicate pMDI not in the table the value its curated rows have', () => {
    const curated = reference.products.get('0303010J0AAADAD')!;
    const ruled = classifyBnfCode(
      '0303010J0ZZZZZZ',
      'Sod Cromoglicate_Inha 5mg CFF (112 D)',
      reference,
    );
    expect(ruled).toMatchObject({
      kind: 'inhaler',
      product: {
        deviceType: 'pmdi',
        kgCo2ePerInhaler: curated.kgCo2ePerInhaler,
        kgCo2eMethod: curated.kgCo2eMethod,
        kgCo2eSource: curated.kgCo2eSource,
      },
    });
  });

  it('takes a curated inhaler’s missing dose count from the file’s description, and says so', () => {
    const ciclesonide = reference.products.get('0302000U0BBAAAA')!;
    expect(ciclesonide.dosesPerInhaler).toBeNull();
    const described = classifyBnfCode('0302000U0BBAAAA', 'Alvesco 160 inhaler (120 D)', reference);
    expect(described).toMatchObject({
      kind: 'inhaler',
      basis: 'curated',
      product: { kgCo2ePerInhaler: 20.35, dosesPerInhaler: 120, dosesBasis: 'description' },
    });
    // Without a count in the description, it stays unknown; a count in the table is never replaced.
    expect(classifyBnfCode('0302000U0BBAAAA', 'Alvesco 160 inhaler', reference)).toMatchObject({
      product: { dosesPerInhaler: null },
    });
    const counted = [...reference.products.values()].find((product) => product.dosesPerInhaler)!;
    expect(classifyBnfCode(counted.bnfCode, 'Something (999 D)', reference)).toMatchObject({
      product: { dosesPerInhaler: counted.dosesPerInhaler },
    });
  });

  it('classifies any code and description without throwing, and the curated table always wins', () => {
    const curated = [...reference.products.keys()];
    fc.assert(
      fc.property(
        fc.oneof(fc.constantFrom(...curated), fc.string({ maxLength: 15 })),
        fc.string({ maxLength: 60 }),
        (code, description) => {
          const result = classifyBnfCode(code, description, reference);
          if (reference.products.has(code))
            expect(result).toMatchObject({ kind: 'inhaler', basis: 'curated' });
          if (!code.startsWith('03')) expect(result.kind).not.toBe('unclassified');
        },
      ),
    );
  });

  it('reads dose counts from descriptions', () => {
    expect(parseDoseCount('Salbutamol_Inha 100mcg (200 D) CFF')).toBe(200);
    expect(parseDoseCount('Fluticasone/Salmeterol_Inh 125/25mcg120D')).toBe(120);
    expect(parseDoseCount('Budesonide/Formoterol Inh B/A 100/6(120D')).toBe(120);
    expect(parseDoseCount('Montelukast_Tab 10mg')).toBeNull();
  });
});
