/**
 * ODS publishes names in capitals ("SOUTH LEICESTERSHIRE MEDICAL GROUP"). Capitals are harder to
 * read, so pages show them in title case while the stored name stays exactly as published.
 */
const keptUpperCase = new Set([
  'NHS',
  'PCN',
  'ICB',
  'CCG',
  'GP',
  'GPS',
  'UK',
  'LLR',
  'HQ',
  'UHL',
  'LPT',
  'EMAS',
  'CIC',
  'LLP',
  'NWL',
  'II',
  'III',
  'IV',
]);
const keptLowerCase = new Set([
  'and',
  'of',
  'the',
  'on',
  'upon',
  'in',
  'at',
  'for',
  'by',
  'with',
  'de',
  'la',
]);

export function formatOrganisationName(name: string): string {
  // Names already in mixed case were written by a person; leave them alone.
  if (/[a-z]/.test(name)) return name;
  let wordIndex = 0;
  return name.replace(/[A-Z0-9'’]+/g, (word) => {
    const isFirst = wordIndex++ === 0;
    if (keptUpperCase.has(word)) return word;
    if (/\d/.test(word)) return word;
    const lower = word.toLowerCase();
    if (!isFirst && keptLowerCase.has(lower)) return lower;
    // "O'BRIEN" is a name (O'Brien); "JOHN'S" is a possessive (John's).
    return lower
      .split(/(['’])/)
      .map((part, index, parts) =>
        index > 0 &&
        parts[index - 1] !== undefined &&
        /['’]/.test(parts[index - 1]!) &&
        part === 's'
          ? part
          : part.charAt(0).toUpperCase() + part.slice(1),
      )
      .join('');
  });
}
