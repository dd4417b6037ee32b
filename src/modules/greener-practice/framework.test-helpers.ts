import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import {
  awardLevels,
  impactBands,
  responseStatuses,
  type ActionResponse,
  type AwardLevel,
  type Framework,
  type FrameworkAction,
} from './framework.calculations.ts';
import { parseFramework } from './framework.parser.ts';

/** Shared by the framework, recommendation and programme tests: frameworks and answers. */

export const shippedFrameworkPath = path.resolve(
  import.meta.dirname,
  '../../../data/reference/greener-general-practice/framework-2026-27.json',
);

export function loadShippedFramework(): { text: string; framework: Framework } {
  const text = fs.readFileSync(shippedFrameworkPath, 'utf8');
  const result = parseFramework(text, 'framework-2026-27.json');
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return { text, framework: result.framework };
}

export function buildAction(overrides: Partial<FrameworkAction> = {}): FrameworkAction {
  return {
    code: 'AA-01',
    themeId: 'theme',
    title: 'An action',
    description: 'What to do.',
    whyItMatters: 'Why it matters.',
    howToEvidence: 'How to show it.',
    points: 10,
    requiredFor: null,
    impact: 'medium',
    areaOfFocus: null,
    caseStudyTag: null,
    measure: null,
    saving: null,
    ...overrides,
  };
}

/** A small framework: Bronze 20 points with AA-01 required, Silver 40 with AA-02, Gold 60. */
export function buildFramework(actions?: FrameworkAction[]): Framework {
  return {
    programmeYear: '2026-27',
    title: 'Test framework',
    basis: 'For tests.',
    levels: [
      { id: 'bronze', name: 'Bronze', minimumPoints: 20, description: '' },
      { id: 'silver', name: 'Silver', minimumPoints: 40, description: '' },
      { id: 'gold', name: 'Gold', minimumPoints: 60, description: '' },
    ],
    themes: [
      {
        id: 'theme',
        name: 'Theme',
        summary: '',
        actions: actions ?? [
          buildAction({ code: 'AA-01', requiredFor: 'bronze' }),
          buildAction({ code: 'AA-02', requiredFor: 'silver' }),
          buildAction({ code: 'AA-03' }),
          buildAction({ code: 'AA-04' }),
          buildAction({ code: 'AA-05', points: 20 }),
          buildAction({ code: 'AA-06', points: 5 }),
        ],
      },
    ],
  };
}

export function done(note = 'We did this and kept the minutes.', files = 0): ActionResponse {
  return { status: 'done', note, notApplicableReason: '', evidenceFiles: files };
}

/** Any valid framework: 1–3 themes of 1–8 actions, levels with rising thresholds within reach. */
export const arbitraryFramework: fc.Arbitrary<Framework> = fc
  .array(
    fc.array(
      fc.record({
        points: fc.integer({ min: 1, max: 30 }),
        requiredFor: fc.constantFrom<(AwardLevel | null)[]>(null, null, ...awardLevels),
        impact: fc.constantFrom(...impactBands),
      }),
      { minLength: 1, maxLength: 8 },
    ),
    { minLength: 1, maxLength: 3 },
  )
  // Three different thresholds, none above the points on offer (which the parser checks), need
  // at least three points in all.
  .filter((themes) => themes.flat().reduce((sum, action) => sum + action.points, 0) >= 3)
  .chain((themes) => {
    let counter = 0;
    const actions = themes.map((theme, themeIndex) =>
      theme.map((fields) => {
        counter += 1;
        return buildAction({
          ...fields,
          code: `T${String.fromCharCode(65 + themeIndex)}-${String(counter).padStart(2, '0')}`,
          themeId: `theme-${themeIndex}`,
        });
      }),
    );
    const total = actions.flat().reduce((sum, action) => sum + action.points, 0);
    return fc
      .uniqueArray(fc.integer({ min: 1, max: total }), {
        minLength: 3,
        maxLength: 3,
      })
      .map((thresholds): Framework => {
        const [bronze, silver, gold] = [...thresholds].sort((a, b) => a - b) as [
          number,
          number,
          number,
        ];
        return {
          programmeYear: '2026-27',
          title: 'Arbitrary',
          basis: 'Generated',
          levels: [
            { id: 'bronze', name: 'Bronze', minimumPoints: bronze, description: '' },
            { id: 'silver', name: 'Silver', minimumPoints: silver, description: '' },
            { id: 'gold', name: 'Gold', minimumPoints: gold, description: '' },
          ],
          themes: actions.map((themeActions, index) => ({
            id: `theme-${index}`,
            name: `Theme ${index}`,
            summary: '',
            actions: themeActions,
          })),
        };
      });
  });

export const arbitraryResponse: fc.Arbitrary<ActionResponse> = fc.record({
  status: fc.constantFrom(...responseStatuses),
  note: fc.constantFrom('', 'short', 'A long enough description of what the practice did.'),
  notApplicableReason: fc.constantFrom('', 'We do not own the building.'),
  evidenceFiles: fc.nat(2),
});

/** A framework with answers for some of its actions. */
export const arbitraryAssessment = arbitraryFramework.chain((framework) => {
  const codes = framework.themes.flatMap((theme) => theme.actions.map((action) => action.code));
  return fc
    .array(fc.option(arbitraryResponse, { nil: undefined }), {
      minLength: codes.length,
      maxLength: codes.length,
    })
    .map((answers) => ({
      framework,
      responses: new Map(
        codes.flatMap((code, index) => (answers[index] ? [[code, answers[index]!] as const] : [])),
      ),
    }));
});
