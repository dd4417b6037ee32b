import { describe, expect, it } from 'vitest';
import type { InputFileError } from '../../lib/csv.ts';
import { loadInhalerReference, parseProducts, parseSources } from './inhaler-reference.ts';

describe('inhaler reference table', () => {
  const reference = loadInhalerReference();

  it('loads the shipped, versioned table with a source for every value', () => {
    expect(reference.version).toMatch(/^\d{4}-\d{2}\.\d+$/);
    expect(reference.products.size).toBeGreaterThan(250);
    for (const product of reference.products.values()) {
      if (product.kgCo2ePerInhaler !== null) {
        expect(reference.sources.has(product.kgCo2eSource!)).toBe(true);
        expect(product.kgCo2eMethod).toBe(reference.sources.get(product.kgCo2eSource!)!.method);
      }
    }
  });

  it('uses OpenPrescribing product values for salbutamol', () => {
    expect(reference.products.get('0301011R0BEAIAP')).toMatchObject({
      kgCo2ePerInhaler: 28.26,
      kgCo2eMethod: 'published product value',
      kgCo2eSource: 'op-carbon-salbutamol',
      deviceType: 'pmdi',
      propellant: 'HFA-134a',
    });
  });

  it('reports bad rows with file, line and column', () => {
    const sources = parseSources(
      'source_id,method,citation,licence,note\nx,class estimate,c,l,n\n',
      'sources.csv',
    );
    const header =
      'bnf_code,description,medicine,device_type,propellant,kgco2e_per_inhaler,kgco2e_method,kgco2e_source,doses_per_inhaler,doses_basis,classification_source,notes\n';
    const bad = `${header}0302000C0AAAAAA,d,m,pmdi,none,abc,class estimate,y,2.5,,,\n`;
    try {
      parseProducts(bad, 'products.csv', sources);
      expect.unreachable();
    } catch (error) {
      const problems = (error as InputFileError).problems;
      expect(problems).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ file: 'products.csv', line: 2, field: 'propellant' }),
          expect.objectContaining({ line: 2, field: 'kgco2e_per_inhaler' }),
          expect.objectContaining({ line: 2, field: 'doses_per_inhaler' }),
        ]),
      );
    }
  });
});
