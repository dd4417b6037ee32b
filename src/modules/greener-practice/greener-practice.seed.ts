import type { ContentSeed, SeedOptions } from '../../seeds.ts';
import type { Services } from '../../services.ts';
import { LLR_ICB_CODE } from '../organisations/organisation.service.ts';
import {
  allActions,
  isRequiredFor,
  levelRank,
  programmeYearBounds,
  type AwardLevel,
  type Framework,
  type ResponseStatus,
} from './framework.calculations.ts';

/**
 * The Greener General Practice seed: the shipped framework (reference data, not an example), then
 * example assessments for about a third of LLR's practices so that programme dashboards, the map,
 * the league table and the inequalities lens have something to show. Every example assessment and
 * award is marked as example content and labelled so wherever it appears. The examples are every
 * third practice in order of deprivation, so they spread across the quintiles; the first practices
 * in code order are left alone, for people (and tests) to start their own.
 */

const RESERVED_PRACTICES = 12;

type ExampleKind = AwardLevel | 'submitted' | 'in-progress';

/** A small deterministic generator, so the seed writes the same examples every time. */
function generator(seed: number) {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4_294_967_296;
  };
}

function kindFor(index: number): ExampleKind {
  const cycle: ExampleKind[] = [
    'in-progress',
    'bronze',
    'in-progress',
    'silver',
    'in-progress',
    'bronze',
    'submitted',
    'in-progress',
    'gold',
    'bronze',
    'in-progress',
    'silver',
    'in-progress',
  ];
  return cycle[index % cycle.length]!;
}

/** Which actions an example practice has done: the required ones for its level, then others. */
export function exampleAnswers(
  framework: Framework,
  kind: ExampleKind,
  random: () => number,
): { code: string; status: ResponseStatus }[] {
  const actions = allActions(framework);
  const target = kind === 'in-progress' ? null : kind === 'submitted' ? ('bronze' as const) : kind;
  const threshold = target
    ? framework.levels.find((level) => level.id === target)!.minimumPoints
    : Math.floor(random() * framework.levels[0]!.minimumPoints * 1.5);
  const done = new Set<string>();
  let points = 0;
  if (target)
    for (const action of actions)
      if (isRequiredFor(action, target)) {
        done.add(action.code);
        points += action.points;
      }
  const others = actions
    .filter((action) => !done.has(action.code))
    .map((action) => ({ action, order: random() }))
    .sort((a, b) => a.order - b.order);
  const margin = target ? Math.floor(random() * 30) : 0;
  for (const { action } of others) {
    if (points >= threshold + margin) break;
    // Never finish a higher level's required actions by chance: the level is the one intended.
    if (target && action.requiredFor && levelRank(action.requiredFor) > levelRank(target)) continue;
    done.add(action.code);
    points += action.points;
  }
  const answers: { code: string; status: ResponseStatus }[] = [];
  for (const action of actions) {
    if (done.has(action.code)) answers.push({ code: action.code, status: 'done' });
    else if (random() < 0.12) answers.push({ code: action.code, status: 'in_progress' });
  }
  return answers;
}

export const greenerPracticeSeed: ContentSeed = {
  name: 'Greener General Practice',
  async run(services: Services, options: SeedOptions) {
    const service = services.greenerPractice;
    const frameworks = await service.seedFrameworks(services.config.referenceDataDir);
    let created = frameworks.created;
    let unchanged = frameworks.unchanged;
    const year = await service.openYear();
    const entry = year ? await service.frameworkForYear(year) : undefined;
    if (!year || !entry || !options.examples) return { created, unchanged };
    const framework = entry.framework;
    const profiles = await services.organisations.listPracticeProfilesUnder(LLR_ICB_CODE);
    const reserved = new Set(
      profiles
        .map((practice) => practice.code)
        .sort()
        .slice(0, RESERVED_PRACTICES),
    );
    // Every third practice in order of deprivation, so the examples spread across the quintiles.
    const practices = profiles
      .filter((practice) => !reserved.has(practice.code))
      .sort(
        (a, b) =>
          (a.imd2019Score ?? Infinity) - (b.imd2019Score ?? Infinity) ||
          a.code.localeCompare(b.code),
      )
      .map((practice) => practice.code);
    const { start, end } = programmeYearBounds(year);
    const startMs = Date.parse(`${start}T09:00:00Z`);
    const limitMs = Math.min(Date.parse(`${end}T17:00:00Z`), Date.now() - 86_400_000);
    if (limitMs <= startMs) return { created, unchanged };
    const at = (fraction: number) =>
      new Date(startMs + Math.max(0, Math.min(1, fraction)) * (limitMs - startMs)).toISOString();
    const chosen = practices.filter((_code, index) => index % 3 === 0);
    for (const [index, practiceCode] of chosen.entries()) {
      const random = generator(index * 7919 + 17);
      const kind = kindFor(index);
      const answers = exampleAnswers(framework, kind, random);
      const startedAt = 0.05 + random() * 0.35;
      const finishedAt = startedAt + 0.1 + random() * 0.3;
      const stamped = answers.map((answer, position) => ({
        ...answer,
        note:
          answer.status === 'done'
            ? 'Example answer loaded by the seed: not a real practice’s evidence.'
            : '',
        at: at(startedAt + ((finishedAt - startedAt) * (position + 1)) / (answers.length + 1)),
      }));
      const submittedAt = at(finishedAt + 0.02);
      const wrote = await service.seedExampleAssessment({
        practiceCode,
        programmeYear: year,
        startedAt: at(startedAt),
        answers: stamped,
        award:
          kind === 'bronze' || kind === 'silver' || kind === 'gold'
            ? { level: kind, submittedAt, awardedAt: at(finishedAt + 0.06 + random() * 0.1) }
            : undefined,
        submittedOnly: kind === 'submitted' ? { level: 'bronze', submittedAt } : undefined,
      });
      if (wrote) created += 1;
      else unchanged += 1;
    }
    return { created, unchanged };
  },
};
