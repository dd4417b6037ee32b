import { ukCalendarDate } from '../../lib/uk-time.ts';
import { NotFoundError } from '../../web/http-errors.ts';
import type {
  OrganisationService,
  PracticeProfileEntry,
} from '../organisations/organisation.service.ts';
import { LLR_ICB_CODE } from '../organisations/organisation.service.ts';
import type { PrescribingService } from '../prescribing/prescribing.service.ts';
import {
  measureDefinitions,
  measureIds,
  type MeasureId,
} from '../prescribing/measures.calculations.ts';
import {
  awardLevelLabels,
  awardLevels,
  isResponseStatus,
  levelRank,
  levelReached,
  pointsEarned,
  totalPoints,
  type ActionResponse,
  type AwardLevel,
} from './framework.calculations.ts';
import type { GreenerPracticeRepository } from './greener-practice.repository.ts';
import type { GreenerPracticeService } from './greener-practice.service.ts';
import type { MapMarkerCategory } from './programme-map.ts';
import {
  byDeprivationQuintile,
  leagueTable,
  progressMonths,
  pointsHistogram,
  progressByMonth,
  summariseParticipation,
  type InequalityResult,
  type ProgrammePractice,
} from './programme.calculations.ts';

/** The programme's view of one practice in one year, with its latest inhaler measures. */
export interface ProgrammeRow extends ProgrammePractice {
  pcnCode: string | null;
  pcnName: string | null;
  subIcbCode: string | null;
  subIcbName: string | null;
  registeredPatients: number | null;
  imd2019Score: number | null;
  imd2019Quintile: number | null;
  approxLatitude: number | null;
  approxLongitude: number | null;
  levelReached: AwardLevel | null;
  awardedAt: string | null;
  isExample: boolean;
  measures: Partial<
    Record<
      MeasureId,
      { value: number | null; decile: number | null; numerator: number; denominator: number | null }
    >
  >;
}

export type AreaKind = 'icb' | 'sub_icb_location' | 'pcn';

export interface ProgrammeArea {
  code: string;
  name: string;
  kind: AreaKind;
  kindLabel: string;
}

/** A measure the inequalities lens can show, and which way is better. */
export interface LensMeasure {
  id: 'participation' | 'award' | 'points' | MeasureId;
  title: string;
  unit: string;
  higherIsBetter: boolean;
  /** How the quintile figure is formed, for the page. */
  basis: string;
  /** Where the figure's rows and factors can be traced. */
  traceHref: string | null;
}

export const lensMeasures: LensMeasure[] = [
  {
    id: 'participation',
    title: 'Practices taking part',
    unit: '%',
    higherIsBetter: true,
    basis: 'share of practices with an assessment this programme year',
    traceHref: null,
  },
  {
    id: 'award',
    title: 'Practices with an award',
    unit: '%',
    higherIsBetter: true,
    basis: 'share of practices holding a Bronze, Silver or Gold award this programme year',
    traceHref: null,
  },
  {
    id: 'points',
    title: 'Points',
    unit: 'points per practice',
    higherIsBetter: true,
    basis: 'mean self-assessment points per practice, 0 for practices not taking part',
    traceHref: null,
  },
  ...measureIds.map((id): LensMeasure => ({
    id,
    title: measureDefinitions[id].title,
    unit: measureDefinitions[id].unit,
    higherIsBetter: !measureDefinitions[id].lowIsGood,
    basis:
      id === 'inhaler-kgco2e'
        ? 'mean per practice of the latest month held'
        : `${measureDefinitions[id].numerator} ÷ ${measureDefinitions[id].denominator}, summed over the quintile's practices, latest month held`,
    traceHref: `/prescribing/compare/pcn?measure=${id}`,
  })),
];

export function isLensMeasureId(value: string): value is LensMeasure['id'] {
  return lensMeasures.some((measure) => measure.id === value);
}

/** Reads a gap as words: which end is ahead, given which way is better. */
export function describeGap(measure: LensMeasure, gap: number | null): string {
  if (gap === null) return 'No gap can be given: one end has no data.';
  if (Math.abs(gap) < 1e-9) return 'No gap: the most and the least deprived practices are level.';
  const mostDeprivedBetter = measure.higherIsBetter ? gap > 0 : gap < 0;
  return mostDeprivedBetter
    ? 'The most deprived practices are ahead of the least deprived.'
    : 'The most deprived practices are behind the least deprived.';
}

export interface ProgrammeServiceDependencies {
  repository: GreenerPracticeRepository;
  core: GreenerPracticeService;
  organisations: OrganisationService;
  prescribing: PrescribingService;
  now?: () => Date;
}

/**
 * Programme dashboards for an ICB, a sub-ICB location or a PCN, the inequalities lens, exports
 * and the board summary. Everything here is aggregate programme data, public like the awards.
 */
export function createGreenerPracticeProgrammeService(deps: ProgrammeServiceDependencies) {
  const { repository, core } = deps;
  const now = deps.now ?? (() => new Date());

  async function llrPractices(): Promise<PracticeProfileEntry[]> {
    return deps.organisations.listPracticeProfilesUnder(LLR_ICB_CODE);
  }

  async function listAreas(): Promise<ProgrammeArea[]> {
    const practices = await llrPractices();
    const icb = await deps.organisations.findOrganisationSummary(LLR_ICB_CODE);
    const areas: ProgrammeArea[] = icb
      ? [{ code: icb.code, name: icb.name, kind: 'icb', kindLabel: 'ICB' }]
      : [];
    const subIcbs = new Map<string, string>();
    const pcns = new Map<string, string>();
    for (const practice of practices) {
      if (practice.subIcbCode)
        subIcbs.set(practice.subIcbCode, practice.subIcbName ?? practice.subIcbCode);
      if (practice.pcnCode) pcns.set(practice.pcnCode, practice.pcnName ?? practice.pcnCode);
    }
    for (const [code, name] of [...subIcbs].sort((a, b) => a[1].localeCompare(b[1])))
      areas.push({ code, name, kind: 'sub_icb_location', kindLabel: 'Sub-ICB location' });
    for (const [code, name] of [...pcns].sort((a, b) => a[1].localeCompare(b[1])))
      areas.push({ code, name, kind: 'pcn', kindLabel: 'PCN' });
    return areas;
  }

  async function resolveArea(code: string | undefined) {
    const areas = await listAreas();
    const area = areas.find((candidate) => candidate.code === (code ?? LLR_ICB_CODE));
    if (!area) throw new NotFoundError('The programme has no area with that code.');
    const practices = (await llrPractices()).filter((practice) =>
      area.kind === 'icb'
        ? true
        : area.kind === 'sub_icb_location'
          ? practice.subIcbCode === area.code
          : practice.pcnCode === area.code,
    );
    return { area, areas, practices };
  }

  async function resolveYear(programmeYear: string | undefined) {
    const years = await repository.listProgrammeYears();
    const year = programmeYear ?? (await core.openYear());
    if (!year || !years.includes(year))
      throw new NotFoundError('The programme has no framework for that year.');
    return { year, years };
  }

  /** Latest-month inhaler measures of every practice, by measure and practice code. */
  async function latestMeasures() {
    const months = await deps.prescribing.listMonths();
    const month = months.at(-1) ?? null;
    const byMeasure = new Map<MeasureId, Map<string, ProgrammeRow['measures'][MeasureId]>>();
    if (month)
      for (const measureId of measureIds) {
        const rows = await deps.prescribing.exportMeasure({ measureId, level: 'practice', month });
        byMeasure.set(
          measureId,
          new Map(
            rows.map((row) => [
              row.code,
              {
                value: row.value,
                decile: row.decile,
                numerator: row.numerator,
                denominator: row.denominator,
              },
            ]),
          ),
        );
      }
    return { month, byMeasure };
  }

  async function buildRows(
    practices: PracticeProfileEntry[],
    year: string,
    options: { withMeasures?: boolean } = {},
  ) {
    const frameworkEntry = await core.frameworkForYear(year);
    const framework = frameworkEntry!.framework;
    const [assessments, responseRows, evidenceCounts, awards, measures] = await Promise.all([
      repository.listAssessments(year),
      repository.findResponsesOfYear(year),
      repository.countEvidenceOfYear(year),
      repository.listAwards({ programmeYear: year }),
      options.withMeasures === false
        ? {
            month: null,
            byMeasure: new Map<MeasureId, Map<string, ProgrammeRow['measures'][MeasureId]>>(),
          }
        : latestMeasures(),
    ]);
    const evidence = new Map(
      evidenceCounts.map((row) => [`${row.assessment_id}|${row.action_code}`, row.files]),
    );
    const responsesByAssessment = new Map<string, Map<string, ActionResponse>>();
    for (const row of responseRows) {
      const map = responsesByAssessment.get(row.assessment_id) ?? new Map();
      map.set(row.action_code, {
        status: isResponseStatus(row.status) ? row.status : 'not_started',
        note: row.note,
        notApplicableReason: row.not_applicable_reason,
        evidenceFiles: evidence.get(`${row.assessment_id}|${row.action_code}`) ?? 0,
      });
      responsesByAssessment.set(row.assessment_id, map);
    }
    const assessmentByPractice = new Map(assessments.map((row) => [row.practice_code, row]));
    const bestAward = new Map<string, (typeof awards)[number]>();
    for (const award of awards) {
      const held = bestAward.get(award.practice_code);
      if (!held || levelRank(award.level) > levelRank(held.level))
        bestAward.set(award.practice_code, award);
    }
    const rows: ProgrammeRow[] = practices.map((practice) => {
      const assessment = assessmentByPractice.get(practice.code);
      const responses = assessment
        ? (responsesByAssessment.get(assessment.id) ?? new Map<string, ActionResponse>())
        : new Map<string, ActionResponse>();
      const award = bestAward.get(practice.code);
      const practiceMeasures: ProgrammeRow['measures'] = {};
      for (const [measureId, values] of measures.byMeasure) {
        const value = values.get(practice.code);
        if (value) practiceMeasures[measureId] = value;
      }
      return {
        code: practice.code,
        name: practice.name,
        participating: assessment !== undefined,
        status: assessment?.status ?? 'not_started',
        points: assessment ? pointsEarned(framework, responses) : 0,
        award: award?.level ?? null,
        pcnCode: practice.pcnCode,
        pcnName: practice.pcnName,
        subIcbCode: practice.subIcbCode,
        subIcbName: practice.subIcbName,
        registeredPatients: practice.registeredPatients,
        imd2019Score: practice.imd2019Score,
        imd2019Quintile: practice.imd2019Quintile,
        approxLatitude: practice.approxLatitude,
        approxLongitude: practice.approxLongitude,
        levelReached: assessment ? levelReached(framework, responses) : null,
        awardedAt: award?.awarded_at ?? null,
        isExample: assessment?.is_example === 1,
        measures: practiceMeasures,
      };
    });
    return {
      rows,
      framework,
      frameworkVersion: frameworkEntry!.version,
      measuresMonth: measures.month,
      awards,
    };
  }

  function inequalities(rows: ProgrammeRow[]) {
    return lensMeasures.map((measure) => {
      let result: InequalityResult;
      if (measure.id === 'participation')
        result = byDeprivationQuintile(
          rows.map((row) => ({
            quintile: row.imd2019Quintile,
            numerator: row.participating ? 1 : 0,
            denominator: 1,
          })),
          100,
        );
      else if (measure.id === 'award')
        result = byDeprivationQuintile(
          rows.map((row) => ({
            quintile: row.imd2019Quintile,
            numerator: row.award ? 1 : 0,
            denominator: 1,
          })),
          100,
        );
      else if (measure.id === 'points')
        result = byDeprivationQuintile(
          rows.map((row) => ({
            quintile: row.imd2019Quintile,
            numerator: row.points,
            denominator: 1,
          })),
        );
      else {
        const definition = measureDefinitions[measure.id];
        result = byDeprivationQuintile(
          rows.flatMap((row) => {
            const value = row.measures[measure.id as MeasureId];
            if (!value) return [];
            return [
              {
                quintile: row.imd2019Quintile,
                numerator: value.numerator,
                denominator: value.denominator ?? 0,
              },
            ];
          }),
          definition.scale,
        );
      }
      return { measure, result, reading: describeGap(measure, result.gap) };
    });
  }

  function markerCategory(row: ProgrammeRow): MapMarkerCategory {
    if (row.award) return row.award;
    return row.participating ? 'taking-part' : 'not-started';
  }

  const service = {
    listAreas,
    lensMeasures,

    /**
     * A programme dashboard: participation, awards by level, the points distribution, progress
     * month by month, the league table, the area's parts (sub-ICB locations or PCNs), and what
     * the map and its table need.
     */
    async getProgramme(areaCode: string | undefined, programmeYear: string | undefined) {
      const { area, areas, practices } = await resolveArea(areaCode);
      const { year, years } = await resolveYear(programmeYear);
      const { rows, framework, measuresMonth } = await buildRows(practices, year);
      const codes = new Set(rows.map((row) => row.code));
      const summary = summariseParticipation(rows);
      const histogram = pointsHistogram(
        rows.filter((row) => row.participating).map((row) => row.points),
        50,
        totalPoints(framework),
      );
      const thisMonth = ukCalendarDate(now()).slice(0, 7);
      const events = (await repository.findEventsOfYear(year)).filter((event) =>
        codes.has(event.practice_code),
      );
      const awards = (await repository.listAwards({ programmeYear: year })).filter((award) =>
        codes.has(award.practice_code),
      );
      const latestActivity = [
        ...events.map((event) => event.occurred_at),
        ...awards.map((award) => award.awarded_at),
      ].reduce<string | null>((latest, at) => (latest === null || at > latest ? at : latest), null);
      const progress = progressByMonth(
        progressMonths(
          year,
          thisMonth,
          latestActivity === null ? null : ukCalendarDate(latestActivity).slice(0, 7),
        ),
        events.map((event) => ({
          assessmentId: event.assessment_id,
          occurredAt: event.occurred_at,
          points: event.points,
        })),
        awards.map((award) => ({
          practiceCode: award.practice_code,
          level: award.level,
          awardedAt: award.awarded_at,
        })),
      );
      const partKey =
        area.kind === 'icb' ? 'subIcb' : area.kind === 'sub_icb_location' ? 'pcn' : null;
      const parts = new Map<string, { code: string; name: string; rows: ProgrammeRow[] }>();
      if (partKey)
        for (const row of rows) {
          const code = partKey === 'subIcb' ? row.subIcbCode : row.pcnCode;
          const name = partKey === 'subIcb' ? row.subIcbName : row.pcnName;
          const key = code ?? '-';
          const entry = parts.get(key) ?? { code: key, name: name ?? 'No PCN', rows: [] };
          entry.rows.push(row);
          parts.set(key, entry);
        }
      return {
        area,
        areas,
        programmeYear: year,
        years,
        framework,
        totalPoints: totalPoints(framework),
        measuresMonth,
        rows,
        summary,
        histogram,
        progress,
        league: leagueTable(rows.filter((row) => row.participating)),
        parts: [...parts.values()]
          .map((part) => ({
            code: part.code,
            name: part.name,
            summary: summariseParticipation(part.rows),
          }))
          .sort((a, b) => a.name.localeCompare(b.name)),
        partLabel: partKey === 'subIcb' ? 'Sub-ICB location' : partKey === 'pcn' ? 'PCN' : null,
        markers: rows
          .filter((row) => row.approxLatitude !== null && row.approxLongitude !== null)
          .map((row) => ({
            code: row.code,
            name: row.name,
            latitude: row.approxLatitude!,
            longitude: row.approxLongitude!,
            category: markerCategory(row),
          })),
        unlocated: rows.filter(
          (row) => row.approxLatitude === null || row.approxLongitude === null,
        ),
        hasExamples: rows.some((row) => row.isExample),
        inequalities: inequalities(rows),
      };
    },

    /** Every practice measure by IMD quintile, with the gap, for an area and year. */
    async getInequalities(areaCode: string | undefined, programmeYear: string | undefined) {
      const { area, areas, practices } = await resolveArea(areaCode);
      const { year, years } = await resolveYear(programmeYear);
      const { rows, measuresMonth } = await buildRows(practices, year);
      return {
        area,
        areas,
        programmeYear: year,
        years,
        measuresMonth,
        practices: rows.length,
        hasExamples: rows.some((row) => row.isExample),
        lens: inequalities(rows),
      };
    },

    /** The rows of the programme export, one per practice. */
    async exportProgramme(areaCode: string | undefined, programmeYear: string | undefined) {
      const { area, practices } = await resolveArea(areaCode);
      const { year } = await resolveYear(programmeYear);
      const { rows, measuresMonth, frameworkVersion } = await buildRows(practices, year);
      return { area, programmeYear: year, rows, measuresMonth, frameworkVersion };
    },

    /** The programme summary for the ICS board: the ICB's figures, its parts and every gap. */
    async getBoardSummary(programmeYear: string | undefined) {
      const programme = await service.getProgramme(LLR_ICB_CODE, programmeYear);
      const awardsByLevel = awardLevels.map((level) => ({
        level,
        label: awardLevelLabels[level],
        practices: programme.summary.awardsByLevel[level],
      }));
      return { ...programme, awardsByLevel, generatedAt: now().toISOString() };
    },

    /** Participation and awards of the ICB in a year, without the inhaler measures: for the home page. */
    async getOverview(programmeYear: string) {
      const { practices } = await resolveArea(LLR_ICB_CODE);
      const { rows } = await buildRows(practices, programmeYear, { withMeasures: false });
      return {
        summary: summariseParticipation(rows),
        hasExamples: rows.some((row) => row.isExample),
      };
    },
  };
  return service;
}

export type GreenerPracticeProgrammeService = ReturnType<
  typeof createGreenerPracticeProgrammeService
>;
