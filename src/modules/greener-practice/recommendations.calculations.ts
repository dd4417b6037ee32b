import {
  allActions,
  isRequiredFor,
  type AwardLevel,
  type Framework,
  type FrameworkAction,
  type ImpactBand,
  type Responses,
} from './framework.calculations.ts';

/**
 * Recommended next actions for a practice, ranked by expected impact. Each action's impact band
 * (the framework's judgement) gives a weight; an action linked to an inhaler measure is weighted
 * up or down by where the practice stands on that measure nationally, so a practice with a high
 * share of metered-dose inhalers sees the inhaler review first and one with a low share does not.
 */

export const impactWeights: Record<ImpactBand, number> = {
  low: 1,
  medium: 2,
  high: 3,
  'very-high': 4,
};

/** Where the practice stands on one measure in its latest month. */
export interface MeasureStanding {
  value: number | null;
  /** National decile among practices, 1 = the lowest values. */
  decile: number | null;
  /** True when lower values are better (most inhaler measures). */
  lowIsGood: boolean;
}

export interface RecommendationInput {
  framework: Framework;
  responses: Responses;
  /** Latest standing by measure id; a measure without data is absent. */
  measures: ReadonlyMap<string, MeasureStanding>;
  /** The yearly saving of moving half of the MDIs to lower-carbon devices, when known. */
  inhalerSwitchSavingTonnes: number | null;
  /** The level the practice works towards next, for the "required" tag. */
  nextLevel: AwardLevel | null;
}

export interface Recommendation {
  action: FrameworkAction;
  score: number;
  /** The multiplier applied for the practice's data (1 when the action has no measure or no data). */
  dataMultiplier: number;
  measure: (MeasureStanding & { id: string }) | null;
  savingTonnesCo2ePerYear: number | null;
  requiredForNextLevel: boolean;
}

/**
 * How much a measure standing raises or lowers an action: 0.7 for the best decile up to 2.5 for
 * the worst, and 1 when there is no decile to go by.
 */
export function dataMultiplier(standing: MeasureStanding | undefined): number {
  if (!standing || standing.decile === null) return 1;
  const decile = Math.min(10, Math.max(1, Math.round(standing.decile)));
  const badness = standing.lowIsGood ? decile : 11 - decile;
  return 0.5 + badness / 5;
}

/** Every action not done and not ruled out, highest expected impact first. */
export function recommendActions(input: RecommendationInput): Recommendation[] {
  const recommendations: Recommendation[] = [];
  for (const action of allActions(input.framework)) {
    const status = input.responses.get(action.code)?.status ?? 'not_started';
    if (status === 'done' || status === 'not_applicable') continue;
    const standing = action.measure ? input.measures.get(action.measure) : undefined;
    const multiplier = dataMultiplier(standing);
    recommendations.push({
      action,
      score: impactWeights[action.impact] * multiplier,
      dataMultiplier: multiplier,
      measure: action.measure && standing ? { id: action.measure, ...standing } : null,
      savingTonnesCo2ePerYear:
        action.saving === 'inhaler-switch' ? input.inhalerSwitchSavingTonnes : null,
      requiredForNextLevel: input.nextLevel !== null && isRequiredFor(action, input.nextLevel),
    });
  }
  return recommendations.sort(
    (a, b) =>
      b.score - a.score ||
      b.action.points - a.action.points ||
      a.action.code.localeCompare(b.action.code),
  );
}
