import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  byDeprivationQuintile,
  leagueTable,
  monthsOfYear,
  progressMonths,
  pointsHistogram,
  progressByMonth,
  summariseParticipation,
  type PracticeFraction,
  type ProgrammePractice,
} from './programme.calculations.ts';

const practice = (
  quintile: number | null,
  numerator: number,
  denominator = 1,
): PracticeFraction => ({
  quintile,
  numerator,
  denominator,
});

const arbitraryFraction: fc.Arbitrary<PracticeFraction> = fc.record({
  quintile: fc.option(fc.integer({ min: 1, max: 5 }), { nil: null, freq: 8 }),
  numerator: fc.integer({ min: 0, max: 1000 }),
  denominator: fc.integer({ min: 0, max: 1000 }),
});

describe('byDeprivationQuintile', () => {
  it('gives each quintile its pooled value and the gap, most deprived minus least deprived', () => {
    const result = byDeprivationQuintile(
      [practice(1, 60, 100), practice(1, 20, 100), practice(3, 50, 100), practice(5, 10, 50)],
      100,
    );
    expect(result.byQuintile.map((entry) => entry.value)).toEqual([40, null, 50, null, 20]);
    expect(result.gap).toBeCloseTo(20);
    expect(result.byQuintile[0]).toMatchObject({ practices: 2, numerator: 80, denominator: 200 });
  });

  it('is a mean per practice for counts (points, awards) and leaves out practices with no quintile', () => {
    const result = byDeprivationQuintile([
      practice(1, 100),
      practice(1, 0),
      practice(5, 300),
      practice(null, 585),
    ]);
    expect(result.byQuintile[0]!.value).toBe(50);
    expect(result.byQuintile[4]!.value).toBe(300);
    expect(result.gap).toBe(-250);
    expect(result.practicesWithoutQuintile).toBe(1);
  });

  it('has no gap when either end has no data', () => {
    expect(byDeprivationQuintile([practice(1, 1)]).gap).toBeNull();
    expect(byDeprivationQuintile([practice(5, 1), practice(1, 5, 0)]).gap).toBeNull();
  });

  it('property: the order of practices does not matter', () => {
    fc.assert(
      fc.property(fc.array(arbitraryFraction, { maxLength: 40 }), (practices) => {
        const forwards = byDeprivationQuintile(practices, 100);
        const backwards = byDeprivationQuintile([...practices].reverse(), 100);
        expect(backwards.byQuintile.map((q) => q.numerator)).toEqual(
          forwards.byQuintile.map((q) => q.numerator),
        );
        expect(backwards.gap === null).toBe(forwards.gap === null);
        if (forwards.gap !== null) expect(backwards.gap!).toBeCloseTo(forwards.gap);
      }),
    );
  });

  it('property: swapping the most and least deprived practices negates the gap', () => {
    fc.assert(
      fc.property(fc.array(arbitraryFraction, { maxLength: 40 }), (practices) => {
        const mirrored = practices.map((entry) => ({
          ...entry,
          quintile: entry.quintile === null ? null : 6 - entry.quintile,
        }));
        const gap = byDeprivationQuintile(practices).gap;
        const mirroredGap = byDeprivationQuintile(mirrored).gap;
        if (gap === null) expect(mirroredGap).toBeNull();
        else expect(mirroredGap!).toBeCloseTo(-gap, 6);
      }),
    );
  });

  it('property: each quintile value lies between the smallest and largest practice values in it', () => {
    fc.assert(
      fc.property(fc.array(arbitraryFraction, { maxLength: 40 }), (practices) => {
        const result = byDeprivationQuintile(practices);
        for (const entry of result.byQuintile) {
          const values = practices
            .filter((p) => p.quintile === entry.quintile && p.denominator > 0)
            .map((p) => p.numerator / p.denominator);
          if (values.length === 0) {
            expect(entry.value).toBeNull();
            continue;
          }
          expect(entry.value!).toBeGreaterThanOrEqual(Math.min(...values) - 1e-9);
          expect(entry.value!).toBeLessThanOrEqual(Math.max(...values) + 1e-9);
        }
      }),
    );
  });

  it('property: the same practices in every quintile have no gap', () => {
    fc.assert(
      fc.property(fc.array(arbitraryFraction, { minLength: 1, maxLength: 10 }), (practices) => {
        fc.pre(practices.some((entry) => entry.denominator > 0));
        const everywhere = [1, 2, 3, 4, 5].flatMap((quintile) =>
          practices.map((entry) => ({ ...entry, quintile })),
        );
        expect(byDeprivationQuintile(everywhere).gap!).toBeCloseTo(0);
      }),
    );
  });

  it('property: the gap scales with the scale', () => {
    fc.assert(
      fc.property(fc.array(arbitraryFraction, { maxLength: 30 }), (practices) => {
        const once = byDeprivationQuintile(practices, 1).gap;
        const hundred = byDeprivationQuintile(practices, 100).gap;
        if (once === null) expect(hundred).toBeNull();
        else expect(hundred!).toBeCloseTo(once * 100, 6);
      }),
    );
  });
});

describe('summariseParticipation', () => {
  it('counts participants, statuses and awards', () => {
    const practices: ProgrammePractice[] = [
      {
        code: 'A',
        name: 'A',
        participating: true,
        status: 'awarded',
        points: 200,
        award: 'silver',
      },
      { code: 'B', name: 'B', participating: true, status: 'in_progress', points: 40, award: null },
      { code: 'C', name: 'C', participating: false, status: 'not_started', points: 0, award: null },
      {
        code: 'D',
        name: 'D',
        participating: true,
        status: 'in_progress',
        points: 90,
        award: 'bronze',
      },
    ];
    const summary = summariseParticipation(practices);
    expect(summary).toMatchObject({
      practices: 4,
      participating: 3,
      participationPercent: 75,
      awarded: 2,
      awardsByLevel: { bronze: 1, silver: 1, gold: 0 },
      meanPointsOfParticipants: 110,
    });
    expect(summary.byStatus).toMatchObject({ awarded: 1, in_progress: 2, not_started: 1 });
  });
});

describe('pointsHistogram', () => {
  it('puts each practice in its bin, the maximum in the last', () => {
    const bins = pointsHistogram([0, 49, 50, 585, 120], 50, 585);
    expect(bins[0]).toEqual({ label: '0–49', from: 0, to: 49, practices: 2 });
    expect(bins[1]!.practices).toBe(1);
    expect(bins.at(-1)).toMatchObject({ label: '550–585', practices: 1 });
  });

  it('property: every practice is counted once', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 600 })),
        fc.integer({ min: 1, max: 120 }),
        (points, width) => {
          const bins = pointsHistogram(points, width, 600);
          expect(bins.reduce((sum, bin) => sum + bin.practices, 0)).toBe(points.length);
          for (let index = 1; index < bins.length; index++)
            expect(bins[index]!.from).toBe(bins[index - 1]!.to + 1);
        },
      ),
    );
  });
});

describe('progressByMonth', () => {
  it('replays events and awards to the end of each month', () => {
    const months = monthsOfYear('2026-27', '2026-07');
    expect(months).toEqual(['2026-04', '2026-05', '2026-06', '2026-07']);
    const progress = progressByMonth(
      months,
      [
        { assessmentId: 'a', occurredAt: '2026-04-10T10:00:00Z', points: 10 },
        { assessmentId: 'a', occurredAt: '2026-05-02T10:00:00Z', points: 60 },
        { assessmentId: 'b', occurredAt: '2026-06-20T10:00:00Z', points: 25 },
      ],
      [
        { practiceCode: 'A', level: 'bronze', awardedAt: '2026-06-01T00:00:00Z' },
        { practiceCode: 'A', level: 'silver', awardedAt: '2026-07-01T00:00:00Z' },
      ],
    );
    expect(progress.map((month) => [month.participating, month.totalPoints])).toEqual([
      [1, 10],
      [1, 60],
      [2, 85],
      [2, 85],
    ]);
    expect(progress[2]!.awardsByLevel).toEqual({ bronze: 1, silver: 0, gold: 0 });
    expect(progress[3]!.awardsByLevel).toEqual({ bronze: 0, silver: 1, gold: 0 });
  });

  it('counts an event in the UK calendar month it happened in, not the UTC one', () => {
    // 23:30 UTC on 31 May is 00:30 BST on 1 June; 23:30 UTC on 31 January is still January.
    const progress = progressByMonth(
      ['2026-05', '2026-06'],
      [{ assessmentId: 'a', occurredAt: '2026-05-31T23:30:00.000Z', points: 40 }],
      [{ practiceCode: 'A', level: 'bronze', awardedAt: '2026-05-31T23:30:00.000Z' }],
    );
    expect(progress.map((month) => month.participating)).toEqual([0, 1]);
    expect(progress.map((month) => month.awardsByLevel.bronze)).toEqual([0, 1]);
    const winter = progressByMonth(
      ['2027-01', '2027-02'],
      [{ assessmentId: 'a', occurredAt: '2027-01-31T23:30:00.000Z', points: 40 }],
      [],
    );
    expect(winter.map((month) => month.participating)).toEqual([1, 1]);
  });

  it('goes on past March to the latest answer or award while the year is still shown', () => {
    expect(progressMonths('2026-27', '2026-07', '2026-07')).toEqual([
      '2026-04',
      '2026-05',
      '2026-06',
      '2026-07',
    ]);
    expect(progressMonths('2026-27', '2027-06', null).at(-1)).toBe('2027-03');
    expect(progressMonths('2026-27', '2027-06', '2027-02').at(-1)).toBe('2027-03');
    // An award decided in April for a March submission: the last row is April, and counts it.
    const months = progressMonths('2026-27', '2027-06', '2027-04');
    expect(months.slice(-2)).toEqual(['2027-03', '2027-04']);
    const progress = progressByMonth(
      months,
      [{ assessmentId: 'a', occurredAt: '2027-03-30T10:00:00.000Z', points: 300 }],
      [{ practiceCode: 'A', level: 'gold', awardedAt: '2027-04-10T10:00:00.000Z' }],
    );
    expect(progress.at(-2)!.awardsByLevel.gold).toBe(0);
    expect(progress.at(-1)!.awardsByLevel.gold).toBe(1);
    // Never past this month, whatever the data says.
    expect(progressMonths('2026-27', '2027-04', '2027-09').at(-1)).toBe('2027-04');
  });

  it('lists the months of a year from April to March, and none before it', () => {
    expect(monthsOfYear('2026-27', '2030-01')).toHaveLength(12);
    expect(monthsOfYear('2026-27', '2030-01').at(-1)).toBe('2027-03');
    expect(monthsOfYear('2026-27', '2026-03')).toEqual([]);
  });

  it('property: participation never falls from one month to the next', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            assessmentId: fc.constantFrom('a', 'b', 'c', 'd'),
            occurredAt: fc
              .integer({ min: 0, max: 364 })
              .map((day) => new Date(Date.UTC(2026, 3, 1) + day * 86_400_000).toISOString()),
            points: fc.integer({ min: 0, max: 585 }),
          }),
        ),
        (events) => {
          const progress = progressByMonth(monthsOfYear('2026-27', '2027-03'), events, []);
          for (let index = 1; index < progress.length; index++)
            expect(progress[index]!.participating).toBeGreaterThanOrEqual(
              progress[index - 1]!.participating,
            );
          expect(progress.at(-1)!.participating).toBe(
            new Set(events.map((e) => e.assessmentId)).size,
          );
        },
      ),
    );
  });
});

describe('leagueTable', () => {
  it('ranks by points, then award, with shared ranks for ties', () => {
    const table = leagueTable([
      { name: 'Beech', points: 100, award: null },
      { name: 'Ash', points: 200, award: 'silver' as const },
      { name: 'Cedar', points: 100, award: null },
      { name: 'Alder', points: 100, award: 'bronze' as const },
    ]);
    expect(table.map((row) => [row.rank, row.entry.name])).toEqual([
      [1, 'Ash'],
      [2, 'Alder'],
      [3, 'Beech'],
      [3, 'Cedar'],
    ]);
  });
});
