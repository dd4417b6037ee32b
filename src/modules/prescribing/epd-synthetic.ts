import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import zlib from 'node:zlib';
import { parseCsvWithHeader } from '../../lib/csv.ts';
import type { EpdLayoutId } from './epd-layout.ts';
import { loadInhalerReference } from './inhaler-reference.ts';

/**
 * Synthetic English Prescribing Dataset files at national scale, for tests and benchmarks. Nothing
 * here is real prescribing: practice sizes, code popularity and quantities are drawn from seeded
 * distributions shaped like the real data (a few large practices, a long tail of rarely prescribed
 * codes, chapter 3 about 8% of rows, the inhaler mix of a real 2017 month). Real LLR practice codes
 * are included so that roll-ups meet the organisation reference data.
 */

export interface SyntheticEpdOptions {
  file: string;
  layout: EpdLayoutId;
  months: string[];
  /** Rows per month; about 17 million for a national month. */
  rowsPerMonth: number;
  practices?: number;
  seed?: number;
  gzip?: boolean;
}

export interface SyntheticEpdStats {
  rows: number;
  bytes: number;
  practices: number;
}

const projectRoot = path.resolve(import.meta.dirname, '..', '..', '..');

/** mulberry32: small, fast, seeded. */
export function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface CatalogueEntry {
  code: string;
  description: string;
  chemical: string;
  chemicalName: string;
  chapterPlus: string;
  /** Typical quantities per item. */
  quantities: number[];
  unitCost: number;
}

interface Practice {
  prefix: string;
  /** Relative size: rows and items scale with it. */
  size: number;
}

const headers: Record<EpdLayoutId, string[]> = {
  'epd-area-team': [
    'YEAR_MONTH',
    'REGIONAL_OFFICE_NAME',
    'REGIONAL_OFFICE_CODE',
    'AREA_TEAM_NAME',
    'AREA_TEAM_CODE',
    'PCO_NAME',
    'PCO_CODE',
    'PRACTICE_NAME',
    'PRACTICE_CODE',
    'ADDRESS_1',
    'ADDRESS_2',
    'ADDRESS_3',
    'ADDRESS_4',
    'POSTCODE',
    'BNF_CHEMICAL_SUBSTANCE',
    'CHEMICAL_SUBSTANCE_BNF_DESCR',
    'BNF_CODE',
    'BNF_DESCRIPTION',
    'BNF_CHAPTER_PLUS_CODE',
    'QUANTITY',
    'ITEMS',
    'TOTAL_QUANTITY',
    'ADQUSAGE',
    'NIC',
    'ACTUAL_COST',
    'UNIDENTIFIED',
  ],
  'epd-icb': [
    'YEAR_MONTH',
    'REGIONAL_OFFICE_NAME',
    'REGIONAL_OFFICE_CODE',
    'ICB_NAME',
    'ICB_CODE',
    'PCO_NAME',
    'PCO_CODE',
    'PRACTICE_NAME',
    'PRACTICE_CODE',
    'ADDRESS_1',
    'ADDRESS_2',
    'ADDRESS_3',
    'ADDRESS_4',
    'POSTCODE',
    'BNF_CHEMICAL_SUBSTANCE',
    'CHEMICAL_SUBSTANCE_BNF_DESCR',
    'BNF_CODE',
    'BNF_DESCRIPTION',
    'BNF_CHAPTER_PLUS_CODE',
    'QUANTITY',
    'ITEMS',
    'TOTAL_QUANTITY',
    'ADQUSAGE',
    'NIC',
    'ACTUAL_COST',
    'UNIDENTIFIED',
  ],
  'epd-snomed': [
    'YEAR_MONTH',
    'REGIONAL_OFFICE_NAME',
    'REGIONAL_OFFICE_CODE',
    'ICB_NAME',
    'ICB_CODE',
    'PCO_NAME',
    'PCO_CODE',
    'PRACTICE_NAME',
    'PRACTICE_CODE',
    'ADDRESS_1',
    'ADDRESS_2',
    'ADDRESS_3',
    'ADDRESS_4',
    'POSTCODE',
    'BNF_CHEMICAL_SUBSTANCE',
    'CHEMICAL_SUBSTANCE_BNF_DESCR',
    'BNF_CODE',
    'BNF_DESCRIPTION',
    'BNF_CHAPTER_PLUS_CODE',
    'SNOMED_CODE',
    'QUANTITY',
    'ITEMS',
    'TOTAL_QUANTITY',
    'ADQUSAGE',
    'NIC',
    'ACTUAL_COST',
    'UNIDENTIFIED',
  ],
};

const regions = [
  ['Y56', 'LONDON'],
  ['Y58', 'SOUTH WEST'],
  ['Y59', 'SOUTH EAST'],
  ['Y60', 'MIDLANDS'],
  ['Y61', 'EAST OF ENGLAND'],
  ['Y62', 'NORTH WEST'],
  ['Y63', 'NORTH EAST AND YORKSHIRE'],
] as const;

/** Share of rows by BNF chapter, roughly as in a real month. */
const chapterShares: [string, number][] = [
  ['01', 0.08],
  ['02', 0.17],
  ['04', 0.15],
  ['05', 0.04],
  ['06', 0.09],
  ['07', 0.05],
  ['08', 0.01],
  ['09', 0.06],
  ['10', 0.05],
  ['11', 0.02],
  ['12', 0.02],
  ['13', 0.08],
  ['14', 0.005],
  ['15', 0.005],
  ['19', 0.01],
  ['20', 0.03],
  ['21', 0.04],
];
const CHAPTER3_SHARE = 0.08;

function csvField(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function buildCatalogue(random: () => number): {
  other: CatalogueEntry[];
  chapter3: { entry: CatalogueEntry; weight: number }[];
} {
  const other: CatalogueEntry[] = [];
  const forms = ['Tab', 'Cap', 'Oral Soln', 'Crm', 'Inj', 'Eye Dps', 'Gel', 'Patch'];
  for (const [chapter] of chapterShares) {
    for (let index = 0; index < 700; index += 1) {
      const chemical = `${chapter}${String(1 + (index % 9)).padStart(2, '0')}0${String.fromCharCode(65 + (index % 26))}${String.fromCharCode(65 + ((index >> 5) % 26))}00`;
      const code =
        `${chemical}AAA${String.fromCharCode(65 + (index % 26))}A${String.fromCharCode(65 + (index % 26))}`.slice(
          0,
          15,
        );
      const form = forms[index % forms.length]!;
      other.push({
        code,
        description: `Synthetic ${chapter}-${index}_${form} ${1 + (index % 50) * 5}mg`,
        chemical,
        chemicalName: `Synthetic substance ${chapter}-${index}`,
        chapterPlus: `${chapter}: Synthetic chapter ${chapter}`,
        quantities: form === 'Tab' || form === 'Cap' ? [28, 56, 84, 30] : [1, 2, 100, 500],
        unitCost: 0.05 + random() * 2,
      });
    }
  }
  // Chapter 3: every code of the real 2017 fixture, weighted by its real items, plus the rest of the
  // inhaler reference table with a small weight.
  const fixture = fs.readFileSync(
    path.join(import.meta.dirname, 'test-fixtures', 'epd_201709_bnf_chapter3_subset.csv'),
    'utf8',
  );
  const weights = new Map<
    string,
    { description: string; items: number; quantities: Set<number>; cost: number }
  >();
  for (const { values } of parseCsvWithHeader(fixture, 'fixture', ['BNF_CODE'])) {
    const entry = weights.get(values.BNF_CODE!) ?? {
      description: values.BNF_DESCRIPTION!,
      items: 0,
      quantities: new Set<number>(),
      cost: 0,
    };
    entry.items += Number(values.ITEMS);
    entry.quantities.add(Number(values.QUANTITY));
    entry.cost += Number(values.ACTUAL_COST) / Math.max(1, Number(values.TOTAL_QUANTITY));
    weights.set(values.BNF_CODE!, entry);
  }
  const reference = loadInhalerReference(path.join(projectRoot, 'data', 'reference', 'inhalers'));
  for (const product of reference.products.values()) {
    if (weights.has(product.bnfCode)) continue;
    const device =
      product.deviceType === 'dpi'
        ? 'Pdr For Inh'
        : product.deviceType === 'smi'
          ? 'Respimat'
          : 'Inha CFF';
    weights.set(product.bnfCode, {
      description:
        product.description ||
        `${product.medicine}_${device} (${product.dosesPerInhaler ?? 120} D)`,
      items: 0.5,
      quantities: new Set([1]),
      cost: 20,
    });
  }
  const chapter3 = [...weights].map(([code, entry]) => ({
    entry: {
      code,
      description: entry.description,
      chemical: code.slice(0, 9),
      chemicalName: entry.description.split('_')[0] ?? code.slice(0, 9),
      chapterPlus: '03: Respiratory System',
      quantities: [...entry.quantities],
      unitCost: entry.cost || 5,
    },
    weight: entry.items,
  }));
  return { other, chapter3 };
}

/** Picks an index with probability proportional to its weight, from cumulative weights. */
function pickWeighted(cumulative: Float64Array, random: () => number): number {
  const target = random() * cumulative[cumulative.length - 1]!;
  let low = 0;
  let high = cumulative.length - 1;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (cumulative[middle]! < target) low = middle + 1;
    else high = middle;
  }
  return low;
}

function cumulativeOf(weights: readonly number[]): Float64Array {
  const cumulative = new Float64Array(weights.length);
  let sum = 0;
  weights.forEach((weight, index) => {
    sum += weight;
    cumulative[index] = sum;
  });
  return cumulative;
}

function buildPractices(layout: EpdLayoutId, count: number, random: () => number): Practice[] {
  const llr = parseCsvWithHeader(
    fs.readFileSync(
      path.join(projectRoot, 'data', 'reference', 'organisations', 'llr_gp_practices_active.csv'),
      'utf8',
    ),
    'llr',
    ['practice_code'],
  );
  const realCodes = new Set(llr.map((row) => row.values.practice_code!));
  const practices: Practice[] = [];
  const icbLayout = layout !== 'epd-area-team';
  for (let index = 0; index < count; index += 1) {
    const real = llr[index]?.values;
    const region = real ? regions[3] : regions[index % regions.length]!;
    const icbNumber = index % 42;
    const icbCode = real
      ? 'QK1'
      : `Q${String.fromCharCode(65 + (icbNumber % 26))}${icbNumber % 10}`;
    const subIcb = real
      ? real.sub_icb_code!
      : `${String(10 + (index % 90)).padStart(2, '0')}${String.fromCharCode(65 + (index % 26))}`;
    let code = real
      ? real.practice_code!
      : `${String.fromCharCode(65 + (index % 26))}${String(81000 + index).padStart(5, '0')}`;
    // A practice code belongs to one practice: a synthetic code that happens to be a real LLR
    // practice's (C82614 is both) would put two practices' rows under one code.
    if (!real && realCodes.has(code)) code = `${code[0]}9${code.slice(2)}`;
    const name = real ? real.practice_name! : `SYNTHETIC PRACTICE ${index}`;
    const postcode = real ? real.postcode! : `ZZ${index % 99} ${index % 9}AA`;
    const hierarchy = icbLayout
      ? [region[1], region[0], `NHS SYNTHETIC ICB ${icbCode}`, icbCode]
      : [
          region[1],
          region[0],
          `SYNTHETIC AREA TEAM ${icbNumber}`,
          `Q${String(30 + icbNumber).padStart(2, '0')}`,
        ];
    const fields = [
      ...hierarchy,
      `SYNTHETIC SUB-ICB ${subIcb}`,
      `${subIcb}00`,
      name,
      code,
      real?.address_line_1 ?? `${index} SYNTHETIC ROAD`,
      real?.address_line_2 ?? 'SYNTHETIC TOWN',
      real?.address_line_3 ?? '',
      real?.address_line_4 ?? '',
      postcode,
    ];
    // Lognormal list sizes: most practices near the median, a few very large.
    const normal = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    practices.push({ prefix: fields.map(csvField).join(','), size: Math.exp(0.55 * normal) });
  }
  return practices;
}

/** Writes a synthetic EPD file and returns what it wrote. */
export async function generateSyntheticEpd(
  options: SyntheticEpdOptions,
): Promise<SyntheticEpdStats> {
  const random = createRandom(options.seed ?? 20260101);
  const practiceCount = options.practices ?? 6500;
  const practices = buildPractices(options.layout, practiceCount, random);
  const { other, chapter3 } = buildCatalogue(random);
  const otherByChapter = chapterShares.map(([chapter, share]) => ({
    entries: other.filter((entry) => entry.code.startsWith(chapter)),
    share,
  }));
  // Zipf-like popularity within each chapter: rank r has weight 1 / (r + 1).
  const otherCumulative = otherByChapter.map((group) =>
    cumulativeOf(group.entries.map((_, rank) => 1 / (rank + 1))),
  );
  const chapterCumulative = cumulativeOf([
    ...otherByChapter.map((group) => group.share),
    CHAPTER3_SHARE,
  ]);
  const chapter3Cumulative = cumulativeOf(chapter3.map((entry) => entry.weight));
  const snomed = options.layout === 'epd-snomed';

  const suffixOf = (entry: CatalogueEntry) =>
    [entry.chemical, entry.chemicalName, entry.code, entry.description, entry.chapterPlus]
      .map(csvField)
      .join(',') + (snomed ? `,${3000000 + (entry.code.charCodeAt(10) ?? 0) * 1000}` : '');
  const suffixes = new Map<CatalogueEntry, string>();
  const suffix = (entry: CatalogueEntry) => {
    let text = suffixes.get(entry);
    if (text === undefined) {
      text = suffixOf(entry);
      suffixes.set(entry, text);
    }
    return text;
  };

  fs.mkdirSync(path.dirname(options.file), { recursive: true });
  const fileStream = fs.createWriteStream(options.file, { highWaterMark: 1 << 22 });
  const gzip = options.gzip ? zlib.createGzip({ level: 1 }) : null;
  if (gzip) gzip.pipe(fileStream);
  const out = gzip ?? fileStream;
  const write = async (text: string) => {
    if (!out.write(text)) await once(out, 'drain');
  };

  await write(`${headers[options.layout].join(',')}\n`);
  const totalSize = practices.reduce((sum, practice) => sum + practice.size, 0);
  let rows = 0;
  for (const month of options.months) {
    const yearMonth = month.replace('-', '');
    let remaining = options.rowsPerMonth;
    for (let practiceIndex = 0; practiceIndex < practices.length; practiceIndex += 1) {
      const practice = practices[practiceIndex]!;
      const target =
        practiceIndex === practices.length - 1
          ? remaining
          : Math.min(remaining, Math.round((options.rowsPerMonth * practice.size) / totalSize));
      remaining -= target;
      let buffer = '';
      const rowPrefix = `${yearMonth},${practice.prefix},`;
      for (let row = 0; row < target; row += 1) {
        const group = pickWeighted(chapterCumulative, random);
        const entry =
          group === otherByChapter.length
            ? chapter3[pickWeighted(chapter3Cumulative, random)]!.entry
            : otherByChapter[group]!.entries[pickWeighted(otherCumulative[group]!, random)]!;
        const quantity = entry.quantities[Math.floor(random() * entry.quantities.length)]!;
        const items = 1 + Math.floor(-Math.log(1 - random()) * 6 * practice.size);
        const total = quantity * items;
        const nic = Math.round(total * entry.unitCost * 100) / 100;
        const actual = Math.round(nic * 0.93 * 100000) / 100000;
        buffer += `${rowPrefix}${suffix(entry)},${quantity}.0,${items},${total}.0,${total}.0,${nic},${actual},N\n`;
        if (buffer.length > 1 << 20) {
          await write(buffer);
          buffer = '';
        }
      }
      rows += target;
      if (buffer) await write(buffer);
    }
  }
  out.end();
  await once(fileStream, 'finish');
  return { rows, bytes: fs.statSync(options.file).size, practices: practices.length };
}
