import type { Insertable, Kysely, Transaction, Updateable } from 'kysely';
import type {
  Database,
  GgpAssessmentRow,
  GgpAssessmentsTable,
  GgpAwardsTable,
  GgpEventRow,
  GgpEventsTable,
  GgpEvidenceFilesTable,
  GgpFrameworkVersionRow,
  GgpFrameworkVersionsTable,
  GgpResponseRow,
  GgpResponsesTable,
  GgpSubmissionRow,
  GgpSubmissionsTable,
} from '../../db/schema.ts';

export type Executor = Kysely<Database> | Transaction<Database>;

export interface FrameworkVersionListRow {
  id: string;
  programme_year: string;
  version: number;
  title: string;
  sha256: string;
  source: string;
  note: string | null;
  created_by_name: string | null;
  created_at: string;
}

export interface EvidenceRow {
  id: string;
  action_code: string;
  file_id: string;
  original_name: string;
  size_bytes: number;
  content_type: string;
  added_at: string;
  added_by_name: string | null;
}

export interface SubmissionListRow extends GgpSubmissionRow {
  practice_code: string;
  practice_name: string;
  practice_ancestor_path: string;
  programme_year: string;
  submitted_by_name: string | null;
  decided_by_name: string | null;
}

export interface AwardListRow {
  id: string;
  practice_code: string;
  practice_name: string;
  programme_year: string;
  level: 'bronze' | 'silver' | 'gold';
  points: number;
  awarded_at: string;
  is_example: number;
  framework_version_id: string;
  submission_id: string | null;
  approved_by_name: string | null;
}

/**
 * Every query of the Greener General Practice programme. Anything inside an assessment is looked
 * up together with the assessment's id, so an id from another practice finds nothing.
 */
export function createGreenerPracticeRepository(db: Kysely<Database>) {
  function submissionsQuery(executor: Executor) {
    return executor
      .selectFrom('ggp_submissions as s')
      .innerJoin('ggp_assessments as a', 'a.id', 's.assessment_id')
      .innerJoin('organisations as o', 'o.code', 'a.practice_code')
      .leftJoin('users as submitter', 'submitter.id', 's.submitted_by')
      .leftJoin('users as decider', 'decider.id', 's.decided_by')
      .selectAll('s')
      .select([
        'a.practice_code',
        'o.name as practice_name',
        'o.ancestor_path as practice_ancestor_path',
        'a.programme_year',
        'submitter.display_name as submitted_by_name',
        'decider.display_name as decided_by_name',
      ]);
  }

  function awardsQuery(executor: Executor) {
    return executor
      .selectFrom('ggp_awards as w')
      .innerJoin('organisations as o', 'o.code', 'w.practice_code')
      .leftJoin('users as u', 'u.id', 'w.approved_by')
      .select([
        'w.id',
        'w.practice_code',
        'o.name as practice_name',
        'w.programme_year',
        'w.level',
        'w.points',
        'w.awarded_at',
        'w.is_example',
        'w.framework_version_id',
        'w.submission_id',
        'u.display_name as approved_by_name',
      ]);
  }

  return {
    db,

    transaction<T>(work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
      return db.transaction().execute(work);
    },

    // --- framework versions ---

    async listFrameworkVersions(programmeYear?: string): Promise<FrameworkVersionListRow[]> {
      let query = db
        .selectFrom('ggp_framework_versions as v')
        .leftJoin('users as u', 'u.id', 'v.created_by')
        .select([
          'v.id',
          'v.programme_year',
          'v.version',
          'v.title',
          'v.sha256',
          'v.source',
          'v.note',
          'u.display_name as created_by_name',
          'v.created_at',
        ]);
      if (programmeYear) query = query.where('v.programme_year', '=', programmeYear);
      return query.orderBy('v.programme_year', 'desc').orderBy('v.version', 'desc').execute();
    },

    async findFrameworkVersion(
      id: string,
      executor: Executor = db,
    ): Promise<GgpFrameworkVersionRow | undefined> {
      return executor
        .selectFrom('ggp_framework_versions')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirst();
    },

    async findLatestFrameworkVersion(
      programmeYear: string,
      executor: Executor = db,
    ): Promise<GgpFrameworkVersionRow | undefined> {
      return executor
        .selectFrom('ggp_framework_versions')
        .selectAll()
        .where('programme_year', '=', programmeYear)
        .orderBy('version', 'desc')
        .limit(1)
        .executeTakeFirst();
    },

    async listProgrammeYears(): Promise<string[]> {
      const rows = await db
        .selectFrom('ggp_framework_versions')
        .select('programme_year')
        .distinct()
        .orderBy('programme_year')
        .execute();
      return rows.map((row) => row.programme_year);
    },

    async insertFrameworkVersion(
      executor: Executor,
      row: Insertable<GgpFrameworkVersionsTable>,
    ): Promise<void> {
      await executor.insertInto('ggp_framework_versions').values(row).execute();
    },

    // --- assessments ---

    async findAssessment(
      practiceCode: string,
      programmeYear: string,
      executor: Executor = db,
    ): Promise<GgpAssessmentRow | undefined> {
      return executor
        .selectFrom('ggp_assessments')
        .selectAll()
        .where('practice_code', '=', practiceCode)
        .where('programme_year', '=', programmeYear)
        .executeTakeFirst();
    },

    async listAssessments(programmeYear: string): Promise<GgpAssessmentRow[]> {
      return db
        .selectFrom('ggp_assessments')
        .selectAll()
        .where('programme_year', '=', programmeYear)
        .orderBy('practice_code')
        .execute();
    },

    async listAssessmentsOfPractice(practiceCode: string): Promise<GgpAssessmentRow[]> {
      return db
        .selectFrom('ggp_assessments')
        .selectAll()
        .where('practice_code', '=', practiceCode)
        .orderBy('programme_year', 'desc')
        .execute();
    },

    async insertAssessment(
      executor: Executor,
      row: Insertable<GgpAssessmentsTable>,
    ): Promise<void> {
      await executor.insertInto('ggp_assessments').values(row).execute();
    },

    async updateAssessment(
      executor: Executor,
      id: string,
      changes: Updateable<GgpAssessmentsTable>,
    ): Promise<void> {
      await executor.updateTable('ggp_assessments').set(changes).where('id', '=', id).execute();
    },

    /**
     * Changes the assessment only while its status is one of `from`; the number of rows changed
     * (0 or 1). The status test and the change are one statement, so of two requests racing only
     * the first matches, and the row stays locked to others until the transaction ends.
     */
    async updateAssessmentIfStatus(
      executor: Executor,
      id: string,
      from: readonly GgpAssessmentRow['status'][],
      changes: Updateable<GgpAssessmentsTable>,
    ): Promise<number> {
      const result = await executor
        .updateTable('ggp_assessments')
        .set(changes)
        .where('id', '=', id)
        .where('status', 'in', from)
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },

    // --- answers and evidence ---

    async findResponses(assessmentId: string, executor: Executor = db): Promise<GgpResponseRow[]> {
      return executor
        .selectFrom('ggp_responses')
        .selectAll()
        .where('assessment_id', '=', assessmentId)
        .execute();
    },

    async findResponsesOfYear(programmeYear: string): Promise<GgpResponseRow[]> {
      return db
        .selectFrom('ggp_responses as r')
        .innerJoin('ggp_assessments as a', 'a.id', 'r.assessment_id')
        .selectAll('r')
        .where('a.programme_year', '=', programmeYear)
        .execute();
    },

    async upsertResponse(executor: Executor, row: Insertable<GgpResponsesTable>): Promise<void> {
      await executor
        .insertInto('ggp_responses')
        .values(row)
        .onConflict((conflict) =>
          conflict.columns(['assessment_id', 'action_code']).doUpdateSet({
            status: row.status,
            note: row.note,
            not_applicable_reason: row.not_applicable_reason,
            updated_by: row.updated_by,
            updated_at: row.updated_at,
          }),
        )
        .execute();
    },

    /**
     * Who wrote these answers, or added these files, of an assessment: the people a submission of
     * them stands on, who may therefore not verify it. Everyone who ever saved an answer to one of
     * the actions counts, from the assessment's history: a response row names only the last to
     * save it, and saving an answer again unchanged must not clear the one who wrote it.
     */
    async findContributors(
      assessmentId: string,
      actionCodes: readonly string[],
      fileIds: readonly string[],
    ): Promise<string[]> {
      const answered =
        actionCodes.length === 0
          ? []
          : await db
              .selectFrom('ggp_responses')
              .select('updated_by as user_id')
              .where('assessment_id', '=', assessmentId)
              .where('action_code', 'in', [...actionCodes])
              .union(
                db
                  .selectFrom('ggp_events')
                  .select('user_id')
                  .where('assessment_id', '=', assessmentId)
                  .where('kind', '=', 'answered')
                  .where('action_code', 'in', [...actionCodes]),
              )
              .execute();
      const added =
        fileIds.length === 0
          ? []
          : await db
              .selectFrom('ggp_evidence_files')
              .select('added_by as user_id')
              .where('assessment_id', '=', assessmentId)
              .where('file_id', 'in', [...fileIds])
              .execute();
      return [
        ...new Set(
          [...answered, ...added]
            .map((row) => row.user_id)
            .filter((id): id is string => typeof id === 'string'),
        ),
      ];
    },

    /** An evidence file of an action that has been removed: its name and when it went. */
    async findRemovedEvidence(
      assessmentId: string,
      actionCode: string,
      fileId: string,
    ): Promise<{ original_name: string; removed_at: string } | undefined> {
      const row = await db
        .selectFrom('ggp_evidence_files as e')
        .innerJoin('stored_files as f', 'f.id', 'e.file_id')
        .select(['f.original_name', 'e.removed_at'])
        .where('e.assessment_id', '=', assessmentId)
        .where('e.action_code', '=', actionCode)
        .where('e.file_id', '=', fileId)
        .where('e.removed_at', 'is not', null)
        .orderBy('e.removed_at', 'desc')
        .executeTakeFirst();
      return row ? { original_name: row.original_name, removed_at: row.removed_at! } : undefined;
    },

    async findEvidence(assessmentId: string, executor: Executor = db): Promise<EvidenceRow[]> {
      return executor
        .selectFrom('ggp_evidence_files as e')
        .innerJoin('stored_files as f', 'f.id', 'e.file_id')
        .leftJoin('users as u', 'u.id', 'e.added_by')
        .select([
          'e.id',
          'e.action_code',
          'e.file_id',
          'f.original_name',
          'f.size_bytes',
          'f.content_type',
          'e.added_at',
          'u.display_name as added_by_name',
        ])
        .where('e.assessment_id', '=', assessmentId)
        .where('e.removed_at', 'is', null)
        .orderBy('e.added_at')
        .orderBy('e.id')
        .execute();
    },

    async countEvidenceOfYear(
      programmeYear: string,
    ): Promise<{ assessment_id: string; action_code: string; files: number }[]> {
      const rows = await db
        .selectFrom('ggp_evidence_files as e')
        .innerJoin('ggp_assessments as a', 'a.id', 'e.assessment_id')
        .select((eb) => ['e.assessment_id', 'e.action_code', eb.fn.countAll<number>().as('files')])
        .where('a.programme_year', '=', programmeYear)
        .where('e.removed_at', 'is', null)
        .groupBy(['e.assessment_id', 'e.action_code'])
        .execute();
      return rows.map((row) => ({ ...row, files: Number(row.files) }));
    },

    /**
     * An evidence file of this assessment, current or removed (a removed file stays readable to
     * those who may read the assessment, because past submissions cite it).
     */
    async findEvidenceFileId(
      assessmentId: string,
      evidenceFileId: string,
    ): Promise<string | undefined> {
      const row = await db
        .selectFrom('ggp_evidence_files')
        .select('file_id')
        .where('assessment_id', '=', assessmentId)
        .where('file_id', '=', evidenceFileId)
        .executeTakeFirst();
      return row?.file_id;
    },

    async insertEvidence(
      executor: Executor,
      row: Insertable<GgpEvidenceFilesTable>,
    ): Promise<void> {
      await executor.insertInto('ggp_evidence_files').values(row).execute();
    },

    async markEvidenceRemoved(
      executor: Executor,
      assessmentId: string,
      fileId: string,
      at: string,
    ): Promise<number> {
      const result = await executor
        .updateTable('ggp_evidence_files')
        .set({ removed_at: at })
        .where('assessment_id', '=', assessmentId)
        .where('file_id', '=', fileId)
        .where('removed_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },

    // --- submissions and reviews ---

    async insertSubmission(
      executor: Executor,
      row: Insertable<GgpSubmissionsTable>,
    ): Promise<void> {
      await executor.insertInto('ggp_submissions').values(row).execute();
    },

    async findSubmission(
      id: string,
      executor: Executor = db,
    ): Promise<SubmissionListRow | undefined> {
      return submissionsQuery(executor).where('s.id', '=', id).executeTakeFirst();
    },

    async listSubmissions(
      filter: {
        outcome?: 'pending' | 'returned' | 'approved';
        assessmentId?: string;
      },
      executor: Executor = db,
    ): Promise<SubmissionListRow[]> {
      let query = submissionsQuery(executor);
      if (filter.outcome) query = query.where('s.outcome', '=', filter.outcome);
      if (filter.assessmentId) query = query.where('s.assessment_id', '=', filter.assessmentId);
      return query.orderBy('s.submitted_at', 'desc').orderBy('s.id').execute();
    },

    async decideSubmission(
      executor: Executor,
      id: string,
      changes: Updateable<GgpSubmissionsTable>,
    ): Promise<number> {
      const result = await executor
        .updateTable('ggp_submissions')
        .set(changes)
        .where('id', '=', id)
        .where('outcome', '=', 'pending')
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },

    async insertReviewComments(
      executor: Executor,
      submissionId: string,
      comments: { actionCode: string; comment: string }[],
    ): Promise<void> {
      if (comments.length === 0) return;
      await executor
        .insertInto('ggp_review_comments')
        .values(
          comments.map((entry) => ({
            submission_id: submissionId,
            action_code: entry.actionCode,
            comment: entry.comment,
          })),
        )
        .execute();
    },

    async findReviewComments(
      submissionId: string,
    ): Promise<{ action_code: string; comment: string }[]> {
      return db
        .selectFrom('ggp_review_comments')
        .select(['action_code', 'comment'])
        .where('submission_id', '=', submissionId)
        .orderBy('action_code')
        .execute();
    },

    // --- awards ---

    async insertAward(executor: Executor, row: Insertable<GgpAwardsTable>): Promise<void> {
      await executor.insertInto('ggp_awards').values(row).execute();
    },

    async listAwards(
      filter: { programmeYear?: string; practiceCode?: string } = {},
      executor: Executor = db,
    ): Promise<AwardListRow[]> {
      let query = awardsQuery(executor);
      if (filter.programmeYear) query = query.where('w.programme_year', '=', filter.programmeYear);
      if (filter.practiceCode) query = query.where('w.practice_code', '=', filter.practiceCode);
      return query
        .orderBy('w.programme_year', 'desc')
        .orderBy('w.awarded_at', 'desc')
        .orderBy('w.id')
        .execute();
    },

    async findAward(id: string): Promise<AwardListRow | undefined> {
      return awardsQuery(db).where('w.id', '=', id).executeTakeFirst();
    },

    // --- events ---

    async insertEvent(executor: Executor, row: Insertable<GgpEventsTable>): Promise<void> {
      await executor.insertInto('ggp_events').values(row).execute();
    },

    async findEventsOfYear(programmeYear: string): Promise<GgpEventRow[]> {
      return db
        .selectFrom('ggp_events')
        .selectAll()
        .where('programme_year', '=', programmeYear)
        .orderBy('occurred_at')
        .orderBy('id')
        .execute();
    },

    /** For a person's personal data download. */
    async findContributionsOf(userId: string) {
      const [responses, evidence, submissions, decisions] = await Promise.all([
        db
          .selectFrom('ggp_responses as r')
          .innerJoin('ggp_assessments as a', 'a.id', 'r.assessment_id')
          .select([
            'a.practice_code',
            'a.programme_year',
            'r.action_code',
            'r.status',
            'r.note',
            'r.not_applicable_reason',
            'r.updated_at',
          ])
          .where('r.updated_by', '=', userId)
          .execute(),
        db
          .selectFrom('ggp_evidence_files as e')
          .innerJoin('ggp_assessments as a', 'a.id', 'e.assessment_id')
          .innerJoin('stored_files as f', 'f.id', 'e.file_id')
          .select([
            'a.practice_code',
            'a.programme_year',
            'e.action_code',
            'f.original_name',
            'e.added_at',
            'e.removed_at',
          ])
          .where('e.added_by', '=', userId)
          .execute(),
        submissionsQuery(db).where('s.submitted_by', '=', userId).execute(),
        submissionsQuery(db).where('s.decided_by', '=', userId).execute(),
      ]);
      return { responses, evidence, submissions, decisions };
    },
  };
}

export type GreenerPracticeRepository = ReturnType<typeof createGreenerPracticeRepository>;
