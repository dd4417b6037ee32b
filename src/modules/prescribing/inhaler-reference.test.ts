import { describe, expect, it } from 'vitest';
import type { InputFileError } from '../../lib/csv.ts';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  defaultInhalerReferenceDir,
  inhalerClassIds,
  loadInhalerReference,
  parseClasses,
  parseProducts,
  parseSources,
} from './inhaler-reference.ts';

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

  it('holds a value for every class the description rules use, each from a source of its method', () => {
    expect([...reference.classes.keys()].sort()).toEqual([...inhalerClassIds].sort());
    for (const value of reference.classes.values()) {
      expect(value.kgCo2ePerInhaler).toBeGreaterThan(0);
      expect(reference.sources.get(value.kgCo2eSource)!.method).toBe(value.kgCo2eMethod);
    }
    // Every product valued by a class estimate or an assumption carries one of these values.
    for (const product of reference.products.values()) {
      if (product.kgCo2eMethod === 'class estimate' || product.kgCo2eMethod === 'assumption') {
        expect(
          [...reference.classes.values()].some(
            (value) =>
              value.kgCo2eSource === product.kgCo2eSource &&
              value.kgCo2ePerInhaler === product.kgCo2ePerInhaler,
          ),
        ).toBe(true);
      }
    }
  });

  it('covers the classes file in its hash, so a changed class value without a new version shows', () => {
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'greenspace-inhalers-'));
    try {
      for (const file of fs.readdirSync(defaultInhalerReferenceDir)) {
        const from = path.join(defaultInhalerReferenceDir, file);
        if (fs.statSync(from).isFile()) fs.copyFileSync(from, path.join(copy, file));
      }
      expect(loadInhalerReference(copy).sha256).toBe(reference.sha256);
      const classesFile = path.join(copy, 'inhaler_classes.csv');
      // A product of the greeninhaler band carries 1.0, so the band's value can only be restated.
      fs.writeFileSync(
        classesFile,
        fs.readFileSync(classesFile, 'utf8').replace(',dpi,none,1.0,', ',dpi,none,1.00,'),
      );
      const changed = loadInhalerReference(copy);
      expect(changed.classes.get('dpi')!.kgCo2ePerInhaler).toBe(1);
      expect(changed.sha256).not.toBe(reference.sha256);
      // A class value no product carries any more is refused where the products use the old one.
      fs.writeFileSync(
        classesFile,
        fs.readFileSync(classesFile, 'utf8').replace(/^(laba,.*),17\.3,/m, '$1,17.9,'),
      );
      expect(() => loadInhalerReference(copy)).toThrow(
        /17\.3 is not the value of any class of wilkinson-2019 for a pmdi inhaler with HFA-134a in inhaler_classes\.csv/,
      );
    } finally {
      fs.rmSync(copy, { recursive: true, force: true });
    }
  });

  it('reports a bad or missing class with file, line and column', () => {
    const sources = parseSources(
      'source_id,method,citation,licence,note\nw,class estimate,c,l,n\na,assumption,c,l,n\n',
      'sources.csv',
    );
    const header =
      'class_id,description,device_type,propellant,kgco2e_per_inhaler,kgco2e_method,kgco2e_source,notes\n';
    const rows = [
      'ics,d,dpi,none,20.35,class estimate,w,', // line 2: the ICS class is for pMDIs
      'laba,d,pmdi,HFA-134a,many,class estimate,w,', // line 3: not a number
      'sama,d,pmdi,HFA-134a,14.3,assumption,w,', // line 4: w is a class estimate
      'saba-huge,d,pmdi,HFA-134a,30,class estimate,w,', // line 5: no such class
      'smi,d,smi,none,1.0,assumption,nowhere,', // line 6: unknown source
      'ics-laba-227ea,d,pmdi,HFA-134a,36.5,class estimate,w,', // line 7: the class is HFA-227ea
    ];
    try {
      parseClasses(header + rows.join('\n') + '\n', 'classes.csv', sources);
      expect.unreachable();
    } catch (error) {
      const problems = (error as InputFileError).problems;
      expect(problems).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ file: 'classes.csv', line: 2, field: 'device_type' }),
          expect.objectContaining({ line: 3, field: 'kgco2e_per_inhaler' }),
          expect.objectContaining({ line: 4, field: 'kgco2e_method' }),
          expect.objectContaining({ line: 5, field: 'class_id' }),
          expect.objectContaining({ line: 6, field: 'kgco2e_source' }),
          expect.objectContaining({
            line: 7,
            field: 'propellant',
            message: 'the ics-laba-227ea class is for inhalers with HFA-227ea',
          }),
          expect.objectContaining({
            file: 'classes.csv',
            message: expect.stringMatching(
              /^has no row for the class\(es\) saba-small, saba-large,/,
            ),
          }),
        ]),
      );
    }
  });

  it('refuses a product carrying a class value meant for another device', () => {
    const header =
      'bnf_code,description,medicine,device_type,propellant,kgco2e_per_inhaler,kgco2e_method,kgco2e_source,doses_per_inhaler,doses_basis,classification_source,notes\n';
    // 19.65 is the HFA-134a ICS/LABA pMDI class: a dry-powder inhaler cannot carry it.
    const dpi = `${header}0302000K0AAAAAA,d,m,dpi,none,19.65,class estimate,wilkinson-2019,,,,\n`;
    expect(() => parseProducts(dpi, 'products.csv', reference.sources, reference.classes)).toThrow(
      '19.65 is not the value of any class of wilkinson-2019 for a dpi inhaler with none',
    );
    // A breath-actuated MDI takes its pressurised class's value.
    const breathActuated = `${header}0302000C0AAAAAA,d,m,ba-mdi,HFA-134a,20.35,class estimate,wilkinson-2019,,,,\n`;
    expect(
      parseProducts(breathActuated, 'products.csv', reference.sources, reference.classes).size,
    ).toBe(1);
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
      parseProducts(bad, 'products.csv', sources, reference.classes);
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
