import { z } from 'zod';

/**
 * The kinds of content the knowledge hub holds, as data: their names, where they live, and the
 * fields particular to each. Common fields (title, summary, body, privacy, tags) are on every item.
 */

const optionalMarkdown = (max: number) =>
  z
    .string()
    .max(max, `must be ${max.toLocaleString('en-GB')} characters or fewer`)
    .default('');

/** Amounts are below a million million and have at most six decimal places. */
export const MAX_AMOUNT = 1_000_000_000_000;
export const MAX_AMOUNT_DECIMALS = 6;

/**
 * A number written out in full, as people write it and as the form shows it: never in exponent
 * form (JavaScript writes 0.0000001 as `1e-7` and 10^21 as `1e+21`).
 */
export function amountText(amount: number): string {
  return amount.toLocaleString('en-GB', { useGrouping: false, maximumFractionDigits: 20 });
}

/**
 * A non-negative amount, written as people write numbers ("1,250", "12.5"); blank means not known.
 * The limits keep every amount one that JavaScript writes without an exponent, so it reads back as
 * it was written.
 */
const optionalAmount = z
  .union([z.number(), z.string()])
  .transform((value, context) => {
    const text =
      typeof value === 'number'
        ? Number.isFinite(value)
          ? amountText(value)
          : 'not a number'
        : value.replace(/[,£\s]/g, '');
    if (text === '') return null;
    const match = /^(\d+)(?:\.(\d+))?$/.exec(text);
    if (!match) {
      context.addIssue({ code: 'custom', message: 'must be a number, like 12.5' });
      return z.NEVER;
    }
    if ((match[2]?.length ?? 0) > MAX_AMOUNT_DECIMALS) {
      context.addIssue({
        code: 'custom',
        message: `must have ${MAX_AMOUNT_DECIMALS} decimal places or fewer`,
      });
      return z.NEVER;
    }
    const amount = Number(text);
    if (amount >= MAX_AMOUNT) {
      context.addIssue({
        code: 'custom',
        message: `must be less than ${MAX_AMOUNT.toLocaleString('en-GB')}`,
      });
      return z.NEVER;
    }
    return amount;
  })
  .nullable()
  .default(null);

const optionalUrl = z
  .string()
  .trim()
  .refine(
    (value) => value === '' || /^https:\/\/[^\s<>"]+$/.test(value),
    'must be a web address starting https://',
  )
  .default('');

/** `YYYY-MM-DDTHH:MM`, as a date-time field sends it, in UK time. */
const localDateTime = z
  .string()
  .trim()
  .refine(
    (value) => value === '' || /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(value),
    'must be a date and time',
  )
  .refine((value) => value === '' || isRealDateTime(value), 'must be a real date and time')
  .default('');

export const caseStudyDetails = z.object({
  problem: optionalMarkdown(20_000),
  whatWasDone: optionalMarkdown(20_000),
  results: optionalMarkdown(20_000),
  tco2eSavedPerYear: optionalAmount,
  moneySavedPerYearGbp: optionalAmount,
  benefitToPeople: optionalMarkdown(5_000),
  contactName: z.string().trim().max(200).default(''),
  contactEmail: z
    .string()
    .trim()
    .refine(
      (value) => value === '' || /^[^\s@<>"]+@[^\s@<>"]+\.[^\s@<>"]+$/.test(value),
      'must be an email address',
    )
    .default(''),
});

export const videoDetails = z.object({
  speaker: z.string().trim().max(200).default(''),
  externalUrl: optionalUrl,
  transcript: optionalMarkdown(100_000),
  durationMinutes: optionalAmount,
});

export const documentDetails = z.object({
  documentKind: z.string().trim().max(100).default(''),
});

export const newsDetails = z.object({});

export const eventDetails = z
  .object({
    startsAt: localDateTime,
    endsAt: localDateTime,
    location: z.string().trim().max(300).default(''),
    onlineUrl: optionalUrl,
  })
  .refine(
    (event) => event.startsAt === '' || event.endsAt === '' || event.endsAt >= event.startsAt,
    {
      message: 'must be after the start',
      path: ['endsAt'],
    },
  );

export const pageDetails = z.object({});

export const contentTypes = {
  case_study: {
    label: 'Case study',
    plural: 'Case studies',
    path: 'case-studies',
    description:
      'Best practice from across the Midlands: the problem, what was done and the results, with numbers.',
    details: caseStudyDetails,
    mainText: { label: 'More information', optional: true },
  },
  video: {
    label: 'Video',
    plural: 'Videos',
    path: 'videos',
    description: 'Short videos on how the NHS is going green, each with captions and a transcript.',
    details: videoDetails,
    mainText: { label: 'More information', optional: true },
  },
  document: {
    label: 'Document',
    plural: 'Documents',
    path: 'documents',
    description: 'Green plans, strategies and guidance, with every version kept.',
    details: documentDetails,
    mainText: { label: 'More information', optional: true },
  },
  news: {
    label: 'News',
    plural: 'News',
    path: 'news',
    description: 'News from the Green Plan teams of the Midlands.',
    details: newsDetails,
    mainText: { label: 'Text', optional: false },
  },
  event: {
    label: 'Event',
    plural: 'Events',
    path: 'events',
    description: 'Webinars, workshops and meetings, in person and online.',
    details: eventDetails,
    mainText: { label: 'More information', optional: true },
  },
  page: {
    label: 'Page',
    plural: 'Pages',
    path: 'pages',
    description: 'Workspace pages.',
    details: pageDetails,
    mainText: { label: 'Text', optional: false },
  },
} as const satisfies Record<
  string,
  {
    label: string;
    plural: string;
    path: string;
    description: string;
    details: z.ZodType;
    /**
     * The label of the main Markdown text, on the form and in the preview. News and pages are
     * that text; for the other types it adds to their own fields, so it is optional there.
     */
    mainText: { label: string; optional: boolean };
  }
>;

export type ContentType = keyof typeof contentTypes;

/** The detail fields written in Markdown, in form order, with the labels the form gives them. */
export const markdownDetailFields: Partial<
  Record<ContentType, readonly { name: string; label: string }[]>
> = {
  case_study: [
    { name: 'problem', label: 'The problem' },
    { name: 'whatWasDone', label: 'What was done' },
    { name: 'results', label: 'Results' },
    { name: 'benefitToPeople', label: 'Benefit to patients or staff' },
  ],
  video: [{ name: 'transcript', label: 'Transcript' }],
};
export const contentTypeKeys = Object.keys(contentTypes) as ContentType[];

export function isContentType(value: string): value is ContentType {
  return Object.hasOwn(contentTypes, value);
}

export function contentTypeForPath(path: string): ContentType | undefined {
  return contentTypeKeys.find((key) => contentTypes[key].path === path);
}

export type CaseStudyDetails = z.output<typeof caseStudyDetails>;
export type VideoDetails = z.output<typeof videoDetails>;
export type EventDetails = z.output<typeof eventDetails>;

/**
 * The details of a stored item, read tolerantly: a value that no longer meets today's checks
 * (stored before a check was added or tightened) is left out, so that the item's pages still show,
 * and named in `invalid`, so that its edit form can show the value as stored for the author to fix.
 */
export function readStoredDetails(
  type: ContentType,
  stored: unknown,
): { fields: Record<string, unknown>; invalid: string[] } {
  const schema = contentTypes[type].details as z.ZodType;
  const candidate: Record<string, unknown> =
    typeof stored === 'object' && stored !== null && !Array.isArray(stored)
      ? { ...(stored as Record<string, unknown>) }
      : {};
  const invalid: string[] = [];
  for (;;) {
    const parsed = schema.safeParse(candidate);
    if (parsed.success) return { fields: parsed.data as Record<string, unknown>, invalid };
    const keys = [...new Set(parsed.error.issues.map((issue) => String(issue.path[0] ?? '')))];
    const failing = keys.filter((key) => Object.hasOwn(candidate, key));
    if (failing.length === 0) break;
    for (const key of failing) {
      delete candidate[key];
      invalid.push(key);
    }
  }
  const blank = schema.safeParse({});
  return {
    fields: blank.success ? (blank.data as Record<string, unknown>) : {},
    invalid: [...invalid, ...Object.keys(candidate)],
  };
}

/**
 * Stored details as the authoring form shows them: amounts written out in full, and values that
 * fail today's checks as they were stored, so that saving shows the author what to correct rather
 * than dropping them.
 */
export function detailsForForm(
  stored: unknown,
  read: { fields: Record<string, unknown>; invalid: string[] },
): Record<string, unknown> {
  const raw =
    typeof stored === 'object' && stored !== null ? (stored as Record<string, unknown>) : {};
  const asText = (value: unknown) =>
    typeof value === 'number' ? amountText(value) : value === null ? '' : value;
  const values: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(read.fields)) values[key] = asText(value);
  for (const key of read.invalid) {
    const value = raw[key];
    values[key] = typeof value === 'string' || typeof value === 'number' ? asText(value) : '';
  }
  return values;
}

export function isRealDateTime(value: string): boolean {
  const [date, time] = value.split('T');
  if (!date || !time) return false;
  const parsed = new Date(`${date}T${time}:00Z`);
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().slice(0, 16) === `${date}T${time}`;
}

/** A URL slug from a title: lower case, words joined by hyphens, at most 80 characters. */
export function slugify(title: string): string {
  const slug = title
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/&/g, ' and ')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 80)
    .replace(/-+$/, '');
  return slug || 'item';
}
