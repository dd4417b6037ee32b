import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allActions, type ActionResponse } from './framework.calculations.ts';
import {
  arbitraryAssessment,
  buildAction,
  buildFramework,
  done,
  loadShippedFramework,
} from './framework.test-helpers.ts';
import {
  dataMultiplier,
  recommendActions,
  type MeasureStanding,
} from './recommendations.calculations.ts';

const mdiShare = (decile: number, value = decile * 8): MeasureStanding => ({
  value,
  decile,
  lowIsGood: true,
});

describe('recommendActions on the shipped framework', () => {
  const { framework } = loadShippedFramework();
  const bronze = new Map<string, ActionResponse>(
    allActions(framework)
      .filter((action) => action.requiredFor === 'bronze')
      .map((action) => [action.code, done()]),
  );

  it('puts the inhaler review first, with its saving, when the MDI share is among the highest', () => {
    const [first] = recommendActions({
      framework,
      responses: bronze,
      measures: new Map([['mdi-share-non-salbutamol', mdiShare(10, 78.2)]]),
      inhalerSwitchSavingTonnes: 12.4,
      nextLevel: 'silver',
    });
    expect(first!.action.code).toBe('MI-02');
    expect(first!.savingTonnesCo2ePerYear).toBe(12.4);
    expect(first!.requiredForNextLevel).toBe(true);
    expect(first!.measure).toEqual({ id: 'mdi-share-non-salbutamol', ...mdiShare(10, 78.2) });
  });

  it('ranks the inhaler review below the high-impact actions when the MDI share is among the lowest', () => {
    const ranked = recommendActions({
      framework,
      responses: bronze,
      measures: new Map([['mdi-share-non-salbutamol', mdiShare(1, 12)]]),
      inhalerSwitchSavingTonnes: 0.8,
      nextLevel: 'silver',
    });
    const position = ranked.findIndex((entry) => entry.action.code === 'MI-02');
    expect(ranked[0]!.action.code).not.toBe('MI-02');
    expect(ranked[0]!.action.impact).toBe('high');
    expect(position).toBeGreaterThan(5);
  });

  it('changes the order when the practice’s inhaler measures change', () => {
    const order = (decile: number) =>
      recommendActions({
        framework,
        responses: bronze,
        measures: new Map([
          ['mdi-share-non-salbutamol', mdiShare(decile)],
          ['salbutamol-kgco2e-per-inhaler', { value: 20, decile, lowIsGood: true }],
        ]),
        inhalerSwitchSavingTonnes: null,
        nextLevel: 'silver',
      })
        .slice(0, 5)
        .map((entry) => entry.action.code);
    expect(order(10)).not.toEqual(order(1));
    expect(order(10).slice(0, 2)).toEqual(['MI-02', 'MI-03']);
  });

  it('leaves out what is done or not applicable', () => {
    const codes = recommendActions({
      framework,
      responses: new Map([
        ['MI-02', done()],
        [
          'EB-06',
          { status: 'not_applicable', note: '', notApplicableReason: 'Leased', evidenceFiles: 0 },
        ],
      ]),
      measures: new Map(),
      inhalerSwitchSavingTonnes: null,
      nextLevel: 'bronze',
    }).map((entry) => entry.action.code);
    expect(codes).not.toContain('MI-02');
    expect(codes).not.toContain('EB-06');
    expect(codes).toHaveLength(58);
  });
});

describe('dataMultiplier', () => {
  it('runs from 0.7 at the best decile to 2.5 at the worst, and is 1 without data', () => {
    expect(dataMultiplier(mdiShare(1))).toBeCloseTo(0.7);
    expect(dataMultiplier(mdiShare(10))).toBeCloseTo(2.5);
    expect(dataMultiplier({ value: 80, decile: 10, lowIsGood: false })).toBeCloseTo(0.7);
    expect(dataMultiplier({ value: null, decile: null, lowIsGood: true })).toBe(1);
    expect(dataMultiplier(undefined)).toBe(1);
  });
});

describe('recommendActions properties', () => {
  const linked = buildFramework([
    buildAction({ code: 'AA-01', requiredFor: 'bronze', impact: 'high' }),
    buildAction({ code: 'AA-02', impact: 'very-high', measure: 'mdi-share-non-salbutamol' }),
    buildAction({ code: 'AA-03', impact: 'medium', measure: 'low-carbon-inhaler-share' }),
    buildAction({ code: 'AA-04', impact: 'low', points: 40 }),
  ]);

  it('property: highest score first; nothing done or not applicable; every open action listed', () => {
    fc.assert(
      fc.property(
        arbitraryAssessment,
        fc.integer({ min: 1, max: 10 }),
        ({ framework, responses }, decile) => {
          const ranked = recommendActions({
            framework,
            responses,
            measures: new Map([['mdi-share-non-salbutamol', mdiShare(decile)]]),
            inhalerSwitchSavingTonnes: null,
            nextLevel: 'bronze',
          });
          for (let index = 1; index < ranked.length; index++)
            expect(ranked[index - 1]!.score).toBeGreaterThanOrEqual(ranked[index]!.score);
          const open = allActions(framework).filter(
            (action) =>
              !['done', 'not_applicable'].includes(responses.get(action.code)?.status ?? ''),
          );
          expect(ranked.map((entry) => entry.action.code).sort()).toEqual(
            open.map((action) => action.code).sort(),
          );
        },
      ),
    );
  });

  it('property: a worse standing on a measure never moves its action down, and moves nothing else up', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 10 }),
        (decile, lowCarbonDecile) => {
          const rank = (mdiDecile: number) =>
            recommendActions({
              framework: linked,
              responses: new Map(),
              measures: new Map([
                ['mdi-share-non-salbutamol', mdiShare(mdiDecile)],
                [
                  'low-carbon-inhaler-share',
                  { value: 30, decile: lowCarbonDecile, lowIsGood: false },
                ],
              ]),
              inhalerSwitchSavingTonnes: null,
              nextLevel: 'bronze',
            });
          const before = rank(decile);
          const after = rank(decile + 1);
          const position = (list: typeof before, code: string) =>
            list.findIndex((entry) => entry.action.code === code);
          expect(position(after, 'AA-02')).toBeLessThanOrEqual(position(before, 'AA-02'));
          for (const code of ['AA-01', 'AA-03', 'AA-04']) {
            const scoreBefore = before.find((entry) => entry.action.code === code)!.score;
            const scoreAfter = after.find((entry) => entry.action.code === code)!.score;
            expect(scoreAfter).toBe(scoreBefore);
          }
        },
      ),
    );
  });
});
