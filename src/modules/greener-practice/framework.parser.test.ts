import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allActions } from './framework.calculations.ts';
import { parseFramework, serialiseFramework } from './framework.parser.ts';
import {
  arbitraryFramework,
  buildFramework,
  loadShippedFramework,
} from './framework.test-helpers.ts';

function problemsOf(text: string) {
  const result = parseFramework(text, 'framework.json');
  if (result.ok) throw new Error('expected the file to be refused');
  return result.problems;
}

/** The framework file's JSON, loosely typed so that tests can break it. */
interface EditableFramework {
  programmeYear: string;
  levels: Record<string, unknown>[];
  themes: { actions: Record<string, unknown>[] }[];
}

/** The shipped file with one change made through a function of its parsed JSON. */
function shippedWith(change: (document: EditableFramework) => void): string {
  const document = JSON.parse(loadShippedFramework().text) as EditableFramework;
  change(document);
  return JSON.stringify(document, null, 2);
}

function lineOf(text: string, fragment: string): number {
  const index = text.indexOf(fragment);
  if (index < 0) throw new Error(`"${fragment}" is not in the text`);
  return text.slice(0, index).split('\n').length;
}

describe('parseFramework', () => {
  it('reads the shipped file, and writes it back byte for byte', () => {
    const { text, framework } = loadShippedFramework();
    expect(framework.programmeYear).toBe('2026-27');
    expect(serialiseFramework(framework)).toBe(text);
  });

  it('property: what it writes it reads back unchanged', () => {
    fc.assert(
      fc.property(arbitraryFramework, (framework) => {
        fc.pre(allActions(framework).some((action) => action.requiredFor === 'bronze'));
        const result = parseFramework(serialiseFramework(framework), 'generated.json');
        expect(result).toEqual({ ok: true, framework });
      }),
    );
  });

  it('names the line and field of a bad value deep in the file', () => {
    const text = shippedWith((document) => {
      document.themes[4]!.actions[1]!.points = 'twenty';
    });
    const problems = problemsOf(text);
    expect(problems).toEqual([
      {
        file: 'framework.json',
        line: lineOf(text, '"points": "twenty"'),
        field: 'themes[4].actions[1].points',
        message: 'must be a whole number from 1 to 100 (it is "twenty")',
      },
    ]);
  });

  it('reports every problem at once, each with its line', () => {
    const text = shippedWith((document) => {
      document.programmeYear = '2026-28';
      document.levels[1]!.minimumPoints = 10;
      document.themes[0]!.actions[1]!.code = 'LE-01';
      document.themes[0]!.actions[2]!.impact = 'huge';
      document.themes[1]!.actions[0]!.requiredFor = 'platinum';
      document.themes[2]!.actions[0]!.areaOfFocus = 'nowhere';
      document.themes[3]!.actions[0]!.colour = 'green';
      delete document.themes[5]!.actions[0]!.title;
    });
    const problems = problemsOf(text);
    expect(problems.map((problem) => problem.field)).toEqual([
      'programmeYear',
      'levels[1].minimumPoints',
      'themes[0].actions[1].code',
      'themes[0].actions[2].impact',
      'themes[1].actions[0].requiredFor',
      'themes[2].actions[0].areaOfFocus',
      'themes[3].actions[0].colour',
      'themes[5].actions[0].title',
    ]);
    expect(problems[0]!.line).toBe(lineOf(text, '"2026-28"'));
    expect(problems[2]!.message).toBe('"LE-01" is used by an earlier action');
    expect(problems[6]!.message).toContain('is not a field of the framework');
    expect(problems.every((problem) => problem.line! > 1)).toBe(true);
  });

  it('refuses a file that is not JSON, with the line and column', () => {
    const problems = problemsOf('{\n  "programmeYear": "2026-27",\n  "title": "x",,\n}');
    expect(problems).toHaveLength(1);
    expect(problems[0]!.line).toBe(3);
    expect(problems[0]!.message).toMatch(/^not valid JSON: .* at column 16$/);
  });

  it('refuses levels out of order, thresholds out of reach and a Bronze with nothing required', () => {
    const framework = buildFramework();
    framework.levels[2]!.minimumPoints = 1000;
    for (const action of allActions(framework)) action.requiredFor = null;
    const problems = problemsOf(serialiseFramework(framework));
    expect(problems.map((problem) => problem.message)).toEqual([
      'Gold needs 1000 points but the actions are worth 65 in all',
      'at least one action must be required for Bronze',
    ]);
    const swapped = problemsOf(
      serialiseFramework(buildFramework()).replace('"id": "bronze"', '"id": "gold"'),
    );
    expect(swapped[0]).toMatchObject({ field: 'levels[0].id', line: 7 });
  });

  it('refuses an inhaler-switch saving on any measure but the MDI share', () => {
    const text = shippedWith((document) => {
      document.themes[4]!.actions[0]!.saving = 'inhaler-switch';
    });
    expect(problemsOf(text)[0]!.message).toContain('goes with the measure');
  });

  it('refuses something that is not an object', () => {
    expect(problemsOf('[1, 2]')).toEqual([
      { file: 'framework.json', line: 1, message: 'must be a JSON object ({ … })' },
    ]);
  });
});
