import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { InputFileError, parseCsvWithHeader, type InputProblem } from '../../lib/csv.ts';

export const deviceTypes = ['pmdi', 'ba-mdi', 'dpi', 'smi', 'other'] as const;
export type DeviceType = (typeof deviceTypes)[number];
export const propellants = ['HFA-134a', 'HFA-227ea', 'HFA-152a', 'none'] as const;
export type Propellant = (typeof propellants)[number];
export const valueMethods = ['published product value', 'class estimate', 'assumption'] as const;
export type ValueMethod = (typeof valueMethods)[number];

export const deviceTypeLabels: Record<DeviceType, string> = {
  pmdi: 'Pressurised metered-dose inhaler',
  'ba-mdi': 'Breath-actuated metered-dose inhaler',
  dpi: 'Dry-powder inhaler',
  smi: 'Soft-mist inhaler',
  other: 'Other inhaler',
};

/** Metered-dose inhalers hold propellant; the others do not. */
export const mdiDeviceTypes: ReadonlySet<DeviceType> = new Set(['pmdi', 'ba-mdi']);
/** The devices counted as lower-carbon inhalers. */
export const lowCarbonDeviceTypes: ReadonlySet<DeviceType> = new Set(['dpi', 'smi']);

/** One BNF presentation in the shipped inhaler reference table. */
export interface InhalerProduct {
  bnfCode: string;
  description: string;
  medicine: string;
  deviceType: DeviceType;
  propellant: Propellant;
  kgCo2ePerInhaler: number | null;
  kgCo2eMethod: ValueMethod | null;
  kgCo2eSource: string | null;
  dosesPerInhaler: number | null;
  dosesBasis: string;
  classificationSource: string;
  notes: string;
}

/**
 * The classes whose values the description rules give to codes outside the products list: the
 * pressurised-inhaler classes of Wilkinson et al. 2019, cromoglicate and nedocromil pMDIs (in no
 * class), and dry-powder and soft-mist inhalers without a product value. The values themselves are
 * data, in the versioned table; which class a code falls in is a rule (inhaler-classification.ts).
 */
export const inhalerClassIds = [
  'saba-small',
  'saba-large',
  'sama',
  'laba',
  'ics',
  'ics-laba-134a',
  'ics-laba-227ea',
  'other-mdi',
  'dpi',
  'smi',
] as const;
export type InhalerClassId = (typeof inhalerClassIds)[number];

/**
 * The device and propellant each class is for, as the rules that choose a class assume them: a
 * class row that says otherwise is refused.
 */
const classDevices: Record<InhalerClassId, { deviceType: DeviceType; propellant: Propellant }> = {
  'saba-small': { deviceType: 'pmdi', propellant: 'HFA-134a' },
  'saba-large': { deviceType: 'pmdi', propellant: 'HFA-134a' },
  sama: { deviceType: 'pmdi', propellant: 'HFA-134a' },
  laba: { deviceType: 'pmdi', propellant: 'HFA-134a' },
  ics: { deviceType: 'pmdi', propellant: 'HFA-134a' },
  'ics-laba-134a': { deviceType: 'pmdi', propellant: 'HFA-134a' },
  'ics-laba-227ea': { deviceType: 'pmdi', propellant: 'HFA-227ea' },
  'other-mdi': { deviceType: 'pmdi', propellant: 'HFA-134a' },
  dpi: { deviceType: 'dpi', propellant: 'none' },
  smi: { deviceType: 'smi', propellant: 'none' },
};

/** A breath-actuated MDI takes the value of its pressurised class. */
const classDeviceOf = (deviceType: DeviceType): DeviceType =>
  deviceType === 'ba-mdi' ? 'pmdi' : deviceType;

/** One row of inhaler_classes.csv: the value a rule-typed inhaler of the class takes. */
export interface InhalerClassValue {
  classId: InhalerClassId;
  description: string;
  deviceType: DeviceType;
  propellant: Propellant;
  kgCo2ePerInhaler: number;
  kgCo2eMethod: ValueMethod;
  kgCo2eSource: string;
  notes: string;
}

export interface InhalerSource {
  sourceId: string;
  method: ValueMethod;
  citation: string;
  licence: string;
  note: string;
}

/** The versioned reference table: every figure of carbon names the version that produced it. */
export interface InhalerReference {
  version: string;
  publishedOn: string;
  /**
   * SHA-256 of the products, sources and classes files together, so an edit without a version
   * bump shows.
   */
  sha256: string;
  products: ReadonlyMap<string, InhalerProduct>;
  sources: ReadonlyMap<string, InhalerSource>;
  classes: ReadonlyMap<InhalerClassId, InhalerClassValue>;
  changes: string[];
}

const manifestSchema = z.object({
  version: z.string().regex(/^\d{4}-\d{2}\.\d+$/, 'must look like 2026-11.1'),
  publishedOn: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a YYYY-MM-DD date'),
  products: z.string().min(1),
  sources: z.string().min(1),
  classes: z.string().min(1),
  changes: z.array(z.string()),
});

export const defaultInhalerReferenceDir = path.resolve(
  import.meta.dirname,
  '..',
  '..',
  '..',
  'data',
  'reference',
  'inhalers',
);

/**
 * Reads and validates the inhaler reference table. Every problem is reported with its file, line
 * and column; a table with any problem is refused whole.
 */
export function loadInhalerReference(dir: string = defaultInhalerReferenceDir): InhalerReference {
  const manifestFile = 'inhaler_reference.json';
  let manifest: z.infer<typeof manifestSchema>;
  try {
    const parsed = manifestSchema.safeParse(
      JSON.parse(fs.readFileSync(path.join(dir, manifestFile), 'utf8')),
    );
    if (!parsed.success) {
      throw new InputFileError(
        parsed.error.issues.map((issue) => ({
          file: manifestFile,
          field: issue.path.join('.'),
          message: issue.message,
        })),
      );
    }
    manifest = parsed.data;
  } catch (error) {
    if (error instanceof InputFileError) throw error;
    throw new InputFileError([{ file: manifestFile, message: describeReadError(error) }]);
  }
  const productsText = readText(dir, manifest.products);
  const sourcesText = readText(dir, manifest.sources);
  const classesText = readText(dir, manifest.classes);
  const sources = parseSources(sourcesText, manifest.sources);
  const classes = parseClasses(classesText, manifest.classes, sources);
  const products = parseProducts(productsText, manifest.products, sources, classes);
  return {
    version: manifest.version,
    publishedOn: manifest.publishedOn,
    sha256: createHash('sha256')
      .update(productsText)
      .update(sourcesText)
      .update(classesText)
      .digest('hex'),
    products,
    sources,
    classes,
    changes: manifest.changes,
  };
}

function readText(dir: string, file: string): string {
  try {
    return fs.readFileSync(path.join(dir, file), 'utf8');
  } catch (error) {
    throw new InputFileError([{ file, message: describeReadError(error) }]);
  }
}

function describeReadError(error: unknown): string {
  if ((error as { code?: string }).code === 'ENOENT') return 'file not found';
  if (error instanceof SyntaxError) return `not valid JSON (${error.message})`;
  return error instanceof Error ? error.message : String(error);
}

/** Parses inhaler_sources.csv. Exported for tests. */
export function parseSources(text: string, file: string): Map<string, InhalerSource> {
  const records = parseCsvWithHeader(text, file, [
    'source_id',
    'method',
    'citation',
    'licence',
    'note',
  ]);
  const problems: InputProblem[] = [];
  const sources = new Map<string, InhalerSource>();
  for (const { line, values } of records) {
    const method = values.method as ValueMethod;
    if (!valueMethods.includes(method)) {
      problems.push({
        file,
        line,
        field: 'method',
        message: `must be one of: ${valueMethods.join(', ')}`,
      });
    }
    if (!values.source_id) problems.push({ file, line, field: 'source_id', message: 'is empty' });
    if (sources.has(values.source_id!)) {
      problems.push({ file, line, field: 'source_id', message: `repeats ${values.source_id}` });
    }
    sources.set(values.source_id!, {
      sourceId: values.source_id!,
      method,
      citation: values.citation!,
      licence: values.licence!,
      note: values.note!,
    });
  }
  if (problems.length > 0) throw new InputFileError(problems);
  return sources;
}

/**
 * Checks a device type and propellant read from `file`: both must be known, and only a
 * metered-dose inhaler has a propellant.
 */
function checkDeviceAndPropellant(
  deviceType: DeviceType,
  propellant: Propellant,
  problem: (field: string, message: string) => void,
): void {
  if (!deviceTypes.includes(deviceType))
    problem('device_type', `must be one of: ${deviceTypes.join(', ')}`);
  if (!propellants.includes(propellant))
    problem('propellant', `must be one of: ${propellants.join(', ')}`);
  if (propellant === 'none' && mdiDeviceTypes.has(deviceType)) {
    problem('propellant', 'a metered-dose inhaler must name its propellant');
  }
  if (propellant !== 'none' && !mdiDeviceTypes.has(deviceType)) {
    problem('propellant', `a ${deviceType} inhaler has no propellant`);
  }
}

/**
 * Parses inhaler_classes.csv against the known sources: one row for each class, each with a value
 * whose method is its source's. Exported for tests.
 */
export function parseClasses(
  text: string,
  file: string,
  sources: ReadonlyMap<string, InhalerSource>,
): Map<InhalerClassId, InhalerClassValue> {
  const records = parseCsvWithHeader(text, file, [
    'class_id',
    'description',
    'device_type',
    'propellant',
    'kgco2e_per_inhaler',
    'kgco2e_method',
    'kgco2e_source',
    'notes',
  ]);
  const problems: InputProblem[] = [];
  const classes = new Map<InhalerClassId, InhalerClassValue>();
  for (const { line, values } of records) {
    const problem = (field: string, message: string) =>
      problems.push({ file, line, field, message });
    const classId = values.class_id as InhalerClassId;
    if (!inhalerClassIds.includes(classId)) {
      problem('class_id', `must be one of: ${inhalerClassIds.join(', ')}`);
      continue;
    }
    if (classes.has(classId)) problem('class_id', `repeats ${classId}`);
    const deviceType = values.device_type as DeviceType;
    const propellant = values.propellant as Propellant;
    checkDeviceAndPropellant(deviceType, propellant, problem);
    const expected = classDevices[classId];
    if (deviceTypes.includes(deviceType) && deviceType !== expected.deviceType) {
      problem('device_type', `the ${classId} class is for ${expected.deviceType} inhalers`);
    }
    if (propellants.includes(propellant) && propellant !== expected.propellant) {
      problem('propellant', `the ${classId} class is for inhalers with ${expected.propellant}`);
    }
    const kg = optionalNumber(values.kgco2e_per_inhaler!);
    if (typeof kg !== 'number' || kg < 0) {
      problem('kgco2e_per_inhaler', `must be a number of kg, not "${values.kgco2e_per_inhaler}"`);
    }
    const method = values.kgco2e_method as ValueMethod;
    const source = sources.get(values.kgco2e_source!);
    if (!source) {
      problem(
        'kgco2e_source',
        `must name a source in inhaler_sources.csv (got "${values.kgco2e_source}")`,
      );
    } else if (method !== source.method) {
      problem('kgco2e_method', `must be "${source.method}", the method of ${source.sourceId}`);
    }
    classes.set(classId, {
      classId,
      description: values.description!,
      deviceType,
      propellant,
      kgCo2ePerInhaler: typeof kg === 'number' ? kg : Number.NaN,
      kgCo2eMethod: method,
      kgCo2eSource: values.kgco2e_source!,
      notes: values.notes!,
    });
  }
  const missing = inhalerClassIds.filter((classId) => !classes.has(classId));
  if (missing.length > 0) {
    problems.push({ file, message: `has no row for the class(es) ${missing.join(', ')}` });
  }
  if (problems.length > 0) throw new InputFileError(problems);
  return classes;
}

/**
 * Parses inhaler_products.csv against the known sources. A product valued by a class estimate or
 * an assumption must carry the value of a class from the same source, so that a class value is
 * changed in one place. Exported for tests.
 */
export function parseProducts(
  text: string,
  file: string,
  sources: ReadonlyMap<string, InhalerSource>,
  classes: ReadonlyMap<InhalerClassId, InhalerClassValue>,
): Map<string, InhalerProduct> {
  const columns = [
    'bnf_code',
    'description',
    'medicine',
    'device_type',
    'propellant',
    'kgco2e_per_inhaler',
    'kgco2e_method',
    'kgco2e_source',
    'doses_per_inhaler',
    'doses_basis',
    'classification_source',
    'notes',
  ];
  const records = parseCsvWithHeader(text, file, columns);
  const problems: InputProblem[] = [];
  const products = new Map<string, InhalerProduct>();
  for (const { line, values } of records) {
    const problem = (field: string, message: string) =>
      problems.push({ file, line, field, message });
    const bnfCode = values.bnf_code!;
    if (!/^03[0-9A-Z]{9,13}$/.test(bnfCode)) problem('bnf_code', 'must be a BNF chapter 3 code');
    if (products.has(bnfCode)) problem('bnf_code', `repeats ${bnfCode}`);
    const deviceType = values.device_type as DeviceType;
    const propellant = values.propellant as Propellant;
    checkDeviceAndPropellant(deviceType, propellant, problem);
    const kg = optionalNumber(values.kgco2e_per_inhaler!);
    if (kg === 'invalid' || (typeof kg === 'number' && kg < 0)) {
      problem('kgco2e_per_inhaler', `must be a number of kg, not "${values.kgco2e_per_inhaler}"`);
    }
    const method = (values.kgco2e_method || null) as ValueMethod | null;
    const sourceId = values.kgco2e_source || null;
    if (typeof kg === 'number') {
      if (!method || !valueMethods.includes(method)) {
        problem('kgco2e_method', `must be one of: ${valueMethods.join(', ')}`);
      }
      if (!sourceId || !sources.has(sourceId)) {
        problem(
          'kgco2e_source',
          `must name a source in inhaler_sources.csv (got "${sourceId ?? ''}")`,
        );
      } else if (
        (method === 'class estimate' || method === 'assumption') &&
        ![...classes.values()].some(
          (value) =>
            value.kgCo2eSource === sourceId &&
            value.kgCo2ePerInhaler === kg &&
            value.deviceType === classDeviceOf(deviceType) &&
            value.propellant === propellant,
        )
      ) {
        problem(
          'kgco2e_per_inhaler',
          `${kg} is not the value of any class of ${sourceId} for a ${deviceType} inhaler with ${propellant} in inhaler_classes.csv`,
        );
      }
    }
    const doses = optionalNumber(values.doses_per_inhaler!);
    if (
      doses === 'invalid' ||
      (typeof doses === 'number' && (!Number.isInteger(doses) || doses <= 0))
    ) {
      problem(
        'doses_per_inhaler',
        `must be a whole number of doses, not "${values.doses_per_inhaler}"`,
      );
    }
    products.set(bnfCode, {
      bnfCode,
      description: values.description!,
      medicine: values.medicine!,
      deviceType,
      propellant,
      kgCo2ePerInhaler: typeof kg === 'number' ? kg : null,
      kgCo2eMethod: typeof kg === 'number' ? method : null,
      kgCo2eSource: typeof kg === 'number' ? sourceId : null,
      dosesPerInhaler: typeof doses === 'number' ? doses : null,
      dosesBasis: values.doses_basis!,
      classificationSource: values.classification_source!,
      notes: values.notes!,
    });
  }
  if (problems.length > 0) throw new InputFileError(problems);
  return products;
}

function optionalNumber(text: string): number | null | 'invalid' {
  if (text.trim() === '') return null;
  if (!/^-?\d+(\.\d+)?$/.test(text.trim())) return 'invalid';
  return Number(text);
}
