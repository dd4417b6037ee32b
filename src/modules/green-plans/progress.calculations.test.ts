import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  actionStatuses,
  countByStatus,
  expectedValueOn,
  isActionOverdue,
  isIsoDate,
  isMilestoneOverdue,
  makeQuarter,
  overallProgress,
  parseQuarterKey,
  previousQuarter,
  quarterOf,
  quartersBetween,
  rollUpProgress,
  trajectoryPath,
  trajectoryStanding,
  valueAsOf,
  weightedMean,
  type ActionStatus,
  type ProgressNode,
} from './progress.calculations.ts';

function node(
  id: string,
  parentId: string | null,
  progressPercent: number,
  weight = 1,
  status: ActionStatus = 'on_track',
): ProgressNode {
  return { id, parentId, progressPercent, weight, status };
}

describe('weighted roll-up of progress', () => {
  it('gives a leaf its own progress', () => {
    expect(rollUpProgress([node('a', null, 40)]).get('a')).toBe(40);
  });

  it('gives a parent the weighted mean of its children, ignoring its own figure', () => {
    const result = rollUpProgress([
      node('p', null, 5),
      node('a', 'p', 100, 3),
      node('b', 'p', 0, 1),
    ]);
    expect(result.get('p')).toBe(75);
  });

  it('rolls up through several levels', () => {
    const result = rollUpProgress([
      node('root', null, 0),
      node('x', 'root', 0, 1),
      node('x1', 'x', 100, 1),
      node('x2', 'x', 50, 1),
      node('y', 'root', 20, 2),
    ]);
    expect(result.get('x')).toBe(75);
    expect(result.get('root')).toBeCloseTo((75 * 1 + 20 * 2) / 3, 10);
  });

  it('leaves cancelled children out, and keeps a parent’s own figure when all are cancelled', () => {
    const result = rollUpProgress([
      node('p', null, 10),
      node('a', 'p', 80, 1),
      node('b', 'p', 0, 5, 'cancelled'),
      node('q', null, 33),
      node('c', 'q', 90, 1, 'cancelled'),
    ]);
    expect(result.get('p')).toBe(80);
    expect(result.get('q')).toBe(33);
  });

  it('survives a cycle or a missing parent without looping', () => {
    const result = rollUpProgress([node('a', 'b', 10), node('b', 'a', 30), node('c', 'zz', 70)]);
    expect(result.get('c')).toBe(70);
    expect(result.size).toBe(3);
  });

  it('weights the plan’s overall progress by its top-level actions', () => {
    const nodes = [
      node('a', null, 100, 1),
      node('b', null, 0, 3),
      node('c', null, 50, 9, 'cancelled'),
    ];
    expect(overallProgress(nodes, rollUpProgress(nodes))).toBe(25);
    expect(overallProgress([], new Map())).toBe(0);
  });

  const percent = fc.integer({ min: 0, max: 100 });
  const weight = fc.double({ min: 0.01, max: 1000, noNaN: true });
  const status = fc.constantFrom(...actionStatuses);

  /** A random forest: each node's parent, if any, comes earlier in the list, so there is no cycle. */
  const forest = fc
    .array(fc.tuple(percent, weight, status, fc.nat()), { minLength: 1, maxLength: 40 })
    .map((specs) =>
      specs.map(([progress, w, s, parentPick], index): ProgressNode => {
        const parentIndex = index === 0 || parentPick % 3 === 0 ? null : parentPick % index;
        return node(`n${index}`, parentIndex === null ? null : `n${parentIndex}`, progress, w, s);
      }),
    );

  function childrenOf(nodes: ProgressNode[], id: string) {
    return nodes.filter(
      (candidate) => candidate.parentId === id && candidate.status !== 'cancelled',
    );
  }

  it('always lies between the least and the greatest of the counted children (property)', () => {
    fc.assert(
      fc.property(forest, (nodes) => {
        const result = rollUpProgress(nodes);
        for (const item of nodes) {
          const value = result.get(item.id)!;
          expect(value).toBeGreaterThanOrEqual(0);
          expect(value).toBeLessThanOrEqual(100);
          const counted = childrenOf(nodes, item.id).map((child) => result.get(child.id)!);
          if (counted.length === 0) {
            expect(value).toBe(item.progressPercent);
          } else {
            expect(value).toBeGreaterThanOrEqual(Math.min(...counted) - 1e-9);
            expect(value).toBeLessThanOrEqual(Math.max(...counted) + 1e-9);
          }
        }
      }),
    );
  });

  it('equals the plain mean when weights are equal, and ignores a common scale of weights (property)', () => {
    fc.assert(
      fc.property(
        fc.array(percent, { minLength: 1, maxLength: 30 }),
        fc.double({ min: 0.01, max: 100, noNaN: true }),
        (values, scale) => {
          const nodes = [
            node('p', null, 0),
            ...values.map((value, index) => node(`c${index}`, 'p', value, scale)),
          ];
          const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
          expect(rollUpProgress(nodes).get('p')).toBeCloseTo(mean, 9);
        },
      ),
    );
  });

  it('does not depend on the order of the actions (property)', () => {
    fc.assert(
      fc.property(
        forest.chain((nodes) =>
          fc.tuple(fc.constant(nodes), fc.shuffledSubarray(nodes, { minLength: nodes.length })),
        ),
        ([nodes, shuffled]) => {
          const a = rollUpProgress(nodes);
          const b = rollUpProgress(shuffled);
          for (const item of nodes) expect(b.get(item.id)).toBeCloseTo(a.get(item.id)!, 9);
        },
      ),
    );
  });

  it('never lowers a parent when a child moves forward (property)', () => {
    fc.assert(
      fc.property(forest, fc.nat(), fc.integer({ min: 0, max: 100 }), (nodes, pick, increase) => {
        const before = rollUpProgress(nodes);
        const index = pick % nodes.length;
        const changed = nodes.map((item, position) =>
          position === index
            ? { ...item, progressPercent: Math.min(100, item.progressPercent + increase) }
            : item,
        );
        const after = rollUpProgress(changed);
        for (const item of nodes)
          expect(after.get(item.id)!).toBeGreaterThanOrEqual(before.get(item.id)! - 1e-9);
      }),
    );
  });

  it('reaches 100 only when every counted leaf below is complete to 100 (property)', () => {
    fc.assert(
      fc.property(forest, (nodes) => {
        const allDone = nodes.map((item) => ({ ...item, progressPercent: 100 }));
        for (const value of rollUpProgress(allDone).values()) expect(value).toBeCloseTo(100, 9);
      }),
    );
  });

  it('weighted mean ignores items without weight', () => {
    expect(weightedMean([])).toBeUndefined();
    expect(weightedMean([{ value: 50, weight: 0 }])).toBeUndefined();
    expect(
      weightedMean([
        { value: 50, weight: 0 },
        { value: 10, weight: 2 },
      ]),
    ).toBe(10);
  });
});

describe('overdue', () => {
  it('is derived from the due date and the status', () => {
    expect(isActionOverdue({ dueDate: '2024-03-31', status: 'on_track' }, '2024-04-01')).toBe(true);
    expect(isActionOverdue({ dueDate: '2024-03-31', status: 'on_track' }, '2024-03-31')).toBe(
      false,
    );
    expect(isActionOverdue({ dueDate: '2024-03-31', status: 'complete' }, '2025-01-01')).toBe(
      false,
    );
    expect(isActionOverdue({ dueDate: '2024-03-31', status: 'cancelled' }, '2025-01-01')).toBe(
      false,
    );
    expect(isActionOverdue({ dueDate: null, status: 'off_track' }, '2025-01-01')).toBe(false);
    expect(isMilestoneOverdue({ dueDate: '2024-01-01', doneOn: null }, '2024-01-02')).toBe(true);
    expect(isMilestoneOverdue({ dueDate: '2024-01-01', doneOn: '2024-01-05' }, '2024-02-01')).toBe(
      false,
    );
  });

  it('counts every status', () => {
    const counts = countByStatus([
      { status: 'on_track' },
      { status: 'on_track' },
      { status: 'at_risk' },
    ]);
    expect(counts).toEqual({
      not_started: 0,
      on_track: 2,
      at_risk: 1,
      off_track: 0,
      complete: 0,
      cancelled: 0,
    });
  });
});

describe('dates', () => {
  it('accepts only real calendar dates', () => {
    expect(isIsoDate('2024-02-29')).toBe(true);
    expect(isIsoDate('2023-02-29')).toBe(false);
    expect(isIsoDate('2023-13-01')).toBe(false);
    expect(isIsoDate('31/03/2024')).toBe(false);
  });
});

describe('KPI trajectories', () => {
  const baseline = { date: '2020-01-01', value: 1000 };

  it('runs in straight lines from the baseline to each target in turn', () => {
    const path = trajectoryPath(baseline, [
      { date: '2040-01-01', value: 0 },
      { date: '2030-01-01', value: 200 },
      { date: '2019-01-01', value: 5 },
    ]);
    expect(path.map((point) => point.date)).toEqual(['2020-01-01', '2030-01-01', '2040-01-01']);
    expect(expectedValueOn(path, '2010-01-01')).toBe(1000);
    expect(expectedValueOn(path, '2030-01-01')).toBe(200);
    expect(expectedValueOn(path, '2035-01-01')).toBeCloseTo(100, 0);
    expect(expectedValueOn(path, '2050-01-01')).toBe(0);
  });

  it('stays between the values of the corners either side (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20_000 }),
        fc.integer({ min: 0, max: 30_000 }),
        fc.double({ min: -1e6, max: 1e6, noNaN: true }),
        fc.double({ min: -1e6, max: 1e6, noNaN: true }),
        (span, offset, from, to) => {
          const start = '2000-01-01';
          const path = trajectoryPath({ date: start, value: from }, [
            { date: new Date(Date.UTC(2000, 0, 1 + span)).toISOString().slice(0, 10), value: to },
          ]);
          const day = new Date(Date.UTC(2000, 0, 1 + offset)).toISOString().slice(0, 10);
          const value = expectedValueOn(path, day);
          expect(value).toBeGreaterThanOrEqual(Math.min(from, to) - 1e-6);
          expect(value).toBeLessThanOrEqual(Math.max(from, to) + 1e-6);
        },
      ),
    );
  });

  it('says whether the latest value is ahead of, on or behind the path', () => {
    const path = trajectoryPath(baseline, [{ date: '2030-01-01', value: 0 }]);
    expect(trajectoryStanding(path, { date: '2025-01-01', value: 400 }, 'decrease').standing).toBe(
      'ahead',
    );
    expect(trajectoryStanding(path, { date: '2025-01-01', value: 700 }, 'decrease').standing).toBe(
      'behind',
    );
    expect(trajectoryStanding(path, { date: '2025-01-01', value: 500 }, 'decrease').standing).toBe(
      'on_trajectory',
    );
    expect(trajectoryStanding(path, undefined, 'decrease').standing).toBe('no_data');
    const rising = trajectoryPath({ date: '2020-01-01', value: 10 }, [
      { date: '2030-01-01', value: 60 },
    ]);
    expect(trajectoryStanding(rising, { date: '2025-01-01', value: 50 }, 'increase').standing).toBe(
      'ahead',
    );
  });
});

describe('financial-year quarters', () => {
  it('starts the year in April', () => {
    expect(quarterOf('2023-07-15')).toMatchObject({
      key: '2023-24-q2',
      start: '2023-07-01',
      end: '2023-09-30',
      label: 'Q2 2023/24 (July to September 2023)',
    });
    expect(quarterOf('2024-02-29')).toMatchObject({
      key: '2023-24-q4',
      start: '2024-01-01',
      end: '2024-03-31',
    });
    expect(quarterOf('2024-04-01').key).toBe('2024-25-q1');
    expect(previousQuarter(makeQuarter(2024, 1)).key).toBe('2023-24-q4');
  });

  it('parses only well-formed keys', () => {
    expect(parseQuarterKey('2023-24-q2')?.start).toBe('2023-07-01');
    expect(parseQuarterKey('2023-25-q2')).toBeUndefined();
    expect(parseQuarterKey('2023-24-q5')).toBeUndefined();
  });

  it('refuses keys for years no plan has, and writes every year with four digits', () => {
    expect(parseQuarterKey('0999-00-q1')).toBeUndefined();
    expect(parseQuarterKey('0000-01-q1')).toBeUndefined();
    expect(parseQuarterKey('1999-00-q4')).toBeUndefined();
    expect(parseQuarterKey('2101-02-q1')).toBeUndefined();
    expect(parseQuarterKey('2000-01-q1')?.start).toBe('2000-04-01');
    expect(parseQuarterKey('2100-01-q4')?.end).toBe('2101-03-31');
    expect(makeQuarter(999, 1)).toMatchObject({
      key: '0999-00-q1',
      start: '0999-04-01',
      end: '0999-06-30',
    });
  });

  it('lists the quarters of a plan period', () => {
    const keys = quartersBetween('2022-07-01', '2025-07-31').map((quarter) => quarter.key);
    expect(keys[0]).toBe('2022-23-q2');
    expect(keys.at(-1)).toBe('2025-26-q2');
    expect(keys).toHaveLength(13);
  });

  it('places every date inside its own quarter (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40_000 }), (offset) => {
        const date = new Date(Date.UTC(1990, 0, 1 + offset)).toISOString().slice(0, 10);
        const quarter = quarterOf(date);
        expect(quarter.start <= date && date <= quarter.end).toBe(true);
        expect(parseQuarterKey(quarter.key)).toEqual(
          quarter.financialYear >= 2000 && quarter.financialYear <= 2100 ? quarter : undefined,
        );
      }),
    );
  });
});

describe('history', () => {
  const changes = [
    {
      effectiveOn: '2023-01-10',
      order: 1,
      changes: [{ field: 'status', from: null, to: 'not_started' }],
    },
    {
      effectiveOn: '2023-05-01',
      order: 2,
      changes: [{ field: 'status', from: 'not_started', to: 'on_track' }],
    },
    {
      effectiveOn: '2023-09-01',
      order: 3,
      changes: [{ field: 'status', from: 'on_track', to: 'at_risk' }],
    },
  ];

  it('replays changes to find the value at the end of a day', () => {
    expect(valueAsOf('at_risk', changes, 'status', '2022-12-31')).toBeNull();
    expect(valueAsOf('at_risk', changes, 'status', '2023-03-31')).toBe('not_started');
    expect(valueAsOf('at_risk', changes, 'status', '2023-06-30')).toBe('on_track');
    expect(valueAsOf('at_risk', changes, 'status', '2023-12-31')).toBe('at_risk');
    expect(valueAsOf('x', [], 'status', '2023-12-31')).toBe('x');
  });
});
