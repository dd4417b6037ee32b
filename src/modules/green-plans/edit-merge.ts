/**
 * Saving a form that was opened before someone else changed the same record. A form holds every
 * field and sends them all back, so saved as it is it would put back each field the other person
 * changed, unseen. Each form therefore carries the values it showed when it was opened, and a
 * save is merged field by field against those and the values now:
 *
 * - a field nobody else changed keeps what was entered;
 * - a field someone else changed and this form left alone takes their value;
 * - a field both changed, to different values, is a clash: nothing is saved, and the form is shown
 *   again for the person to decide.
 *
 * Values are compared as they will be saved: a browser sends a text area's lines ending in CRLF,
 * and the services store LF and trim the ends, so those differences are not changes (a text area
 * left alone would otherwise clash with anyone who changed it). Pure: the services that use it
 * read the values and write the result.
 */

/** What a form carries: the values it showed, and (for an action) the last history entry then. */
export interface OpenedForm<Field extends string> {
  values: Record<Field, string>;
  lastChangeId: number;
}

/** The hidden field's value: the opened values as JSON, in base64url so the page keeps them exact. */
export function encodeOpenedForm<Field extends string>(opened: OpenedForm<Field>): string {
  return Buffer.from(JSON.stringify(opened)).toString('base64url');
}

/**
 * The opened values a form sent back, or null when there are none that can be read (the field
 * altered by hand, or left out): such a save is treated as a clash on nothing in particular.
 */
export function decodeOpenedForm<Field extends string>(
  text: string,
  fields: readonly Field[],
): OpenedForm<Field> | null {
  if (text === '' || text.length > 200_000) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null) return null;
  const { values, lastChangeId } = parsed as { values?: unknown; lastChangeId?: unknown };
  if (typeof values !== 'object' || values === null || Array.isArray(values)) return null;
  if (typeof lastChangeId !== 'number' || !Number.isSafeInteger(lastChangeId) || lastChangeId < 0)
    return null;
  const record = values as Record<string, unknown>;
  if (fields.some((field) => typeof record[field] !== 'string')) return null;
  return {
    values: Object.fromEntries(fields.map((field) => [field, record[field]])) as Record<
      Field,
      string
    >,
    lastChangeId,
  };
}

export interface MergedEdit<Field extends string> {
  /** The values to save: what was entered, with others' changes to fields left alone. */
  values: Record<Field, string>;
  /** Fields both changed, to different values: the save stops and the form is shown again. */
  clashes: Field[];
  /** Fields someone else changed that this form left alone, now taking their value. */
  takenFromOthers: Field[];
}

/** Whether two values of a field save the same: line ends and the ends' white space aside. */
export function sameSavedValue(a: string, b: string): boolean {
  return a === b || asSaved(a) === asSaved(b);
}

function asSaved(value: string): string {
  return value.replace(/\r\n?/g, '\n').trim();
}

/**
 * The fields a save would change from their values now (as they are saved): for a save whose
 * opened values cannot be read, each is to be checked by the person saving.
 */
export function changedFrom<Field extends string>(
  now: Record<Field, string>,
  submitted: Partial<Record<Field, string>>,
  fields: readonly Field[],
): Field[] {
  return fields.filter((field) => {
    const value = submitted[field];
    return value !== undefined && !sameSavedValue(value, now[field]);
  });
}

/**
 * Merges a save with what changed since its form was opened. A field whose `submitted` value is
 * undefined was not on the form (a field this person may not change): it counts as left alone.
 */
export function mergeEdit<Field extends string>(
  fields: readonly Field[],
  opened: Record<Field, string>,
  now: Record<Field, string>,
  submitted: Partial<Record<Field, string>>,
): MergedEdit<Field> {
  const values = {} as Record<Field, string>;
  const clashes: Field[] = [];
  const takenFromOthers: Field[] = [];
  for (const field of fields) {
    const entered = submitted[field];
    const leftAlone = entered === undefined || sameSavedValue(entered, opened[field]);
    if (sameSavedValue(now[field], opened[field])) {
      values[field] = entered ?? now[field];
    } else if (leftAlone) {
      values[field] = now[field];
      takenFromOthers.push(field);
    } else {
      values[field] = entered;
      if (!sameSavedValue(entered, now[field])) clashes.push(field);
    }
  }
  return { values, clashes, takenFromOthers };
}
