import { Parser } from 'htmlparser2';
import type { Actor } from '../access/policy.ts';
import type { Services } from '../../services.ts';
import { allActions, type Framework } from './framework.calculations.ts';

/** Shared by the programme's integration tests and browser journeys. */

export const context = { ip: '127.0.0.1', userAgent: 'test' };

/** The codes of the actions required for Bronze, and one more action, worth exactly Bronze's 60. */
export function bronzeCodes(framework: Framework): string[] {
  return [
    ...allActions(framework)
      .filter((action) => action.requiredFor === 'bronze')
      .map((action) => action.code),
    'LE-05',
  ];
}

/** Marks the actions done with a written note as evidence, through the service. */
export async function answerDone(
  services: Services,
  actor: Actor,
  practiceCode: string,
  codes: readonly string[],
) {
  for (const code of codes)
    await services.greenerPractice.saveAnswer(
      actor,
      practiceCode,
      code,
      {
        status: 'done',
        note: `We completed ${code} and kept the minutes of the meeting.`,
        notApplicableReason: '',
      },
      [],
      context,
    );
}

/** The text a person reads on a page: tags dropped, entities decoded, spaces collapsed. */
export function pageText(html: string): string {
  let text = '';
  let skipping = 0;
  const parser = new Parser(
    {
      onopentag(name) {
        if (name === 'script' || name === 'style' || name === 'svg') skipping += 1;
      },
      ontext(data) {
        if (skipping === 0) text += data;
      },
      onclosetag(name) {
        if (name === 'script' || name === 'style' || name === 'svg') skipping -= 1;
        else text += ' ';
      },
    },
    { decodeEntities: true },
  );
  parser.write(html);
  parser.end();
  return text.replace(/\s+/g, ' ').trim();
}
