import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bandByNationalRank, describeQuintile } from './deprivation.calculations.ts';

/** IMD scores as the files hold them: finite, non-negative, a few decimals; ties are likely. */
const imdScores = fc.array(
  fc.oneof(
    fc.double({ min: 0, max: 100, noNaN: true, noDefaultInfinity: true }),
    fc.integer({ min: 0, max: 20 }),
  ),
  { minLength: 1, maxLength: 300 },
);

describe('bandByNationalRank', () => {
  it('returns nothing for no scores', () => {
    expect(bandByNationalRank([])).toEqual([]);
  });

  it('bands four scores as worked by hand, keeping the input order', () => {
    // Worked by hand: in descending order 40, 30, 20, 10 have ranks 1..4; with n = 4 the
    // decile is ceil(10 × rank ÷ 4) = 3, 5, 8, 10 and the quintile ceil(decile ÷ 2) = 2, 3, 4, 5.
    expect(bandByNationalRank([10, 30, 20, 40])).toEqual([
      { rank: 4, decile: 10, quintile: 5 },
      { rank: 2, decile: 5, quintile: 3 },
      { rank: 3, decile: 8, quintile: 4 },
      { rank: 1, decile: 3, quintile: 2 },
    ]);
  });

  it('puts each of ten distinct scores in its own decile, the highest score in decile 1 (by hand)', () => {
    // Worked by hand: with n = 10, rank r lands in decile ceil(10r ÷ 10) = r, so score 10
    // (rank 1, the most deprived) is decile 1 and score 1 (rank 10) is decile 10.
    const scores = [3, 7, 1, 10, 5, 2, 9, 4, 8, 6];
    const bands = bandByNationalRank(scores);
    expect(bands.map((band) => band.decile)).toEqual(scores.map((score) => 11 - score));
    expect(bands.map((band) => band.rank)).toEqual(scores.map((score) => 11 - score));
  });

  it('gives tied scores the best rank they share (by hand)', () => {
    // Worked by hand: descending 9, 5, 5, 5, 1; the three fives occupy ranks 2..4 and all take
    // rank 2, and the next score still takes rank 5 (competition ranking, "1224").
    // Deciles with n = 5: rank 1 → 2, rank 2 → 4, rank 5 → 10.
    expect(bandByNationalRank([5, 9, 5, 1, 5])).toEqual([
      { rank: 2, decile: 4, quintile: 2 },
      { rank: 1, decile: 2, quintile: 1 },
      { rank: 2, decile: 4, quintile: 2 },
      { rank: 5, decile: 10, quintile: 5 },
      { rank: 2, decile: 4, quintile: 2 },
    ]);
  });

  it('bands twenty scores two to a decile (by hand)', () => {
    // Worked by hand: n = 20, rank r → decile ceil(r ÷ 2): ranks 1-2 → 1, 3-4 → 2, … 19-20 → 10.
    const scores = Array.from({ length: 20 }, (_, index) => 50 - index * 2.5);
    const bands = bandByNationalRank(scores);
    expect(bands.map((band) => band.decile)).toEqual([
      1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10,
    ]);
    expect(bands.map((band) => band.quintile)).toEqual([
      1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5,
    ]);
  });

  it('puts every practice in decile 1 when twelve scores are all equal (by hand)', () => {
    // Worked by hand: all twelve tie at rank 1, and ceil(10 × 1 ÷ 12) = 1.
    const bands = bandByNationalRank(Array<number>(12).fill(12.5));
    expect(bands).toEqual(Array(12).fill({ rank: 1, decile: 1, quintile: 1 }));
  });

  it('bands a single practice by the formula: rank 1 of 1 is decile 10', () => {
    // ceil(10 × 1 ÷ 1) = 10: with fewer than ten practices, deciles are coarse by construction.
    expect(bandByNationalRank([20])).toEqual([{ rank: 1, decile: 10, quintile: 5 }]);
  });

  it.each([NaN, Infinity, -Infinity])('refuses a score of %s', (bad) => {
    expect(() => bandByNationalRank([10, bad, 20])).toThrow(RangeError);
    expect(() => bandByNationalRank([10, bad, 20])).toThrow(/finite/);
  });

  it('does not reorder the array it is given', () => {
    const scores = [3, 1, 2];
    bandByNationalRank(scores);
    expect(scores).toEqual([3, 1, 2]);
  });

  describe('properties', () => {
    it('returns one band per score', () => {
      fc.assert(
        fc.property(imdScores, (scores) => {
          expect(bandByNationalRank(scores)).toHaveLength(scores.length);
        }),
      );
    });

    it('keeps deciles in 1..10 and quintiles in 1..5, with quintile = ceil(decile ÷ 2)', () => {
      fc.assert(
        fc.property(imdScores, (scores) => {
          for (const band of bandByNationalRank(scores)) {
            expect(band.decile).toBeGreaterThanOrEqual(1);
            expect(band.decile).toBeLessThanOrEqual(10);
            expect(Number.isInteger(band.decile)).toBe(true);
            expect(band.quintile).toBe(Math.ceil(band.decile / 2));
          }
        }),
      );
    });

    it('ranks a score 1 + the number of strictly higher scores', () => {
      fc.assert(
        fc.property(imdScores, (scores) => {
          const bands = bandByNationalRank(scores);
          scores.forEach((score, index) => {
            const higher = scores.filter((other) => other > score).length;
            expect(bands[index]!.rank).toBe(higher + 1);
          });
        }),
      );
    });

    it('is monotonic: a higher score never gets a higher-numbered decile, equal scores share one', () => {
      fc.assert(
        fc.property(imdScores, (scores) => {
          const bands = bandByNationalRank(scores);
          // Walk from the highest score down: deciles may only stay level or grow.
          const byScoreDescending = scores
            .map((score, index) => ({ score, band: bands[index]! }))
            .sort((a, b) => b.score - a.score);
          for (let i = 1; i < byScoreDescending.length; i++) {
            const previous = byScoreDescending[i - 1]!;
            const current = byScoreDescending[i]!;
            if (current.score === previous.score) expect(current.band).toEqual(previous.band);
            else expect(current.band.decile).toBeGreaterThanOrEqual(previous.band.decile);
          }
        }),
      );
    });

    it('puts a tenth of distinct scores in each decile, give or take one', () => {
      fc.assert(
        fc.property(
          fc.uniqueArray(fc.double({ min: 0, max: 100, noNaN: true }), {
            minLength: 1,
            maxLength: 500,
            // -0 and 0 are one score to the ranking, so keep only one of them.
            comparator: (a, b) => a === b,
          }),
          (scores) => {
            const perDecile = Array<number>(10).fill(0);
            for (const band of bandByNationalRank(scores)) perDecile[band.decile - 1]!++;
            for (const count of perDecile) {
              expect(count).toBeGreaterThanOrEqual(Math.floor(scores.length / 10));
              expect(count).toBeLessThanOrEqual(Math.ceil(scores.length / 10));
            }
          },
        ),
      );
    });

    it('depends only on the scores, not their order', () => {
      fc.assert(
        fc.property(imdScores, fc.infiniteStream(fc.nat()), (scores, seeds) => {
          const order = scores.map((_, index) => index);
          const shuffleKeys = order.map(() => seeds.next().value);
          order.sort((a, b) => shuffleKeys[a]! - shuffleKeys[b]!);
          const bands = bandByNationalRank(scores);
          const shuffledBands = bandByNationalRank(order.map((index) => scores[index]!));
          order.forEach((originalIndex, shuffledIndex) => {
            expect(shuffledBands[shuffledIndex]).toEqual(bands[originalIndex]);
          });
        }),
      );
    });

    it('throws for any list containing a non-finite score', () => {
      fc.assert(
        fc.property(
          imdScores,
          fc.constantFrom(NaN, Infinity, -Infinity),
          fc.nat(),
          (scores, bad, at) => {
            const withBad = [...scores];
            withBad.splice(at % (scores.length + 1), 0, bad);
            expect(() => bandByNationalRank(withBad)).toThrow(RangeError);
          },
        ),
      );
    });
  });
});

describe('describeQuintile', () => {
  it('says which end of the scale quintiles 1 and 5 are', () => {
    expect(describeQuintile(1)).toBe('1 (most deprived)');
    expect(describeQuintile(5)).toBe('5 (least deprived)');
  });

  it.each([2, 3, 4])('shows quintile %i as a bare number', (quintile) => {
    expect(describeQuintile(quintile)).toBe(String(quintile));
  });
});
