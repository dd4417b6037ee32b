/**
 * National deprivation bands for GP practices from their IMD 2019 scores.
 *
 * A practice's IMD score (OHID Fingertips indicator 93553) is the population-weighted average IMD
 * 2019 score of the small areas its patients live in; a higher score means more deprived. We band
 * practices by their rank among all practices in England with a 2019 score, following the IMD's own
 * convention that decile 1 and quintile 1 are the most deprived.
 */
export interface DeprivationBand {
  /** 1-based rank, 1 = most deprived; tied scores share the best rank. */
  rank: number;
  decile: number;
  quintile: number;
}

/**
 * Bands every score against the national distribution. Pure and order-preserving: the result for
 * `scores[i]` is at index i. With n practices, the practice of rank r falls in decile
 * ceil(10 × r ÷ n), so each decile holds a tenth of practices (give or take ties).
 */
export function bandByNationalRank(scores: readonly number[]): DeprivationBand[] {
  const count = scores.length;
  if (count === 0) return [];
  for (const score of scores) {
    if (!Number.isFinite(score))
      throw new RangeError(`IMD score must be a finite number, got ${score}`);
  }
  const descending = [...scores].sort((a, b) => b - a);
  const firstRankOfScore = new Map<number, number>();
  descending.forEach((score, index) => {
    if (!firstRankOfScore.has(score)) firstRankOfScore.set(score, index + 1);
  });
  return scores.map((score) => {
    const rank = firstRankOfScore.get(score)!;
    const decile = Math.min(10, Math.max(1, Math.ceil((10 * rank) / count)));
    return { rank, decile, quintile: Math.ceil(decile / 2) };
  });
}

/** Human wording of a quintile, used in tables and the inequalities lens. */
export function describeQuintile(quintile: number): string {
  switch (quintile) {
    case 1:
      return '1 (most deprived)';
    case 5:
      return '5 (least deprived)';
    default:
      return String(quintile);
  }
}
