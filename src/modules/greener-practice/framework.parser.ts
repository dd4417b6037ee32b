import type { InputProblem } from '../../lib/csv.ts';
import { JsonSyntaxError, parseJsonWithLines, type JsonValue } from '../../lib/json-with-lines.ts';
import { nationalAreasOfFocus } from '../areas-of-focus/area-of-focus.data.ts';
import { measureIds } from '../prescribing/measures.calculations.ts';
import {
  awardLevels,
  impactBands,
  isAwardLevel,
  isProgrammeYear,
  isRequiredFor,
  savingEstimates,
  totalPoints,
  type Framework,
  type FrameworkAction,
  type FrameworkLevel,
  type FrameworkTheme,
  type ImpactBand,
  type SavingEstimate,
} from './framework.calculations.ts';

/**
 * Reads a framework file (JSON) and checks every part of it. Every problem is reported, each with
 * the file, the line and the field, so whoever edits the file can fix them all at once; a file
 * with any problem is refused whole.
 */

export type FrameworkParseResult =
  { ok: true; framework: Framework } | { ok: false; problems: InputProblem[] };

export const MAX_FRAMEWORK_ACTIONS = 200;
const codePattern = /^[A-Z]{2,3}-\d{2}$/;
const idPattern = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const areaSlugs = new Set(nationalAreasOfFocus.map((area) => area.slug));

type Path = (string | number)[];

function fieldName(path: Path): string {
  return path
    .map((segment, index) =>
      typeof segment === 'number' ? `[${segment}]` : index === 0 ? segment : `.${segment}`,
    )
    .join('');
}

function isRecord(value: JsonValue | undefined): value is { [key: string]: JsonValue } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function parseFramework(text: string, fileName: string): FrameworkParseResult {
  let parsed: ReturnType<typeof parseJsonWithLines>;
  try {
    parsed = parseJsonWithLines(text);
  } catch (error) {
    if (error instanceof JsonSyntaxError)
      return {
        ok: false,
        problems: [
          {
            file: fileName,
            line: error.line,
            message: `not valid JSON: ${error.message.replace(/ \(line \d+, column \d+\)$/, '')} at column ${error.column}`,
          },
        ],
      };
    throw error;
  }
  const problems: InputProblem[] = [];
  const problem = (path: Path, message: string) =>
    problems.push({ file: fileName, line: parsed.lineOf(path), field: fieldName(path), message });

  function unknownFields(value: { [key: string]: JsonValue }, path: Path, known: string[]) {
    for (const key of Object.keys(value))
      if (!known.includes(key))
        problem(
          [...path, key],
          `is not a field of the framework (expected one of: ${known.join(', ')})`,
        );
  }

  function text_(
    record: { [key: string]: JsonValue },
    path: Path,
    key: string,
    options: { required?: boolean; max: number },
  ): string {
    const value = record[key];
    if (value === undefined || value === null || value === '') {
      if (options.required ?? true) problem([...path, key], 'is missing: enter some text');
      return '';
    }
    if (typeof value !== 'string') {
      problem([...path, key], 'must be text in double quotes');
      return '';
    }
    const trimmed = value.trim();
    if (trimmed === '' && (options.required ?? true)) problem([...path, key], 'is blank');
    if (trimmed.length > options.max)
      problem(
        [...path, key],
        `must be at most ${options.max} characters (it has ${trimmed.length})`,
      );
    return trimmed;
  }

  function wholeNumber(
    record: { [key: string]: JsonValue },
    path: Path,
    key: string,
    min: number,
    max: number,
  ): number {
    const value = record[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      problem(
        [...path, key],
        value === undefined
          ? `is missing: enter a whole number from ${min} to ${max}`
          : `must be a whole number from ${min} to ${max} (it is ${JSON.stringify(value)})`,
      );
      return 0;
    }
    return value;
  }

  function choice<T extends string>(
    record: { [key: string]: JsonValue },
    path: Path,
    key: string,
    choices: readonly T[],
    options: { nullable: boolean },
  ): T | null {
    const value = record[key];
    if ((value === undefined || value === null) && options.nullable) return null;
    if (typeof value === 'string' && (choices as readonly string[]).includes(value))
      return value as T;
    problem(
      [...path, key],
      `must be ${options.nullable ? 'null or ' : ''}one of: ${choices.join(', ')}${value === undefined ? '' : ` (it is ${JSON.stringify(value)})`}`,
    );
    return null;
  }

  const root = parsed.value;
  if (!isRecord(root)) {
    problems.push({ file: fileName, line: 1, message: 'must be a JSON object ({ … })' });
    return { ok: false, problems };
  }
  unknownFields(root, [], ['programmeYear', 'title', 'basis', 'levels', 'themes']);
  const programmeYear = text_(root, [], 'programmeYear', { max: 7 });
  if (programmeYear !== '' && !isProgrammeYear(programmeYear))
    problem(
      ['programmeYear'],
      `must be a financial year such as 2026-27 (it is "${programmeYear}")`,
    );
  const title = text_(root, [], 'title', { max: 200 });
  const basis = text_(root, [], 'basis', { max: 2000 });

  const levels: FrameworkLevel[] = [];
  const levelsValue = root.levels;
  if (!Array.isArray(levelsValue) || levelsValue.length !== awardLevels.length) {
    problem(
      ['levels'],
      `must list the ${awardLevels.length} levels ${awardLevels.join(', ')}, in that order`,
    );
  } else {
    levelsValue.forEach((entry, index) => {
      const path: Path = ['levels', index];
      if (!isRecord(entry)) {
        problem(path, 'must be an object with id, name and minimumPoints');
        return;
      }
      unknownFields(entry, path, ['id', 'name', 'minimumPoints', 'description']);
      const expected = awardLevels[index]!;
      if (entry.id !== expected)
        problem(
          [...path, 'id'],
          `must be "${expected}": the levels are ${awardLevels.join(', ')}, in that order`,
        );
      const name = text_(entry, path, 'name', { max: 40 });
      const minimumPoints = wholeNumber(entry, path, 'minimumPoints', 1, 10_000);
      const description = text_(entry, path, 'description', { required: false, max: 1000 });
      const previous = levels[levels.length - 1];
      if (previous && minimumPoints > 0 && minimumPoints <= previous.minimumPoints)
        problem(
          [...path, 'minimumPoints'],
          `must be more than the ${previous.name} level's ${previous.minimumPoints} points`,
        );
      levels.push({ id: expected, name, minimumPoints, description });
    });
  }

  const themes: FrameworkTheme[] = [];
  const themeIds = new Set<string>();
  const codes = new Set<string>();
  const themesValue = root.themes;
  if (!Array.isArray(themesValue) || themesValue.length === 0) {
    problem(['themes'], 'must be a list of at least one theme');
  } else {
    themesValue.forEach((entry, themeIndex) => {
      const path: Path = ['themes', themeIndex];
      if (!isRecord(entry)) {
        problem(path, 'must be an object with id, name and actions');
        return;
      }
      unknownFields(entry, path, ['id', 'name', 'summary', 'actions']);
      const id = text_(entry, path, 'id', { max: 60 });
      if (id !== '' && !idPattern.test(id))
        problem([...path, 'id'], 'must be lower-case letters and digits separated by hyphens');
      else if (id !== '' && themeIds.has(id))
        problem([...path, 'id'], `"${id}" is used by an earlier theme`);
      themeIds.add(id);
      const theme: FrameworkTheme = {
        id,
        name: text_(entry, path, 'name', { max: 120 }),
        summary: text_(entry, path, 'summary', { required: false, max: 1000 }),
        actions: [],
      };
      const actionsValue = entry.actions;
      if (!Array.isArray(actionsValue) || actionsValue.length === 0) {
        problem([...path, 'actions'], 'must be a list of at least one action');
      } else {
        actionsValue.forEach((actionEntry, actionIndex) => {
          const actionPath: Path = [...path, 'actions', actionIndex];
          const action = readAction(actionEntry, actionPath, id);
          if (action) theme.actions.push(action);
        });
      }
      themes.push(theme);
    });
  }

  function readAction(entry: JsonValue, path: Path, themeId: string): FrameworkAction | null {
    if (!isRecord(entry)) {
      problem(path, 'must be an object with code, title, points and the rest');
      return null;
    }
    unknownFields(entry, path, [
      'code',
      'title',
      'description',
      'whyItMatters',
      'howToEvidence',
      'points',
      'requiredFor',
      'impact',
      'areaOfFocus',
      'caseStudyTag',
      'measure',
      'saving',
    ]);
    const code = text_(entry, path, 'code', { max: 6 });
    if (code !== '' && !codePattern.test(code))
      problem(
        [...path, 'code'],
        `must be two or three capital letters, a hyphen and two digits, such as MI-02 (it is "${code}")`,
      );
    else if (code !== '' && codes.has(code))
      problem([...path, 'code'], `"${code}" is used by an earlier action`);
    codes.add(code);
    const areaOfFocus = text_(entry, path, 'areaOfFocus', { required: false, max: 80 });
    if (areaOfFocus !== '' && !areaSlugs.has(areaOfFocus))
      problem(
        [...path, 'areaOfFocus'],
        `must be one of the national areas of focus: ${[...areaSlugs].join(', ')} (it is "${areaOfFocus}")`,
      );
    const caseStudyTag = text_(entry, path, 'caseStudyTag', { required: false, max: 60 });
    const measure = choice(entry, path, 'measure', measureIds, { nullable: true });
    const saving = choice<SavingEstimate>(entry, path, 'saving', savingEstimates, {
      nullable: true,
    });
    if (saving === 'inhaler-switch' && measure !== 'mdi-share-non-salbutamol')
      problem(
        [...path, 'saving'],
        'the inhaler-switch saving goes with the measure "mdi-share-non-salbutamol"',
      );
    const requiredFor = choice(entry, path, 'requiredFor', awardLevels, { nullable: true });
    return {
      code,
      themeId,
      title: text_(entry, path, 'title', { max: 200 }),
      description: text_(entry, path, 'description', { max: 2000 }),
      whyItMatters: text_(entry, path, 'whyItMatters', { max: 2000 }),
      howToEvidence: text_(entry, path, 'howToEvidence', { max: 2000 }),
      points: wholeNumber(entry, path, 'points', 1, 100),
      requiredFor: requiredFor !== null && isAwardLevel(requiredFor) ? requiredFor : null,
      impact: (choice(entry, path, 'impact', impactBands, { nullable: false }) ??
        'low') as ImpactBand,
      areaOfFocus: areaOfFocus === '' ? null : areaOfFocus,
      caseStudyTag: caseStudyTag === '' ? null : caseStudyTag.toLowerCase(),
      measure,
      saving,
    };
  }

  if (problems.length > 0) return { ok: false, problems };

  const framework: Framework = { programmeYear, title, basis, levels, themes };
  const actionCount = themes.reduce((sum, theme) => sum + theme.actions.length, 0);
  if (actionCount > MAX_FRAMEWORK_ACTIONS)
    problem(
      ['themes'],
      `has ${actionCount} actions; the most a framework may have is ${MAX_FRAMEWORK_ACTIONS}`,
    );
  // Every level must be reachable: enough points in all, and its required actions within reach.
  const available = totalPoints(framework);
  for (const [index, level] of levels.entries()) {
    if (level.minimumPoints > available)
      problem(
        ['levels', index, 'minimumPoints'],
        `${level.name} needs ${level.minimumPoints} points but the actions are worth ${available} in all`,
      );
  }
  const gold = levels[levels.length - 1]!;
  const required = themes
    .flatMap((theme) => theme.actions)
    .filter((action) => isRequiredFor(action, gold.id));
  if (levels[0] && required.filter((action) => isRequiredFor(action, levels[0]!.id)).length === 0)
    problem(['levels', 0], `at least one action must be required for ${levels[0].name}`);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, framework };
}

/**
 * The framework as a file: the same JSON shape the parser reads, indented, fields in a fixed
 * order, so a version can be downloaded, edited and uploaded again.
 */
export function serialiseFramework(framework: Framework): string {
  const document = {
    programmeYear: framework.programmeYear,
    title: framework.title,
    basis: framework.basis,
    levels: framework.levels.map((level) => ({
      id: level.id,
      name: level.name,
      minimumPoints: level.minimumPoints,
      ...(level.description ? { description: level.description } : {}),
    })),
    themes: framework.themes.map((theme) => ({
      id: theme.id,
      name: theme.name,
      ...(theme.summary ? { summary: theme.summary } : {}),
      actions: theme.actions.map((action) => ({
        code: action.code,
        title: action.title,
        description: action.description,
        whyItMatters: action.whyItMatters,
        howToEvidence: action.howToEvidence,
        points: action.points,
        requiredFor: action.requiredFor,
        impact: action.impact,
        ...(action.areaOfFocus ? { areaOfFocus: action.areaOfFocus } : {}),
        ...(action.caseStudyTag ? { caseStudyTag: action.caseStudyTag } : {}),
        ...(action.measure ? { measure: action.measure } : {}),
        ...(action.saving ? { saving: action.saving } : {}),
      })),
    })),
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}
