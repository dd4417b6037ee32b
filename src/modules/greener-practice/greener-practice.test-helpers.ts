import type { Actor } from '../access/policy.ts';
import type { Services } from '../../services.ts';
import { allActions, type Framework } from './framework.calculations.ts';

/** Shared by the programme's integration tests and browser journeys. */

export const context = { ip: '127.0.0.1', userAgent: 'test' };

/** A one-page PDF, small enough to upload as evidence. */
export const EVIDENCE_PDF = Buffer.from(
  '%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n',
);

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
