import type {
  DeviceType,
  InhalerClassId,
  InhalerClassValue,
  InhalerProduct,
  InhalerReference,
} from './inhaler-reference.ts';

/**
 * How one BNF chapter 3 code is treated. A code is an inhaler (from the curated table, or by a
 * documented rule on its description), clearly not an inhaler (tablets, nebuliser liquids…), or
 * unclassified: those are reported by every import and never silently dropped.
 */
export type Classification =
  | { kind: 'inhaler'; basis: string; product: InhalerProduct }
  | { kind: 'not-inhaler'; basis: string; reason: string }
  | { kind: 'unclassified'; reason: string };

/** BNF chemical substances (first 9 characters of the code) that come as inhalers. */
export const inhaledChemicals: Record<string, { medicine: string; mdiClass: MdiClass | null }> = {
  '0301011AB': { medicine: 'Beclometasone/formoterol/glycopyrronium', mdiClass: 'ics-laba-134a' },
  '0301011E0': { medicine: 'Formoterol', mdiClass: 'laba' },
  '0301011R0': { medicine: 'Salbutamol', mdiClass: 'saba-large' },
  '0301011U0': { medicine: 'Salmeterol', mdiClass: 'laba' },
  '0301011V0': { medicine: 'Terbutaline', mdiClass: 'saba-small' },
  '0301011X0': { medicine: 'Indacaterol', mdiClass: null },
  '0301020I0': { medicine: 'Ipratropium', mdiClass: 'sama' },
  '0301020P0': { medicine: 'Oxitropium', mdiClass: 'sama' },
  '0301020Q0': { medicine: 'Tiotropium', mdiClass: null },
  '0301020R0': { medicine: 'Aclidinium', mdiClass: null },
  '0301020S0': { medicine: 'Glycopyrronium', mdiClass: null },
  '0301020T0': { medicine: 'Umeclidinium', mdiClass: null },
  '0301040M0': { medicine: 'Ipratropium/salbutamol', mdiClass: 'sama' },
  '0301040R0': { medicine: 'Fenoterol/ipratropium', mdiClass: 'sama' },
  '0301040V0': { medicine: 'Aclidinium/formoterol', mdiClass: null },
  '0301040W0': { medicine: 'Umeclidinium/vilanterol', mdiClass: null },
  '0301040X0': { medicine: 'Tiotropium/olodaterol', mdiClass: null },
  '0301040Y0': { medicine: 'Indacaterol/glycopyrronium', mdiClass: null },
  '0302000C0': { medicine: 'Beclometasone', mdiClass: 'ics' },
  '0302000K0': { medicine: 'Budesonide', mdiClass: 'ics' },
  '0302000N0': { medicine: 'Fluticasone propionate', mdiClass: 'ics' },
  '0302000R0': { medicine: 'Mometasone', mdiClass: 'ics' },
  '0302000U0': { medicine: 'Ciclesonide', mdiClass: 'ics' },
  '0302000V0': { medicine: 'Fluticasone furoate/vilanterol', mdiClass: null },
  '0303010J0': { medicine: 'Sodium cromoglicate', mdiClass: null },
  '0303010Q0': { medicine: 'Nedocromil', mdiClass: null },
  '0307000R0': { medicine: 'Mannitol', mdiClass: null },
};

/**
 * Sodium cromoglicate and nedocromil pMDIs are in no class of Wilkinson et al. 2019: the reference
 * table's `other-mdi` class gives them the ICS value as the nearest class, as their curated rows do.
 */
const otherMdiSubstances = new Set(['0303010J0', '0303010Q0']);

/** The classes of Wilkinson et al. 2019 a pressurised inhaler's chemical substance can fall in. */
export type MdiClass = Extract<
  InhalerClassId,
  'saba-small' | 'saba-large' | 'sama' | 'laba' | 'ics' | 'ics-laba-134a' | 'ics-laba-227ea'
>;

interface DescriptionRule {
  name: string;
  pattern: RegExp;
  deviceType: DeviceType;
}

/**
 * Rules on the BNF description, tried in order, for codes missing from the curated table. Each is
 * named in the classification so a figure can be traced to the rule that produced it.
 */
export const inhalerDescriptionRules: readonly DescriptionRule[] = [
  { name: 'respimat-is-soft-mist', pattern: /respimat/i, deviceType: 'smi' },
  {
    name: 'breath-actuated-mdi-brand',
    pattern: /autohaler|e-?breathe|easi-?breathe/i,
    deviceType: 'ba-mdi',
  },
  { name: 'breath-actuated-cfc-free', pattern: /\bB\/A\b.*\bCFF\b/i, deviceType: 'ba-mdi' },
  {
    name: 'dry-powder-device-or-form',
    pattern:
      /turbohaler|accuhaler|easyhaler|novolizer|nexthaler|ellipta|genuair|breezhaler|handihaler|spiromax|forspiro|diskus|clickhaler|twisthaler|zonda|cyclohaler|aerolizer|podhaler|digihaler|pulvinal|pdr for inh|dry pdr|inh pdr|inh cap|pdr inh cap/i,
    deviceType: 'dpi',
  },
  {
    name: 'pressurised-mdi-brand-or-cfc-free',
    pattern:
      /evohaler|modulite|aerosphere|\bCFF\b|cfc[- ]free|pmdi|aerosol inh|flutiform|fostair|sirdupla|airflusal|qvar|clenil|kelhale|soprobec|trimbow|atrovent|salamol|airomir/i,
    deviceType: 'pmdi',
  },
];

interface NotInhalerRule {
  name: string;
  pattern: RegExp;
  reason: string;
}

/** Forms in chapter 3 that are not inhalers, so they are outside every inhaler measure. */
export const notInhalerDescriptionRules: readonly NotInhalerRule[] = [
  {
    name: 'nebuliser-liquid',
    pattern: /\bneb\b|nebul|respule|steri-neb|udvs?\b|inh soln|\bsoln\b.*\bud\b/i,
    reason: 'nebuliser liquid',
  },
  {
    name: 'oral-or-injected-form',
    pattern:
      /_tab\b|\btab\b|_cap\b|\bcap\b|\bcaps\b|oral|\bsyr\b|linct|elix|\binj\b|auto-?inj|\bgran\b|sach|susp|mixt|\bdps\b|spy\b|nasal/i,
    reason: 'tablet, capsule, oral liquid, injection or other non-inhaled form',
  },
];

/**
 * Classifies one chapter 3 code. The curated table wins; otherwise the description rules decide;
 * otherwise the code is unclassified and will be reported.
 */
export function classifyBnfCode(
  bnfCode: string,
  description: string,
  reference: Pick<InhalerReference, 'products' | 'classes'>,
): Classification {
  const curated = reference.products.get(bnfCode);
  if (curated) {
    // Most curated rows come from code lists without a description, so without a dose count; the
    // file's own description often has one ("(120 D)"), and without it a quantity recorded in
    // doses could not be turned into inhalers.
    const doses = curated.dosesPerInhaler === null ? dosesFromDescription(description) : null;
    return {
      kind: 'inhaler',
      basis: 'curated',
      product: doses
        ? { ...curated, dosesPerInhaler: doses.count, dosesBasis: doses.basis }
        : curated,
    };
  }
  if (!bnfCode.startsWith('03')) {
    return {
      kind: 'not-inhaler',
      basis: 'rule:outside-chapter-3',
      reason: 'outside BNF chapter 3',
    };
  }
  const chemical = inhaledChemicals[bnfCode.slice(0, 9)];
  // Nebuliser words are unambiguous, and some brands (Atrovent, Ventolin) come both as inhalers and
  // as nebuliser liquids, so the nebuliser rule runs before the inhaler rules.
  const nebuliser = notInhalerDescriptionRules[0]!;
  if (nebuliser.pattern.test(description)) {
    return { kind: 'not-inhaler', basis: `rule:${nebuliser.name}`, reason: nebuliser.reason };
  }
  for (const rule of inhalerDescriptionRules) {
    if (!rule.pattern.test(description)) continue;
    // "Inh Cap" mentions a capsule; it is still a dry-powder device, so inhaler rules come first.
    return {
      kind: 'inhaler',
      basis: `rule:${rule.name}`,
      product: productFromRule(bnfCode, description, rule.deviceType, chemical, reference.classes),
    };
  }
  for (const rule of notInhalerDescriptionRules) {
    if (rule.pattern.test(description)) {
      return { kind: 'not-inhaler', basis: `rule:${rule.name}`, reason: rule.reason };
    }
  }
  if (!chemical) {
    return {
      kind: 'not-inhaler',
      basis: 'rule:not-an-inhaled-chemical',
      reason: 'the BNF chemical substance is not one that comes as an inhaler',
    };
  }
  return {
    kind: 'unclassified',
    reason: `${chemical.medicine} comes as an inhaler, but neither the reference table nor a description rule identifies the device of "${description}"`,
  };
}

function productFromRule(
  bnfCode: string,
  description: string,
  deviceType: DeviceType,
  chemical: { medicine: string; mdiClass: MdiClass | null } | undefined,
  classes: ReadonlyMap<InhalerClassId, InhalerClassValue>,
): InhalerProduct {
  const isMdi = deviceType === 'pmdi' || deviceType === 'ba-mdi';
  const medicine = chemical?.medicine ?? 'Unknown medicine';
  let classId: InhalerClassId | null = null;
  if (isMdi) {
    classId =
      mdiClassFor(bnfCode, description, chemical?.mdiClass ?? null) ??
      (otherMdiSubstances.has(bnfCode.slice(0, 9)) ? 'other-mdi' : null);
  } else if (deviceType === 'dpi' || deviceType === 'smi') {
    classId = deviceType;
  }
  const value = classId === null ? undefined : classes.get(classId);
  // A metered-dose inhaler in no class still holds a propellant: HFA-134a, as most do.
  const propellant = value?.propellant ?? (isMdi ? 'HFA-134a' : 'none');
  const doses = dosesFromDescription(description);
  return {
    bnfCode,
    description,
    medicine,
    deviceType,
    propellant,
    kgCo2ePerInhaler: value?.kgCo2ePerInhaler ?? null,
    kgCo2eMethod: value?.kgCo2eMethod ?? null,
    kgCo2eSource: value?.kgCo2eSource ?? null,
    dosesPerInhaler: doses?.count ?? null,
    dosesBasis: doses?.basis ?? '',
    classificationSource: 'description rule',
    notes: '',
  };
}

/** Combination pMDIs take the ICS/LABA class; Flutiform and Symbicort pMDIs use HFA-227ea. */
function mdiClassFor(bnfCode: string, description: string, base: MdiClass | null): MdiClass | null {
  const text = description.toLowerCase();
  if (base === 'ics') {
    if (/flutiform|symbicort|budesonide\/formoterol|fluticasone\/formoterol/.test(text)) {
      return 'ics-laba-227ea';
    }
    if (/\/|fostair|seretide|sirdupla|airflusal|combisal/.test(text)) return 'ics-laba-134a';
  }
  if (bnfCode.startsWith('0301011R0')) return 'saba-large';
  return base;
}

/**
 * The doses in one inhaler as the BNF description gives them ("(120 D)"), or for capsules the
 * usual pack of 30; null when it gives neither.
 */
export function dosesFromDescription(
  description: string,
): { count: number; basis: 'description' | 'capsule pack assumption' } | null {
  const doses = parseDoseCount(description);
  if (doses) return { count: doses, basis: 'description' };
  if (/\bcap\b/i.test(description)) return { count: 30, basis: 'capsule pack assumption' };
  return null;
}

/** "(200 D)", "(120D)", "120D", "60D" in a BNF description give the doses in one inhaler. */
export function parseDoseCount(description: string): number | null {
  const match = /(\d+)\s?D\b/.exec(description);
  if (!match) return null;
  const doses = Number(match[1]);
  return doses > 0 ? doses : null;
}
