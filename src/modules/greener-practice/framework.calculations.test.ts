import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  allActions,
  awardLevels,
  hasEvidence,
  isProgrammeYear,
  levelRank,
  levelReached,
  levelStandings,
  nextLevel,
  pointsEarned,
  programmeYearBounds,
  programmeYearOf,
  submissionProblems,
  totalPoints,
  type ActionResponse,
} from './framework.calculations.ts';
import {
  arbitraryAssessment,
  buildFramework,
  done,
  loadShippedFramework,
} from './framework.test-helpers.ts';

const notApplicable = (
  reason = 'We share the building and do not control it.',
): ActionResponse => ({
  status: 'not_applicable',
  note: '',
  notApplicableReason: reason,
  evidenceFiles: 0,
});

describe('points', () => {
  const framework = buildFramework();

  it('counts the points of actions marked done, and nothing else', () => {
    const responses = new Map<string, ActionResponse>([
      ['AA-01', done()],
      ['AA-03', { ...done(), status: 'in_progress' }],
      ['AA-04', notApplicable()],
      ['AA-05', done()],
    ]);
    expect(pointsEarned(framework, responses)).toBe(30);
  });

  it('ignores answers to actions that are not in the framework (an older version)', () => {
    expect(pointsEarned(framework, new Map([['ZZ-99', done()]]))).toBe(0);
  });

  it('property: points are between 0 and the framework total, and marking another action done never lowers them', () => {
    fc.assert(
      fc.property(arbitraryAssessment, fc.nat(), ({ framework: f, responses }, pick) => {
        const points = pointsEarned(f, responses);
        expect(points).toBeGreaterThanOrEqual(0);
        expect(points).toBeLessThanOrEqual(totalPoints(f));
        const actions = allActions(f);
        const action = actions[pick % actions.length]!;
        const more = new Map(responses).set(action.code, done());
        expect(pointsEarned(f, more)).toBeGreaterThanOrEqual(points);
        expect(pointsEarned(f, more) - points).toBe(
          responses.get(action.code)?.status === 'done' ? 0 : action.points,
        );
      }),
    );
  });

  it('property: not applicable earns no points', () => {
    fc.assert(
      fc.property(arbitraryAssessment, ({ framework: f, responses }) => {
        const withoutNotApplicable = new Map(
          [...responses].filter(([, response]) => response.status !== 'not_applicable'),
        );
        expect(pointsEarned(f, withoutNotApplicable)).toBe(pointsEarned(f, responses));
      }),
    );
  });
});

describe('award levels', () => {
  const framework = buildFramework();

  it('reaches Bronze with its points and its required action done', () => {
    const responses = new Map([
      ['AA-01', done()],
      ['AA-03', done()],
    ]);
    expect(levelReached(framework, responses)).toBe('bronze');
  });

  it('does not reach Bronze without the required action, however many points', () => {
    const responses = new Map([
      ['AA-03', done()],
      ['AA-04', done()],
      ['AA-05', done()],
    ]);
    expect(pointsEarned(framework, responses)).toBe(40);
    expect(levelReached(framework, responses)).toBeNull();
    const bronze = levelStandings(framework, responses)[0]!;
    expect(bronze.missingRequired.map((action) => action.code)).toEqual(['AA-01']);
    expect(bronze.pointsShort).toBe(0);
  });

  it('needs the actions required for lower levels too', () => {
    const responses = new Map([
      ['AA-02', done()],
      ['AA-03', done()],
      ['AA-04', done()],
      ['AA-05', done()],
    ]);
    expect(levelStandings(framework, responses)[1]!.missingRequired.map((a) => a.code)).toEqual([
      'AA-01',
    ]);
    expect(levelReached(framework, responses)).toBeNull();
  });

  it('reaches Gold with everything done', () => {
    const responses = new Map(allActions(framework).map((action) => [action.code, done()]));
    expect(levelReached(framework, responses)).toBe('gold');
    expect(nextLevel('gold')).toBeNull();
    expect(nextLevel(null)).toBe('bronze');
    expect(nextLevel('bronze')).toBe('silver');
  });

  it('property: the level reached meets its threshold and required actions, and so does every level below it', () => {
    fc.assert(
      fc.property(arbitraryAssessment, ({ framework: f, responses }) => {
        const reached = levelReached(f, responses);
        const points = pointsEarned(f, responses);
        for (const level of f.levels) {
          const isAtOrBelow = reached !== null && levelRank(level.id) <= levelRank(reached);
          if (isAtOrBelow) {
            expect(points).toBeGreaterThanOrEqual(level.minimumPoints);
            expect(
              submissionProblems(f, responses, level.id).some((p) =>
                p.message.includes('required'),
              ),
            ).toBe(false);
          }
        }
        if (reached !== 'gold') {
          const above = f.levels[reached === null ? 0 : levelRank(reached) + 1]!;
          const standing = levelStandings(f, responses).find((s) => s.level === above.id)!;
          expect(standing.reached).toBe(false);
        }
      }),
    );
  });

  it('property: marking an action done never lowers the level reached', () => {
    fc.assert(
      fc.property(arbitraryAssessment, fc.nat(), ({ framework: f, responses }, pick) => {
        const actions = allActions(f);
        const action = actions[pick % actions.length]!;
        const before = levelReached(f, responses);
        const after = levelReached(f, new Map(responses).set(action.code, done()));
        expect(after === null ? -1 : levelRank(after)).toBeGreaterThanOrEqual(
          before === null ? -1 : levelRank(before),
        );
      }),
    );
  });
});

describe('submission problems', () => {
  const framework = buildFramework();

  it('is empty when the answers qualify, with evidence for every done action', () => {
    const responses = new Map([
      ['AA-01', done()],
      ['AA-03', done('', 1)],
    ]);
    expect(submissionProblems(framework, responses, 'bronze')).toEqual([]);
  });

  it('names the points short, a missing required action and a done action without evidence', () => {
    const responses = new Map([['AA-03', done('too short')]]);
    const problems = submissionProblems(framework, responses, 'bronze');
    expect(problems.map((problem) => problem.actionCode)).toEqual([null, 'AA-01', 'AA-03']);
    expect(problems[0]!.message).toBe(
      'Bronze needs 20 points; the assessment has 10. Complete actions worth 10 more points.',
    );
    expect(problems[1]!.message).toContain('is required for Bronze');
    expect(problems[2]!.message).toContain('without evidence');
  });

  it('refuses not applicable for a required action, and not applicable without a reason', () => {
    const responses = new Map([
      ['AA-01', notApplicable()],
      ['AA-03', notApplicable('')],
      ['AA-05', done()],
    ]);
    const messages = submissionProblems(framework, responses, 'bronze').map((p) => p.message);
    expect(messages).toContain(
      'AA-01 An action is required for Bronze and cannot be marked not applicable.',
    );
    expect(messages).toContain('AA-03 An action is marked not applicable without a reason.');
  });

  it('counts a file or a note of 20 characters or more as evidence', () => {
    expect(hasEvidence(done('', 1))).toBe(true);
    expect(hasEvidence(done('x'.repeat(20)))).toBe(true);
    expect(hasEvidence(done(`  ${'x'.repeat(19)}  `))).toBe(false);
    expect(hasEvidence(undefined)).toBe(false);
  });

  it('property: no problems for a level exactly when it is reached and every done action has evidence', () => {
    fc.assert(
      fc.property(arbitraryAssessment, ({ framework: f, responses }) => {
        for (const level of awardLevels) {
          const problems = submissionProblems(f, responses, level);
          const standing = levelStandings(f, responses).find((s) => s.level === level)!;
          const evidenced = allActions(f).every((action) => {
            const response = responses.get(action.code);
            if (response?.status === 'done') return hasEvidence(response);
            if (response?.status === 'not_applicable')
              return response.notApplicableReason.trim() !== '';
            return true;
          });
          expect(problems.length === 0).toBe(
            standing.pointsShort === 0 && standing.missingRequired.length === 0 && evidenced,
          );
        }
      }),
    );
  });
});

describe('programme years', () => {
  it.each([
    ['2026-04-01T00:00:00Z', '2026-27'],
    // 23:59:59 BST on 31 March, the last second of the year in the UK.
    ['2027-03-31T22:59:59Z', '2026-27'],
    ['2026-03-31T12:00:00Z', '2025-26'],
    ['1999-12-01T00:00:00Z', '1999-00'],
    // 00:30 BST on 1 April, still 31 March in UTC.
    ['2026-03-31T23:30:00Z', '2026-27'],
  ])('%s falls in %s', (date, year) => {
    expect(programmeYearOf(new Date(date))).toBe(year);
    expect(isProgrammeYear(year)).toBe(true);
  });

  it('knows a financial year from anything else', () => {
    expect(isProgrammeYear('2026-28')).toBe(false);
    expect(isProgrammeYear('2026/27')).toBe(false);
    expect(programmeYearBounds('2026-27')).toEqual({ start: '2026-04-01', end: '2027-03-31' });
  });
});

describe('the shipped 2026–27 framework', () => {
  const { framework } = loadShippedFramework();

  it('has about 60 actions in the ten themes of the programme', () => {
    expect(allActions(framework)).toHaveLength(60);
    expect(framework.themes.map((theme) => theme.name)).toEqual([
      'Leadership and engagement',
      'Energy and buildings',
      'Travel and transport',
      'Waste and resources',
      'Medicines and inhalers',
      'Sustainable models of care',
      'Procurement',
      'Food',
      'Adaptation and green space',
      'Community and health inequalities',
    ]);
  });

  it('can be reached at every level, and Bronze with its required actions and one more', () => {
    const required = allActions(framework).filter((action) => action.requiredFor === 'bronze');
    const responses = new Map(required.map((action) => [action.code, done()]));
    expect(levelReached(framework, responses)).toBeNull();
    responses.set('MI-05', done());
    responses.set('LE-04', done());
    expect(levelReached(framework, responses)).toBe('bronze');
    const everything = new Map(allActions(framework).map((action) => [action.code, done()]));
    expect(levelReached(framework, everything)).toBe('gold');
  });

  it('links the inhaler review action to the MDI share and the switch saving', () => {
    const review = allActions(framework).find((action) => action.code === 'MI-02')!;
    expect(review).toMatchObject({
      measure: 'mdi-share-non-salbutamol',
      saving: 'inhaler-switch',
      requiredFor: 'silver',
      impact: 'very-high',
    });
  });
});
