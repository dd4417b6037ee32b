import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Transaction } from 'kysely';
import { InputFileError, type InputProblem } from '../../lib/csv.ts';
import type {
  Database,
  GgpAssessmentRow,
  GgpEventsTable,
  GgpFrameworkVersionRow,
  GgpResponseRow,
} from '../../db/schema.ts';
import { ValidationFailed } from '../../lib/validation.ts';
import { GoneError, NotFoundError } from '../../web/http-errors.ts';
import type { RequestContext } from '../../web/request-context.ts';
import {
  assertCan,
  can,
  ForbiddenError,
  organisationScope,
  verificationConflict,
  type Actor,
  type AssessmentSubmissionResource,
  type OrganisationResource,
} from '../access/policy.ts';
import type { AccountService } from '../accounts/account.service.ts';
import type { AuditService } from '../audit/audit.service.ts';
import type { ContentService } from '../content/content.service.ts';
import type { NotificationService } from '../notifications/notification.service.ts';
import type { FileService, PendingUpload } from '../files/file.service.ts';
import type { GreenPlanService } from '../green-plans/plan.service.ts';
import type { MembershipService } from '../memberships/membership.service.ts';
import { organisationRoles } from '../access/roles.ts';
import { formatOrganisationName } from '../organisations/organisation-name.ts';
import type { OrganisationService } from '../organisations/organisation.service.ts';
import type { PrescribingService } from '../prescribing/prescribing.service.ts';
import { measureDefinitions, type MeasureId } from '../prescribing/measures.calculations.ts';
import {
  allActions,
  awardLevelLabels,
  awardLevels,
  countByStatus,
  findAction,
  formatProgrammeYear,
  hasEvidence,
  isAwardLevel,
  isRequiredFor,
  isResponseStatus,
  levelRank,
  levelReached,
  levelStandings,
  nextLevel,
  pointsEarned,
  programmeYearOf,
  responseStatusLabels,
  submissionProblems,
  totalPoints,
  type ActionResponse,
  type AwardLevel,
  type Framework,
  type ResponseStatus,
} from './framework.calculations.ts';
import { parseFramework, serialiseFramework } from './framework.parser.ts';
import type {
  AwardListRow,
  EvidenceRow,
  Executor,
  GreenerPracticeRepository,
  SubmissionListRow,
} from './greener-practice.repository.ts';
import { recommendActions, type MeasureStanding } from './recommendations.calculations.ts';

/** At most this many files in one save, and on one action. */
export const MAX_FILES_PER_SAVE = 5;
export const MAX_FILES_PER_ACTION = 10;
/** The longest note an admin may give a framework version ("What changed"). */
const MAX_VERSION_NOTE = 500;
const MAX_NOTE_LENGTH = 5000;
const MAX_REASON_LENGTH = 1000;
const MAX_COMMENT_LENGTH = 2000;

/** A framework file refused: every problem with its file, line and field. */
export class FrameworkRefused extends Error {
  override name = 'FrameworkRefused';
  constructor(readonly problems: InputProblem[]) {
    super(`${problems.length} problem(s) in the framework file`);
  }
}

/**
 * An edited framework refused because its year has a version published after the edit began:
 * the page it comes back on starts from that version, to compare with and publish over knowingly.
 */
export class FrameworkPublishedMeanwhile extends FrameworkRefused {
  override name = 'FrameworkPublishedMeanwhile';
}

/** A verifier who may verify submissions but not this one (their practice, their submission). */
export class VerificationConflict extends Error {
  override name = 'VerificationConflict';
  readonly statusCode = 403;
}

export interface GreenerPracticeServiceDependencies {
  repository: GreenerPracticeRepository;
  organisations: OrganisationService;
  prescribing: PrescribingService;
  greenPlans: GreenPlanService;
  content: ContentService;
  accounts: AccountService;
  memberships: MembershipService;
  files: FileService;
  audit: AuditService;
  /** Submissions and decisions reach people as notifications: in the service and by email. */
  notifications: NotificationService;
  publicUrl: string;
  now?: () => Date;
}

export interface AnswerInput {
  status: string;
  note: string;
  notApplicableReason: string;
  /**
   * When the answer shown on the form was last saved (`answerSavedAt` of the page; '' for none).
   * Given, the save is refused (AnswerChangedMeanwhile) if the answer has been saved since.
   */
  openedAt?: string;
}

export interface DecisionInput {
  decision: string;
  note: string;
  /** Comments by action code; blank ones are ignored. */
  comments: Record<string, string>;
}

/** What a submission holds: every answer and evidence file as it was submitted. */
export interface SubmissionSnapshot {
  points: number;
  level: AwardLevel;
  actions: {
    code: string;
    status: ResponseStatus;
    note: string;
    notApplicableReason: string;
    evidence: { fileId: string; name: string; sizeBytes: number }[];
  }[];
}

export interface PracticeRef {
  code: string;
  name: string;
  ancestorPath: string;
  resource: OrganisationResource;
}

type Performer = { userId: string | null };

export const assessmentStatusLabels: Record<GgpAssessmentRow['status'] | 'not_started', string> = {
  not_started: 'Not started',
  in_progress: 'In progress',
  submitted: 'Submitted for verification',
  returned: 'Returned for changes',
  awarded: 'Awarded',
};

/**
 * The Greener General Practice programme: framework versions, each practice's self-assessment,
 * submissions and their verification, awards, and the practice dashboard.
 */
export function createGreenerPracticeService(deps: GreenerPracticeServiceDependencies) {
  const { repository, audit } = deps;
  const now = deps.now ?? (() => new Date());
  const frameworkCache = new Map<string, Framework>();

  function frameworkOf(version: GgpFrameworkVersionRow): Framework {
    const cached = frameworkCache.get(version.id);
    if (cached) return cached;
    const result = parseFramework(version.content, `version ${version.version}`);
    if (!result.ok)
      throw new Error(`Stored framework ${version.id} does not parse: ${result.problems.length}`);
    frameworkCache.set(version.id, result.framework);
    return result.framework;
  }

  async function frameworkForYear(programmeYear: string) {
    const version = await repository.findLatestFrameworkVersion(programmeYear);
    if (!version) return undefined;
    return { version, framework: frameworkOf(version) };
  }

  /** The year practices work on now: this financial year's framework, or the latest before it. */
  async function openYear(): Promise<string | null> {
    const years = await repository.listProgrammeYears();
    const current = programmeYearOf(now());
    return years.filter((year) => year <= current).at(-1) ?? years[0] ?? null;
  }

  async function requirePractice(code: string): Promise<PracticeRef> {
    const summary = /^[A-Z0-9]{3,8}$/.test(code)
      ? await deps.organisations.findOrganisationSummary(code)
      : undefined;
    if (!summary || summary.type !== 'gp_practice')
      throw new NotFoundError('There is no GP practice with that code.');
    return {
      code: summary.code,
      name: summary.name,
      ancestorPath: summary.ancestorPath,
      resource: { kind: 'organisation', code: summary.code, ancestorPath: summary.ancestorPath },
    };
  }

  function canManage(actor: Actor | null, practice: PracticeRef): boolean {
    return can(actor, 'organisation.manage_assessment', practice.resource);
  }

  function canVerify(actor: Actor | null, practice: PracticeRef): boolean {
    return can(actor, 'organisation.verify_assessments', practice.resource);
  }

  function canRead(actor: Actor | null, practice: PracticeRef): boolean {
    return (
      can(actor, 'organisation.read_members_only', practice.resource) ||
      canManage(actor, practice) ||
      canVerify(actor, practice)
    );
  }

  async function requireReadable(actor: Actor | null, code: string): Promise<PracticeRef> {
    const practice = await requirePractice(code);
    if (!canRead(actor, practice))
      throw new ForbiddenError('Only members of the practice and ICS verifiers see this');
    return practice;
  }

  async function requireManageable(actor: Actor | null, code: string): Promise<PracticeRef> {
    const practice = await requirePractice(code);
    if (!canManage(actor, practice))
      throw new ForbiddenError("Only the practice's green champions and admins change this");
    return practice;
  }

  function performerOf(actor: Actor | null): Performer {
    if (!actor) throw new ForbiddenError('Sign in');
    return { userId: actor.userId };
  }

  async function loadAnswers(assessmentId: string, executor: Executor = repository.db) {
    const [rows, evidence] = await Promise.all([
      repository.findResponses(assessmentId, executor),
      repository.findEvidence(assessmentId, executor),
    ]);
    const evidenceByAction = new Map<string, EvidenceRow[]>();
    for (const file of evidence) {
      const list = evidenceByAction.get(file.action_code) ?? [];
      list.push(file);
      evidenceByAction.set(file.action_code, list);
    }
    const responses = new Map<string, ActionResponse>();
    for (const row of rows) {
      responses.set(row.action_code, {
        status: isResponseStatus(row.status) ? row.status : 'not_started',
        note: row.note,
        notApplicableReason: row.not_applicable_reason,
        evidenceFiles: evidenceByAction.get(row.action_code)?.length ?? 0,
      });
    }
    for (const [code, files] of evidenceByAction)
      if (!responses.has(code))
        responses.set(code, {
          status: 'not_started',
          note: '',
          notApplicableReason: '',
          evidenceFiles: files.length,
        });
    return { responses, evidenceByAction, rows };
  }

  /** The highest level awarded to the practice in the year, or null. */
  function highestAward(awards: readonly AwardListRow[]): AwardListRow | null {
    return awards.reduce<AwardListRow | null>(
      (best, award) =>
        best === null || levelRank(award.level) > levelRank(best.level) ? award : best,
      null,
    );
  }

  function isEditable(assessment: GgpAssessmentRow, year: string | null): boolean {
    return (
      assessment.programme_year === year &&
      (assessment.status === 'in_progress' || assessment.status === 'returned')
    );
  }

  function lockedMessage(
    assessment: GgpAssessmentRow,
    year: string | null,
    latestSubmission: SubmissionListRow | undefined,
    award: AwardListRow | null,
  ): string | null {
    if (assessment.programme_year !== year)
      return `The ${assessment.programme_year.replace('-', '–')} programme year has ended, so its assessment can no longer be changed.`;
    if (assessment.status === 'submitted')
      return `This assessment was submitted for verification${latestSubmission ? ` on ${formatDate(latestSubmission.submitted_at)}` : ''}. It cannot be changed while it is being verified; if the verifier returns it, you can change it again.`;
    if (assessment.status === 'awarded' && award) {
      const next = nextLevel(award.level);
      return next
        ? `This assessment has been awarded ${awardLevelLabels[award.level]}. To work towards ${awardLevelLabels[next]}, reopen it first.`
        : 'This assessment has been awarded Gold, the highest level, and cannot be changed.';
    }
    return null;
  }

  /**
   * Inside the transaction that changes the assessment: changes it only if it is still editable,
   * else refuses with the reason as it stands now. The status read before the transaction may be
   * out of date (a double-clicked submit, a save overlapping a submit); this test is not, and
   * the row stays locked until the transaction ends, so no other change slips in meanwhile.
   */
  async function claimEditable(
    trx: Transaction<Database>,
    assessment: GgpAssessmentRow,
    year: string | null,
    changes: { status?: GgpAssessmentRow['status']; updated_at: string },
  ): Promise<void> {
    const claimed = await repository.updateAssessmentIfStatus(
      trx,
      assessment.id,
      ['in_progress', 'returned'],
      changes,
    );
    if (claimed !== 1) throw new AssessmentLocked(await lockedMessageNow(trx, assessment, year));
  }

  /** Why the assessment cannot be changed, read again inside the transaction. */
  async function lockedMessageNow(
    trx: Transaction<Database>,
    assessment: GgpAssessmentRow,
    year: string | null,
  ): Promise<string> {
    const current = await repository.findAssessment(
      assessment.practice_code,
      assessment.programme_year,
      trx,
    );
    const [latest] = await repository.listSubmissions({ assessmentId: assessment.id }, trx);
    const awards = await repository.listAwards(
      { practiceCode: assessment.practice_code, programmeYear: assessment.programme_year },
      trx,
    );
    return (
      (current && lockedMessage(current, year, latest, highestAward(awards))) ??
      'This assessment can no longer be changed.'
    );
  }

  /**
   * An evidence file the actor may remove now: theirs to manage, on this year's assessment, which
   * is still open to changes. Asking and removing go through the same checks.
   */
  async function findRemovableEvidence(
    actor: Actor | null,
    practiceCode: string,
    actionCode: string,
    fileId: string,
  ) {
    const practice = await requireManageable(actor, practiceCode);
    const performer = performerOf(actor);
    const year = await openYear();
    const state = year ? await practiceYearState(practice, year) : undefined;
    if (!state?.assessment || !state.frameworkEntry) throw new NotFoundError();
    const assessment = state.assessment;
    const framework = state.frameworkEntry.framework;
    const locked = isEditable(assessment, year)
      ? null
      : lockedMessage(assessment, year, state.submissions[0], state.award);
    if (locked) throw new AssessmentLocked(locked);
    const { evidenceByAction } = await loadAnswers(assessment.id);
    const file = (evidenceByAction.get(actionCode) ?? []).find((entry) => entry.file_id === fileId);
    if (!file) {
      // Removed already (a second click, or the confirmation page opened twice): say so.
      const removed = /^[0-9a-f-]{36}$/.test(fileId)
        ? await repository.findRemovedEvidence(assessment.id, actionCode, fileId)
        : undefined;
      if (removed)
        throw new GoneError(`The evidence file ${removed.original_name}`, removed.removed_at, {
          href: `/greener-practice/practices/${practice.code}/assessment/actions/${actionCode}#evidence-files`,
          text: `Go back to ${actionCode}`,
        });
      throw new NotFoundError('That evidence file was not found.');
    }
    return { practice, performer, year, assessment, framework, file };
  }

  /** Stores a new version of a year's framework, with its audit record. */
  async function storeFrameworkVersion(
    trx: Transaction<Database>,
    entry: {
      id: string;
      framework: Framework;
      content: string;
      sha256: string;
      version: number;
      source: 'upload' | 'edit' | 'seed';
      note: string | null;
      userId: string | null;
      /** The shipped file it was loaded from. */
      file?: string;
    },
    context: RequestContext | null,
  ): Promise<void> {
    await repository.insertFrameworkVersion(trx, {
      id: entry.id,
      programme_year: entry.framework.programmeYear,
      version: entry.version,
      title: entry.framework.title,
      content: entry.content,
      sha256: entry.sha256,
      source: entry.source,
      note: entry.note,
      created_by: entry.userId,
      created_at: now().toISOString(),
    });
    await audit.record(
      {
        action: 'greener_practice.framework_published',
        actorUserId: entry.userId,
        targetType: 'ggp_framework_version',
        targetId: entry.id,
        details: {
          programmeYear: entry.framework.programmeYear,
          version: entry.version,
          actions: allActions(entry.framework).length,
          source: entry.source,
          ...(entry.file ? { file: entry.file } : {}),
        },
      },
      context,
      trx,
    );
  }

  async function practiceYearState(practice: PracticeRef, year: string) {
    const assessment = await repository.findAssessment(practice.code, year);
    const frameworkEntry = await frameworkForYear(year);
    const awards = await repository.listAwards({
      practiceCode: practice.code,
      programmeYear: year,
    });
    const submissions = assessment
      ? await repository.listSubmissions({ assessmentId: assessment.id })
      : [];
    return { assessment, frameworkEntry, awards, award: highestAward(awards), submissions };
  }

  async function recordEvent(
    trx: Transaction<Database>,
    assessment: GgpAssessmentRow,
    event: {
      kind: GgpEventsTable['kind'];
      actionCode?: string;
      points: number;
      level: AwardLevel | null;
      userId: string | null;
      at: string;
    },
  ) {
    await repository.insertEvent(trx, {
      assessment_id: assessment.id,
      practice_code: assessment.practice_code,
      programme_year: assessment.programme_year,
      kind: event.kind,
      action_code: event.actionCode ?? null,
      points: event.points,
      level: event.level,
      user_id: event.userId,
      occurred_at: event.at,
    });
  }

  function submissionResource(
    submission: SubmissionListRow,
    contributors?: readonly string[],
  ): AssessmentSubmissionResource {
    return {
      kind: 'assessment_submission',
      practice: {
        kind: 'organisation',
        code: submission.practice_code,
        ancestorPath: submission.practice_ancestor_path,
      },
      submittedBy: submission.submitted_by,
      contributors,
    };
  }

  /**
   * The submission with the people whose answers and files it claims (an ICS admin may manage a
   * practice's assessment as well as verify it). While it is pending the assessment cannot change,
   * so the answers and files as stored are those it holds.
   */
  async function verifiableSubmission(
    submission: SubmissionListRow,
  ): Promise<AssessmentSubmissionResource> {
    const snapshot = parseSnapshot(submission.snapshot);
    const contributors = await repository.findContributors(
      submission.assessment_id,
      snapshot.actions.map((entry) => entry.code),
      snapshot.actions.flatMap((entry) => entry.evidence.map((file) => file.fileId)),
    );
    return submissionResource(submission, contributors);
  }

  async function conflictMessage(
    actor: Actor,
    submission: SubmissionListRow,
    practiceName: string,
  ): Promise<string | null> {
    const conflict = verificationConflict(actor, await verifiableSubmission(submission));
    if (conflict === 'own-practice')
      return `You cannot verify this submission because you are a member of ${practiceName}. Another verifier must decide it.`;
    if (conflict === 'own-submission')
      return 'You cannot verify this submission because you submitted it. Another verifier must decide it.';
    if (conflict === 'own-answers')
      return 'You cannot verify this submission because you wrote some of the answers or added some of the evidence it claims. Another verifier must decide it.';
    return null;
  }

  function parseSnapshot(text: string): SubmissionSnapshot {
    return JSON.parse(text) as SubmissionSnapshot;
  }

  function snapshotResponses(snapshot: SubmissionSnapshot): Map<string, ActionResponse> {
    return new Map(
      snapshot.actions.map((entry) => [
        entry.code,
        {
          status: entry.status,
          note: entry.note,
          notApplicableReason: entry.notApplicableReason,
          evidenceFiles: entry.evidence.length,
        },
      ]),
    );
  }

  const service = {
    openYear,
    frameworkForYear,

    // --- the framework ---

    /** The framework of a year (default: the open year), its versions and the years held. */
    async getFramework(programmeYear?: string) {
      const years = await repository.listProgrammeYears();
      const year = programmeYear ?? (await openYear());
      if (!year || !years.includes(year))
        throw new NotFoundError('There is no framework for that year.');
      const entry = (await frameworkForYear(year))!;
      return {
        years,
        openYear: await openYear(),
        programmeYear: year,
        version: entry.version,
        framework: entry.framework,
        totalPoints: totalPoints(entry.framework),
        versions: await repository.listFrameworkVersions(year),
      };
    },

    /** One stored version, as its file, for download and editing. */
    async getFrameworkVersion(versionId: string) {
      const version = /^[0-9a-f-]{36}$/.test(versionId)
        ? await repository.findFrameworkVersion(versionId)
        : undefined;
      if (!version) throw new NotFoundError('There is no such framework version.');
      return { version, text: version.content, framework: frameworkOf(version) };
    },

    /** The framework admin page: every version of every year. */
    async listFrameworkVersionsForAdmin(actor: Actor | null) {
      assertCan(actor, 'platform.manage_frameworks', { kind: 'platform' });
      return { versions: await repository.listFrameworkVersions(), openYear: await openYear() };
    },

    assertCanManageFrameworks(actor: Actor | null) {
      assertCan(actor, 'platform.manage_frameworks', { kind: 'platform' });
    },

    /**
     * Publishes a framework file as the next version of its programme year: all of it, or nothing.
     * Refuses a file with problems (each with file, line and field) and one identical to the latest
     * version of its year. Assessments follow the latest version of their year; submissions and
     * awards keep the version they were made under.
     */
    async publishFrameworkVersion(
      actor: Actor | null,
      input: {
        text: string;
        fileName: string;
        source: 'upload' | 'edit';
        note: string;
        /**
         * The version an edited text started from: refused when its year has a later one since,
         * which publishing this text would undo.
         */
        basedOn?: { programmeYear: string; version: number };
      },
      context: RequestContext | null,
    ) {
      assertCan(actor, 'platform.manage_frameworks', { kind: 'platform' });
      // Refused, not cut short: what the admin wrote is kept whole or not at all.
      const noteProblems: InputProblem[] =
        input.note.trim().length > MAX_VERSION_NOTE
          ? [
              {
                file: input.fileName,
                message: `"What changed" must be ${MAX_VERSION_NOTE} characters or fewer; it has ${input.note.trim().length}`,
              },
            ]
          : [];
      const result = parseFramework(input.text, input.fileName);
      if (!result.ok) throw new FrameworkRefused([...noteProblems, ...result.problems]);
      const content = serialiseFramework(result.framework);
      const sha256 = createHash('sha256').update(content).digest('hex');
      const latest = await repository.findLatestFrameworkVersion(result.framework.programmeYear);
      const basedOn = input.basedOn;
      // As soon as the text's year is known, before anything else about it: a text refused for
      // another problem first would otherwise be corrected and published without this check.
      if (
        basedOn &&
        latest &&
        basedOn.programmeYear === result.framework.programmeYear &&
        latest.version !== basedOn.version
      )
        throw new FrameworkPublishedMeanwhile([
          {
            file: input.fileName,
            message: `version ${latest.version} of ${latest.programme_year} was published after you opened this page, so publishing your text would undo its changes. Nothing was published: compare your text with version ${latest.version}, then publish again`,
          },
          ...noteProblems,
        ]);
      if (noteProblems.length > 0) throw new FrameworkRefused(noteProblems);
      if (latest && latest.sha256 === sha256)
        throw new FrameworkRefused([
          {
            file: input.fileName,
            message: `it is the same as version ${latest.version} of ${result.framework.programmeYear}, so nothing was published`,
          },
        ]);
      const id = randomUUID();
      const version = (latest?.version ?? 0) + 1;
      await repository.transaction((trx) =>
        storeFrameworkVersion(
          trx,
          {
            id,
            framework: result.framework,
            content,
            sha256,
            version,
            source: input.source,
            note: input.note.trim() || null,
            userId: actor!.userId,
          },
          context,
        ),
      );
      return { id, programmeYear: result.framework.programmeYear, version };
    },

    /**
     * Loads the shipped framework files (`greener-general-practice/framework-*.json`) as version 1
     * of their years. A year whose latest version came from the seed takes a changed file as a new
     * version; a year an admin has changed since is left alone.
     */
    async seedFrameworks(
      referenceDataDir: string,
    ): Promise<{ created: number; unchanged: number }> {
      const dir = path.join(referenceDataDir, 'greener-general-practice');
      const names = await fs.readdir(dir).then(
        (found) => found.filter((name) => /^framework-.*\.json$/.test(name)).sort(),
        (error: unknown) => {
          if ((error as { code?: string }).code === 'ENOENT') return [];
          throw error;
        },
      );
      // The programme cannot run without its framework: a reference folder without one (a wrong
      // --dir, a partial copy) is said to be so, not reported as "0 created".
      if (names.length === 0)
        throw new InputFileError([
          {
            file: 'greener-general-practice/',
            message: `no framework-*.json file in ${dir}: the Greener General Practice programme needs its framework`,
          },
        ]);
      // Every file is read and checked before any is stored: a problem in one stores none.
      const parsed = [];
      for (const name of names) {
        const text = await fs.readFile(path.join(dir, name), 'utf8');
        const result = parseFramework(text, `greener-general-practice/${name}`);
        // A shipped file with a problem stops the seed with every problem, file, line and field.
        if (!result.ok) throw new InputFileError(result.problems);
        parsed.push({ name, result });
      }
      let created = 0;
      let unchanged = 0;
      for (const { name, result } of parsed) {
        const content = serialiseFramework(result.framework);
        const sha256 = createHash('sha256').update(content).digest('hex');
        const latest = await repository.findLatestFrameworkVersion(result.framework.programmeYear);
        if (latest && (latest.sha256 === sha256 || latest.source !== 'seed')) {
          unchanged += 1;
          continue;
        }
        // Every version is in the audit log, a shipped one too (by nobody: the installation).
        await repository.transaction((trx) =>
          storeFrameworkVersion(
            trx,
            {
              id: randomUUID(),
              framework: result.framework,
              content,
              sha256,
              version: (latest?.version ?? 0) + 1,
              source: 'seed',
              note: `Loaded from ${name}`,
              userId: null,
              file: name,
            },
            null,
          ),
        );
        created += 1;
      }
      return { created, unchanged };
    },

    // --- a practice's assessment ---

    /** Checks, before any file is read, that the actor may change the practice's assessment. */
    async assertCanManage(actor: Actor | null, practiceCode: string) {
      await requireManageable(actor, practiceCode);
    },

    /** Checks, before the request is read further, that the actor may read the assessment. */
    async assertCanRead(actor: Actor | null, practiceCode: string) {
      await requireReadable(actor, practiceCode);
    },

    /** Checks, before the form is read, that the actor verifies the submission's practice. */
    async assertCanVerify(actor: Actor | null, submissionId: string) {
      const submission = /^[0-9a-f-]{36}$/.test(submissionId)
        ? await repository.findSubmission(submissionId)
        : undefined;
      if (!submission) throw new NotFoundError('There is no such submission.');
      if (!can(actor, 'organisation.verify_assessments', submissionResource(submission).practice))
        throw new ForbiddenError('Only ICS verifiers of the practice decide its submissions');
    },

    /** Everything the assessment page shows: answers, points, levels, problems and history. */
    async getAssessmentPage(actor: Actor | null, practiceCode: string, programmeYear?: string) {
      const practice = await requireReadable(actor, practiceCode);
      const year = programmeYear ?? (await openYear());
      if (!year) throw new NotFoundError('The programme has no framework yet.');
      const state = await practiceYearState(practice, year);
      if (!state.frameworkEntry) throw new NotFoundError('There is no framework for that year.');
      const framework = state.frameworkEntry.framework;
      const pastAssessments = (await repository.listAssessmentsOfPractice(practice.code)).filter(
        (row) => row.programme_year !== year,
      );
      const base = {
        practice,
        programmeYear: year,
        isOpenYear: year === (await openYear()),
        framework,
        frameworkVersion: state.frameworkEntry.version,
        totalPoints: totalPoints(framework),
        award: state.award,
        awards: state.awards,
        canManage: canManage(actor, practice),
        pastYears: pastAssessments.map((row) => row.programme_year),
      };
      if (!state.assessment) {
        return {
          ...base,
          assessment: null,
          responses: new Map<string, ActionResponse>(),
          evidenceByAction: new Map<string, EvidenceRow[]>(),
          points: 0,
          level: null,
          standings: levelStandings(framework, new Map()),
          counts: countByStatus(framework, new Map()),
          editable: false,
          lockedMessage: null,
          submissions: [],
          returnedComments: new Map<string, string>(),
          returnedCommentList: [] as { code: string; comment: string }[],
          targetLevel: 'bronze' as AwardLevel,
          submittableLevels: [...awardLevels],
          targetProblems: submissionProblems(framework, new Map(), 'bronze'),
        };
      }
      const { responses, evidenceByAction } = await loadAnswers(state.assessment.id);
      const level = levelReached(framework, responses);
      const editable = isEditable(state.assessment, await openYear());
      const latest = state.submissions[0];
      const returnedComments = new Map<string, string>();
      if (state.assessment.status === 'returned' && latest?.outcome === 'returned')
        for (const comment of await repository.findReviewComments(latest.id))
          returnedComments.set(comment.action_code, comment.comment);
      const targetLevel = nextLevel(state.award?.level ?? null);
      const submissions = [];
      for (const submission of state.submissions)
        submissions.push({
          ...submission,
          comments: await repository.findReviewComments(submission.id),
        });
      return {
        ...base,
        assessment: state.assessment,
        responses,
        evidenceByAction,
        points: pointsEarned(framework, responses),
        level,
        standings: levelStandings(framework, responses),
        counts: countByStatus(framework, responses),
        editable: editable && base.canManage,
        lockedMessage: lockedMessage(state.assessment, await openYear(), latest, state.award),
        submissions,
        returnedComments,
        returnedCommentList: [...returnedComments].map(([code, comment]) => ({ code, comment })),
        targetLevel,
        submittableLevels: targetLevel
          ? awardLevels.filter((candidate) => levelRank(candidate) >= levelRank(targetLevel))
          : [],
        targetProblems: targetLevel ? submissionProblems(framework, responses, targetLevel) : [],
      };
    },

    /** Starts the practice's assessment for the open programme year. */
    async startAssessment(
      actor: Actor | null,
      practiceCode: string,
      context: RequestContext | null,
    ) {
      const practice = await requireManageable(actor, practiceCode);
      const performer = performerOf(actor);
      const year = await openYear();
      if (!year) throw new ValidationFailed({ start: 'The programme has no framework yet.' });
      if (await repository.findAssessment(practice.code, year))
        throw new ValidationFailed({
          start: `${practice.name} has already started its ${year.replace('-', '–')} assessment.`,
        });
      const at = now().toISOString();
      const assessment: GgpAssessmentRow = {
        id: randomUUID(),
        practice_code: practice.code,
        programme_year: year,
        status: 'in_progress',
        is_example: 0,
        created_by: performer.userId,
        created_at: at,
        updated_at: at,
      };
      await repository.transaction(async (trx) => {
        await repository.insertAssessment(trx, assessment);
        await recordEvent(trx, assessment, {
          kind: 'started',
          points: 0,
          level: null,
          userId: performer.userId,
          at,
        });
        await audit.record(
          {
            action: 'greener_practice.assessment_started',
            actorUserId: performer.userId,
            targetType: 'ggp_assessment',
            targetId: assessment.id,
            organisationCode: practice.code,
            details: { programmeYear: year },
          },
          context,
          trx,
        );
      });
      return assessment.id;
    },

    /** One action of the practice's open assessment: the framework's guidance and the answer. */
    async getActionPage(actor: Actor | null, practiceCode: string, actionCode: string) {
      const practice = await requireReadable(actor, practiceCode);
      const year = await openYear();
      if (!year) throw new NotFoundError();
      const state = await practiceYearState(practice, year);
      if (!state.assessment || !state.frameworkEntry)
        throw new NotFoundError(`${practice.name} has not started its assessment.`);
      const framework = state.frameworkEntry.framework;
      const action = findAction(framework, actionCode);
      if (!action) throw new NotFoundError('The framework has no such action.');
      const { responses, evidenceByAction, rows } = await loadAnswers(state.assessment.id);
      const latest = state.submissions[0];
      let returnedComment: string | null = null;
      if (state.assessment.status === 'returned' && latest?.outcome === 'returned')
        returnedComment =
          (await repository.findReviewComments(latest.id)).find(
            (comment) => comment.action_code === action.code,
          )?.comment ?? null;
      const theme = framework.themes.find((candidate) => candidate.id === action.themeId)!;
      const codes = allActions(framework).map((entry) => entry.code);
      // For an inhaler action, where the practice stands on its measure, traced on the prescribing pages.
      let practiceData: {
        month: string;
        title: string;
        unit: string;
        value: number | null;
        decile: number | null;
        lowIsGood: boolean;
        savingTonnesCo2ePerYear: number | null;
      } | null = null;
      if (action.measure) {
        const prescribing = await deps.prescribing.getPracticeDashboard(practice.code);
        const measure = prescribing?.measures.find(
          (candidate) => candidate.definition.id === action.measure,
        );
        if (prescribing && measure?.latest)
          practiceData = {
            month: prescribing.latestMonth,
            title: measure.definition.title,
            unit: measure.definition.unit,
            value: measure.latest.value,
            decile: measure.latest.decile,
            lowIsGood: measure.definition.lowIsGood,
            savingTonnesCo2ePerYear:
              action.saving === 'inhaler-switch'
                ? prescribing.switchEstimate.savingTonnesCo2ePerYear
                : null,
          };
      }
      const index = codes.indexOf(action.code);
      return {
        practice,
        programmeYear: year,
        assessment: state.assessment,
        action,
        theme,
        response: responses.get(action.code) ?? null,
        answerSavedAt: rows.find((row) => row.action_code === action.code)?.updated_at ?? '',
        evidence: evidenceByAction.get(action.code) ?? [],
        returnedComment,
        canManage: canManage(actor, practice),
        editable: isEditable(state.assessment, year) && canManage(actor, practice),
        lockedMessage: lockedMessage(state.assessment, year, latest, state.award),
        practiceData,
        previousCode: codes[index - 1] ?? null,
        nextCode: codes[index + 1] ?? null,
        levels: framework.levels,
      };
    },

    /**
     * Saves the answer to one action, with evidence files already received (recorded in the same
     * transaction, so a refused save keeps none of them). Refused once the assessment is submitted,
     * awarded or of a past year.
     */
    async saveAnswer(
      actor: Actor | null,
      practiceCode: string,
      actionCode: string,
      input: AnswerInput,
      uploads: PendingUpload[],
      context: RequestContext | null,
    ) {
      const practice = await requireManageable(actor, practiceCode);
      const performer = performerOf(actor);
      const year = await openYear();
      const state = year ? await practiceYearState(practice, year) : undefined;
      if (!state?.assessment || !state.frameworkEntry)
        throw new NotFoundError(`${practice.name} has not started its assessment.`);
      const assessment = state.assessment;
      const framework = state.frameworkEntry.framework;
      const action = findAction(framework, actionCode);
      if (!action) throw new NotFoundError('The framework has no such action.');
      const locked = isEditable(assessment, year)
        ? null
        : lockedMessage(assessment, year, state.submissions[0], state.award);
      if (locked) throw new AssessmentLocked(locked);

      const { evidenceByAction, rows } = await loadAnswers(assessment.id);
      const status = input.status.trim();
      const note = input.note.replace(/\r\n?/g, '\n').trim();
      const reason = input.notApplicableReason.replace(/\r\n?/g, '\n').trim();
      const sentReason = status === 'not_applicable' ? reason : '';
      /**
       * Whether the answer was saved again since the form was opened: the refusal to throw, 'same'
       * for this very answer sent twice (a double click, nothing to put back), null if not saved.
       */
      const savedSinceOpened = (savedNow: GgpResponseRow | undefined) => {
        if (input.openedAt === undefined || (savedNow?.updated_at ?? '') === input.openedAt)
          return null;
        const same =
          savedNow !== undefined &&
          savedNow.status === status &&
          savedNow.note === note &&
          savedNow.not_applicable_reason === sentReason;
        if (same && uploads.length === 0) return 'same' as const;
        return new AnswerChangedMeanwhile(
          savedNow?.updated_by === performer.userId,
          savedNow && isResponseStatus(savedNow.status) ? savedNow.status : 'not_started',
        );
      };
      // Before the form's own problems: a form refused for a typo comes back to be corrected
      // against the answer saved now, not over it unawares. Checked again once the assessment is
      // held, for a save in between.
      const changed = savedSinceOpened(rows.find((row) => row.action_code === action.code));
      if (changed instanceof AnswerChangedMeanwhile) throw changed;

      const errors: Record<string, string> = {};
      if (!isResponseStatus(status))
        errors.status =
          'Choose whether the action is done, in progress, not started or not applicable';
      else if (status === 'not_applicable' && action.requiredFor !== null)
        errors.status = `${action.code} is required for ${awardLevelLabels[action.requiredFor]}, so it cannot be marked not applicable`;
      if (note.length > MAX_NOTE_LENGTH)
        errors.note = `What was done must be ${MAX_NOTE_LENGTH.toLocaleString('en-GB')} characters or fewer`;
      if (status === 'not_applicable' && reason === '')
        errors.notApplicableReason = 'Say why the action does not apply to the practice';
      if (reason.length > MAX_REASON_LENGTH)
        errors.notApplicableReason = `The reason must be ${MAX_REASON_LENGTH.toLocaleString('en-GB')} characters or fewer`;
      const held = evidenceByAction.get(action.code)?.length ?? 0;
      if (uploads.length > MAX_FILES_PER_SAVE)
        errors.evidence = `Add at most ${MAX_FILES_PER_SAVE} files at a time`;
      else if (held + uploads.length > MAX_FILES_PER_ACTION)
        errors.evidence = `An action can have at most ${MAX_FILES_PER_ACTION} evidence files; it has ${held}`;
      if (Object.keys(errors).length > 0) throw new ValidationFailed(errors);

      const answer: ActionResponse = {
        status: status as ResponseStatus,
        note,
        notApplicableReason: sentReason,
        evidenceFiles: held + uploads.length,
      };
      const at = now().toISOString();
      return repository.transaction(async (trx) => {
        await claimEditable(trx, assessment, year, { updated_at: at });
        // Checked again once the assessment is held: a save or upload meanwhile is either
        // committed and seen here, or waiting behind this one.
        const before = await loadAnswers(assessment.id, trx);
        const changedNow = savedSinceOpened(
          before.rows.find((row) => row.action_code === action.code),
        );
        if (changedNow instanceof AnswerChangedMeanwhile) throw changedNow;
        if (changedNow === 'same') {
          const points = pointsEarned(framework, before.responses);
          return { points, level: levelReached(framework, before.responses) };
        }
        const heldNow = before.evidenceByAction.get(action.code)?.length ?? 0;
        if (heldNow + uploads.length > MAX_FILES_PER_ACTION)
          throw new ValidationFailed({
            evidence: `An action can have at most ${MAX_FILES_PER_ACTION} evidence files; it has ${heldNow}`,
          });
        answer.evidenceFiles = heldNow + uploads.length;
        await repository.upsertResponse(trx, {
          assessment_id: assessment.id,
          action_code: action.code,
          status: answer.status,
          note: answer.note,
          not_applicable_reason: answer.notApplicableReason,
          updated_by: performer.userId,
          updated_at: at,
        });
        for (const upload of uploads) {
          const file = await deps.files.recordUpload(trx, upload, performer.userId);
          await repository.insertEvidence(trx, {
            id: randomUUID(),
            assessment_id: assessment.id,
            action_code: action.code,
            file_id: file.id,
            added_by: performer.userId,
            added_at: at,
            removed_at: null,
          });
        }
        // Points and level from the answers read after claiming the assessment, with this one as
        // written: another action saved at the same moment is then either committed and counted,
        // or waiting behind this save, never lost from the event's points.
        before.responses.set(action.code, answer);
        const points = pointsEarned(framework, before.responses);
        const level = levelReached(framework, before.responses);
        await recordEvent(trx, assessment, {
          kind: 'answered',
          actionCode: action.code,
          points,
          level,
          userId: performer.userId,
          at,
        });
        await audit.record(
          {
            action: 'greener_practice.answer_saved',
            actorUserId: performer.userId,
            targetType: 'ggp_assessment',
            targetId: assessment.id,
            organisationCode: practice.code,
            details: { action: action.code, status: answer.status, files: uploads.length },
          },
          context,
          trx,
        );
        return { points, level };
      });
    },

    /** Removes an evidence file from an action (kept for past submissions that cite it). */
    /** The page that asks before an evidence file is removed: which file, from which action. */
    async getEvidenceForRemoval(
      actor: Actor | null,
      practiceCode: string,
      actionCode: string,
      fileId: string,
    ) {
      const { practice, framework, file } = await findRemovableEvidence(
        actor,
        practiceCode,
        actionCode,
        fileId,
      );
      const action = allActions(framework).find((candidate) => candidate.code === actionCode);
      if (!action) throw new NotFoundError('That action is not in the framework.');
      return { practice, action, file };
    },

    async removeEvidence(
      actor: Actor | null,
      practiceCode: string,
      actionCode: string,
      fileId: string,
      context: RequestContext | null,
    ) {
      const { practice, performer, year, assessment, framework, file } =
        await findRemovableEvidence(actor, practiceCode, actionCode, fileId);
      const at = now().toISOString();
      await repository.transaction(async (trx) => {
        await claimEditable(trx, assessment, year, { updated_at: at });
        // Already removed by a request just before (a double click): nothing more to do or record.
        if ((await repository.markEvidenceRemoved(trx, assessment.id, fileId, at)) === 0) return;
        // Recorded with the points as they stand: evidence does not change them (a done action
        // without evidence stops a submission instead), but the history shows every removal.
        const saved = await loadAnswers(assessment.id, trx);
        await recordEvent(trx, assessment, {
          kind: 'evidence_removed',
          actionCode,
          points: pointsEarned(framework, saved.responses),
          level: levelReached(framework, saved.responses),
          userId: performer.userId,
          at,
        });
        await audit.record(
          {
            action: 'greener_practice.evidence_removed',
            actorUserId: performer.userId,
            targetType: 'ggp_assessment',
            targetId: assessment.id,
            organisationCode: practice.code,
            details: { action: actionCode, file: file.original_name },
          },
          context,
          trx,
        );
      });
    },

    /** An evidence file of one of the practice's assessments, for those who may read it. */
    async findEvidenceFile(actor: Actor | null, practiceCode: string, fileId: string) {
      const practice = await requireReadable(actor, practiceCode);
      if (!/^[0-9a-f-]{36}$/.test(fileId)) throw new NotFoundError();
      for (const assessment of await repository.listAssessmentsOfPractice(practice.code)) {
        const id = await repository.findEvidenceFileId(assessment.id, fileId);
        if (id) {
          const file = await deps.files.findFile(id);
          if (file) return file;
        }
      }
      throw new NotFoundError('That evidence file was not found.');
    },

    /** The check-your-answers page before submitting: the level claimed and what is missing. */
    async getSubmitPage(actor: Actor | null, practiceCode: string) {
      const page = await service.getAssessmentPage(actor, practiceCode);
      if (!page.canManage) throw new ForbiddenError("Only the practice's green champions submit");
      return page;
    },

    /**
     * Submits the assessment for the next level above any award held this year. Refused, with
     * every reason, unless the answers qualify (points, required actions, evidence) and the person
     * confirms the declaration.
     */
    async submit(
      actor: Actor | null,
      practiceCode: string,
      input: { level: string; confirm: string },
      context: RequestContext | null,
    ) {
      const practice = await requireManageable(actor, practiceCode);
      const performer = performerOf(actor);
      const year = await openYear();
      const state = year ? await practiceYearState(practice, year) : undefined;
      if (!state?.assessment || !state.frameworkEntry)
        throw new NotFoundError(`${practice.name} has not started its assessment.`);
      const assessment = state.assessment;
      const locked = isEditable(assessment, year)
        ? null
        : lockedMessage(assessment, year, state.submissions[0], state.award);
      if (locked) throw new AssessmentLocked(locked);
      const framework = state.frameworkEntry.framework;
      const { responses, evidenceByAction } = await loadAnswers(assessment.id);
      const target = nextLevel(state.award?.level ?? null);
      const level = input.level.trim();
      const errors: Record<string, string> = {};
      if (!target) errors.level = 'The practice already holds Gold, the highest level.';
      else if (!isAwardLevel(level) || levelRank(level) < levelRank(target))
        errors.level = `Choose the level to submit for: ${awardLevelLabels[target]} or above`;
      if (input.confirm !== 'yes')
        errors.confirm = 'Confirm that the answers and evidence are accurate';
      if (Object.keys(errors).length > 0) throw new ValidationFailed(errors);
      const claimed = level as AwardLevel;
      const problems = submissionProblems(framework, responses, claimed);
      if (problems.length > 0)
        throw new SubmissionRefused(
          `The assessment cannot be submitted for ${awardLevelLabels[claimed]} yet`,
          problems.map((problem) => problem.message),
        );
      const points = pointsEarned(framework, responses);
      const snapshotOf = (answers: {
        responses: Map<string, ActionResponse>;
        evidenceByAction: Map<string, EvidenceRow[]>;
      }): SubmissionSnapshot => ({
        points: pointsEarned(framework, answers.responses),
        level: claimed,
        actions: allActions(framework)
          .filter((action) => {
            const status = answers.responses.get(action.code)?.status;
            return status === 'done' || status === 'not_applicable';
          })
          .map((action) => {
            const response = answers.responses.get(action.code)!;
            return {
              code: action.code,
              status: response.status,
              note: response.note,
              notApplicableReason: response.notApplicableReason,
              evidence: (answers.evidenceByAction.get(action.code) ?? []).map((file) => ({
                fileId: file.file_id,
                name: file.original_name,
                sizeBytes: Number(file.size_bytes),
              })),
            };
          }),
      });
      const snapshot = snapshotOf({ responses, evidenceByAction });
      // The verifiers to tell: ICS verifiers and admins above the practice, but none who belongs to
      // it or who is submitting (they could not decide it).
      const ancestors = practice.ancestorPath.split('/').filter(Boolean);
      const [verifiers, practiceMembers] = await Promise.all([
        deps.memberships.findPeopleWithRoles(ancestors, ['ics_verifier', 'ics_admin']),
        deps.memberships.findPeopleWithRoles([practice.code], [...organisationRoles]),
      ]);
      const excluded = new Set([
        performer.userId,
        ...practiceMembers.map((person) => person.user_id),
      ]);
      const recipients = [
        ...new Map(
          verifiers
            .filter((person) => person.email && !excluded.has(person.user_id))
            .map((person) => [person.user_id, person]),
        ).values(),
      ];
      const id = randomUUID();
      const at = now().toISOString();
      // Verifiers were chosen by their role above; each is told in the service and by email.
      const toVerify = await deps.notifications.prepare(
        recipients.map((person) => person.user_id),
        {
          kind: 'programme',
          title: `${practice.name} has submitted for Greener General Practice ${awardLevelLabels[claimed]}`,
          body: `${practice.name} has submitted its ${year!.replace('-', '–')} self-assessment for ${awardLevelLabels[claimed]}, with ${points} points. Please verify it.`,
          link: `/greener-practice/reviews/${id}`,
          actorId: performer.userId,
          dedupeKey: `ggp-submitted:${id}`,
        },
        // Only those who can open the review it leads to (verifying needs two-factor sign-in).
        (recipient) => can(recipient, 'organisation.verify_assessments', practice.resource),
      );
      await repository.transaction(async (trx) => {
        // Of two submits at once, only the first finds the assessment editable; the other is
        // refused as submitted, so there is never more than one submission waiting.
        await claimEditable(trx, assessment, year, { status: 'submitted', updated_at: at });
        // An answer saved between the check above and this claim would be missing from what is
        // sent for verification: the person checks the answers again instead.
        const fresh = snapshotOf(await loadAnswers(assessment.id, trx));
        if (JSON.stringify(fresh) !== JSON.stringify(snapshot))
          throw new SubmissionRefused(
            'The answers changed while the assessment was being submitted',
            ['Check the answers and submit again.'],
          );
        await repository.insertSubmission(trx, {
          id,
          assessment_id: assessment.id,
          framework_version_id: state.frameworkEntry!.version.id,
          level: claimed,
          points,
          snapshot: JSON.stringify(snapshot),
          submitted_by: performer.userId,
          submitted_at: at,
          outcome: 'pending',
          decided_by: null,
          decided_at: null,
          decision_note: null,
        });
        await recordEvent(trx, assessment, {
          kind: 'submitted',
          points,
          level: levelReached(framework, responses),
          userId: performer.userId,
          at,
        });
        await deps.notifications.record(trx, toVerify);
        await audit.record(
          {
            action: 'greener_practice.submitted',
            actorUserId: performer.userId,
            targetType: 'ggp_submission',
            targetId: id,
            organisationCode: practice.code,
            details: { level: claimed, points, programmeYear: year },
          },
          context,
          trx,
        );
      });
      return id;
    },

    /** After an award below Gold: opens the assessment again to work towards the next level. */
    async reopen(actor: Actor | null, practiceCode: string, context: RequestContext | null) {
      const practice = await requireManageable(actor, practiceCode);
      const performer = performerOf(actor);
      const year = await openYear();
      const state = year ? await practiceYearState(practice, year) : undefined;
      if (!state?.assessment || !state.frameworkEntry) throw new NotFoundError();
      const assessment = state.assessment;
      if (assessment.status !== 'awarded' || !state.award || !nextLevel(state.award.level))
        throw new AssessmentLocked(
          assessment.status === 'awarded'
            ? 'The practice holds Gold, the highest level; there is nothing more to work towards this year.'
            : 'Only an awarded assessment can be reopened.',
        );
      const { responses } = await loadAnswers(assessment.id);
      const framework = state.frameworkEntry.framework;
      const at = now().toISOString();
      await repository.transaction(async (trx) => {
        // Only while still awarded: a second reopen at once (a double click) is refused.
        const reopened = await repository.updateAssessmentIfStatus(
          trx,
          assessment.id,
          ['awarded'],
          {
            status: 'in_progress',
            updated_at: at,
          },
        );
        if (reopened !== 1)
          throw new AssessmentLocked(
            'The assessment has already been reopened. Refresh the page to see where it stands.',
          );
        await recordEvent(trx, assessment, {
          kind: 'reopened',
          points: pointsEarned(framework, responses),
          level: levelReached(framework, responses),
          userId: performer.userId,
          at,
        });
        await audit.record(
          {
            action: 'greener_practice.reopened',
            actorUserId: performer.userId,
            targetType: 'ggp_assessment',
            targetId: assessment.id,
            organisationCode: practice.code,
          },
          context,
          trx,
        );
      });
    },

    // --- verification ---

    /** Whether the actor verifies any practice (for the programme page's links). */
    isVerifier(actor: Actor | null): boolean {
      const scope = organisationScope(actor, 'organisation.verify_assessments');
      return scope.kind === 'all' || scope.codes.length > 0;
    },

    /** Submissions waiting for a decision in the practices the actor verifies, and recent decisions. */
    async listSubmissionsToVerify(actor: Actor | null) {
      if (!actor || !service.isVerifier(actor))
        throw new ForbiddenError('Only ICS verifiers verify submissions');
      const inScope = (row: SubmissionListRow) =>
        can(actor, 'organisation.verify_assessments', submissionResource(row).practice);
      const pending = await Promise.all(
        (await repository.listSubmissions({ outcome: 'pending' }))
          .filter(inScope)
          .reverse()
          .map(async (row) => ({
            ...row,
            practiceName: formatName(row.practice_name),
            conflict: await conflictMessage(actor, row, formatName(row.practice_name)),
          })),
      );
      const decided = [
        ...(await repository.listSubmissions({ outcome: 'approved' })),
        ...(await repository.listSubmissions({ outcome: 'returned' })),
      ]
        .filter(inScope)
        .sort((a, b) => (b.decided_at ?? '').localeCompare(a.decided_at ?? ''))
        .slice(0, 20)
        .map((row) => ({ ...row, practiceName: formatName(row.practice_name) }));
      return { pending, decided };
    },

    /** A submission as the verifier reviews it: every claimed answer, its evidence and guidance. */
    async getReview(actor: Actor | null, submissionId: string) {
      const submission = /^[0-9a-f-]{36}$/.test(submissionId)
        ? await repository.findSubmission(submissionId)
        : undefined;
      if (!submission) throw new NotFoundError('There is no such submission.');
      if (!can(actor, 'organisation.verify_assessments', submissionResource(submission).practice))
        throw new ForbiddenError('Only ICS verifiers of the practice review its submissions');
      const version = (await repository.findFrameworkVersion(submission.framework_version_id))!;
      const framework = frameworkOf(version);
      const snapshot = parseSnapshot(submission.snapshot);
      const claimed = new Map(snapshot.actions.map((entry) => [entry.code, entry]));
      const practiceName = formatName(submission.practice_name);
      const comments = await repository.findReviewComments(submission.id);
      return {
        submission,
        practiceName,
        framework,
        frameworkVersion: version,
        snapshot,
        claimedLevel: framework.levels.find((level) => level.id === snapshot.level)!,
        themes: framework.themes
          .map((theme) => ({
            theme,
            actions: theme.actions
              .filter((action) => claimed.has(action.code))
              .map((action) => ({
                action,
                answer: claimed.get(action.code)!,
                required: isRequiredFor(action, snapshot.level),
              })),
          }))
          .filter((entry) => entry.actions.length > 0),
        requiredNotClaimed: allActions(framework).filter(
          (action) =>
            isRequiredFor(action, snapshot.level) && claimed.get(action.code)?.status !== 'done',
        ),
        conflict: actor ? await conflictMessage(actor, submission, practiceName) : null,
        comments: new Map(comments.map((comment) => [comment.action_code, comment.comment])),
        statusLabels: responseStatusLabels,
      };
    },

    /**
     * Approves a submission (the award is made at the level claimed) or returns it with a comment
     * on each action to fix. Refused to anyone who belongs to the practice or submitted it, with
     * a message saying so; refused once decided.
     */
    async decide(
      actor: Actor | null,
      submissionId: string,
      input: DecisionInput,
      context: RequestContext | null,
    ) {
      const submission = /^[0-9a-f-]{36}$/.test(submissionId)
        ? await repository.findSubmission(submissionId)
        : undefined;
      if (!submission) throw new NotFoundError('There is no such submission.');
      const resource = submissionResource(submission);
      if (!actor || !can(actor, 'organisation.verify_assessments', resource.practice))
        throw new ForbiddenError('Only ICS verifiers of the practice decide its submissions');
      const practiceName = formatName(submission.practice_name);
      const conflict = await conflictMessage(actor, submission, practiceName);
      if (conflict) throw new VerificationConflict(conflict);
      assertCan(actor, 'assessment.verify', await verifiableSubmission(submission));
      const alreadyDecided = (decided: SubmissionListRow) =>
        new ValidationFailed({
          decision: `This submission was already ${decided.outcome} on ${formatDate(decided.decided_at ?? '')}.`,
        });
      if (submission.outcome !== 'pending') throw alreadyDecided(submission);
      const version = (await repository.findFrameworkVersion(submission.framework_version_id))!;
      const framework = frameworkOf(version);
      const snapshot = parseSnapshot(submission.snapshot);
      const claimedCodes = new Set(snapshot.actions.map((entry) => entry.code));
      const errors: Record<string, string> = {};
      const decision = input.decision.trim();
      const note = input.note.replace(/\r\n?/g, '\n').trim();
      const comments: { actionCode: string; comment: string }[] = [];
      for (const [code, text] of Object.entries(input.comments)) {
        const comment = text.replace(/\r\n?/g, '\n').trim();
        if (comment === '') continue;
        if (!claimedCodes.has(code) && !findAction(framework, code)) continue;
        if (comment.length > MAX_COMMENT_LENGTH)
          errors[`comment-${code}`] =
            `The comment on ${code} must be ${MAX_COMMENT_LENGTH.toLocaleString('en-GB')} characters or fewer`;
        comments.push({ actionCode: code, comment });
      }
      if (decision !== 'approve' && decision !== 'return')
        errors.decision = 'Choose whether to approve the submission or return it';
      else if (decision === 'return' && comments.length === 0)
        errors.decision =
          'To return the submission, write a comment on at least one action saying what to change';
      if (note.length > MAX_COMMENT_LENGTH)
        errors.note = `The note must be ${MAX_COMMENT_LENGTH.toLocaleString('en-GB')} characters or fewer`;
      if (decision === 'approve') {
        const problems = submissionProblems(framework, snapshotResponses(snapshot), snapshot.level);
        if (problems.length > 0) errors.decision = `It cannot be approved: ${problems[0]!.message}`;
      }
      if (Object.keys(errors).length > 0) throw new ValidationFailed(errors);

      const assessment = (await repository.findAssessment(
        submission.practice_code,
        submission.programme_year,
      ))!;
      const submitter = submission.submitted_by
        ? await deps.accounts.findUserById(submission.submitted_by)
        : undefined;
      const at = now().toISOString();
      const approve = decision === 'approve';
      const decided =
        submitter?.status === 'active'
          ? await deps.notifications.prepare(
              [submitter.id],
              {
                kind: 'programme',
                title: approve
                  ? `${practiceName} has been awarded Greener General Practice ${awardLevelLabels[snapshot.level]}`
                  : `Your Greener General Practice submission for ${practiceName} has been returned`,
                body: approve
                  ? `${practiceName}'s submission for ${awardLevelLabels[snapshot.level]} has been verified and approved.${note ? `\n\nA note from the verifier:\n${note}` : ''}\n\nSee the award and download the certificate.`
                  : `The verifier has returned ${practiceName}'s submission for ${awardLevelLabels[snapshot.level]}, with comments on ${comments.length} action(s):\n\n${comments.map((entry) => `${entry.actionCode}: ${entry.comment}`).join('\n\n')}${note ? `\n\nA note from the verifier:\n${note}` : ''}\n\nMake the changes and submit again.`,
                link: approve
                  ? `/greener-practice/practices/${submission.practice_code}`
                  : `/greener-practice/practices/${submission.practice_code}/assessment`,
                actorId: actor.userId,
                dedupeKey: `ggp-decided:${submission.id}`,
              },
              // The comments are the practice's: not for a submitter who has left it since.
              (recipient) =>
                can(
                  recipient,
                  'organisation.read_members_only',
                  submissionResource(submission).practice,
                ),
            )
          : [];
      await repository.transaction(async (trx) => {
        const updated = await repository.decideSubmission(trx, submission.id, {
          outcome: approve ? 'approved' : 'returned',
          decided_by: actor.userId,
          decided_at: at,
          decision_note: note || null,
        });
        // Decided by another request since it was read above (two verifiers, or a double click):
        // only a pending submission is decided, so the second is refused, saying how it was decided.
        if (updated !== 1) {
          const decided = await repository.findSubmission(submission.id, trx);
          throw decided && decided.outcome !== 'pending'
            ? alreadyDecided(decided)
            : new ValidationFailed({ decision: 'This submission was already decided.' });
        }
        await repository.insertReviewComments(trx, submission.id, comments);
        // The assessment is decided only while it waits for verification: a second submission left
        // waiting beside the first (possible before a submit was checked inside its transaction)
        // must not award the year's level twice nor return an awarded assessment.
        const moved = await repository.updateAssessmentIfStatus(trx, assessment.id, ['submitted'], {
          status: approve ? 'awarded' : 'returned',
          updated_at: at,
        });
        if (moved !== 1)
          throw new ValidationFailed({
            decision:
              "This submission can no longer be decided: the practice's assessment is not waiting for verification.",
          });
        if (approve)
          await repository.insertAward(trx, {
            id: randomUUID(),
            assessment_id: assessment.id,
            practice_code: submission.practice_code,
            programme_year: submission.programme_year,
            level: snapshot.level,
            points: snapshot.points,
            submission_id: submission.id,
            framework_version_id: version.id,
            approved_by: actor.userId,
            awarded_at: at,
            is_example: assessment.is_example,
          });
        await recordEvent(trx, assessment, {
          kind: approve ? 'approved' : 'returned',
          points: snapshot.points,
          level: approve ? snapshot.level : null,
          userId: actor.userId,
          at,
        });
        await deps.notifications.record(trx, decided);
        await audit.record(
          {
            action: approve ? 'greener_practice.approved' : 'greener_practice.returned',
            actorUserId: actor.userId,
            targetType: 'ggp_submission',
            targetId: submission.id,
            organisationCode: submission.practice_code,
            details: { level: snapshot.level, points: snapshot.points, comments: comments.length },
          },
          context,
          trx,
        );
      });
      return { outcome: approve ? ('approved' as const) : ('returned' as const) };
    },

    // --- awards ---

    /** Awarded practices, the highest level per practice and year, newest year first. */
    async listAwards(filter: { programmeYear?: string; level?: AwardLevel } = {}) {
      const rows = await repository.listAwards({ programmeYear: filter.programmeYear });
      const best = new Map<string, AwardListRow>();
      for (const row of rows) {
        const key = `${row.programme_year}|${row.practice_code}`;
        const held = best.get(key);
        if (!held || levelRank(row.level) > levelRank(held.level)) best.set(key, row);
      }
      return [...best.values()]
        .filter((row) => !filter.level || row.level === filter.level)
        .map((row) => ({ ...row, practiceName: formatName(row.practice_name) }))
        .sort(
          (a, b) =>
            b.programme_year.localeCompare(a.programme_year) ||
            levelRank(b.level) - levelRank(a.level) ||
            a.practiceName.localeCompare(b.practiceName),
        );
    },

    /** The award behind a certificate: the practice's highest level in the year. */
    async getCertificate(practiceCode: string, programmeYear: string) {
      const practice = await requirePractice(practiceCode);
      const award = highestAward(
        await repository.listAwards({ practiceCode: practice.code, programmeYear }),
      );
      if (!award) throw new NotFoundError(`${practice.name} holds no award for ${programmeYear}.`);
      const version = (await repository.findFrameworkVersion(award.framework_version_id))!;
      return { practice, award, framework: frameworkOf(version) };
    },

    // --- the practice dashboard ---

    /**
     * The page a practice can live in: its award and next steps, its inhaler measures, the plan
     * actions it leads, its case studies and the next actions ranked by expected impact.
     */
    async getPracticeDashboard(actor: Actor | null, practiceCode: string) {
      const practice = await requirePractice(practiceCode);
      const year = await openYear();
      const frameworkEntry = year ? await frameworkForYear(year) : undefined;
      const assessment = year ? await repository.findAssessment(practice.code, year) : undefined;
      const answers = assessment
        ? await loadAnswers(assessment.id)
        : { responses: new Map<string, ActionResponse>(), evidenceByAction: new Map() };
      const allAwards = await repository.listAwards({ practiceCode: practice.code });
      const currentAward = highestAward(allAwards.filter((award) => award.programme_year === year));
      const framework = frameworkEntry?.framework;
      const prescribingDashboard = await deps.prescribing.getPracticeDashboard(practice.code);
      const measures = new Map<string, MeasureStanding>();
      for (const measure of prescribingDashboard?.measures ?? [])
        if (measure.latest)
          measures.set(measure.definition.id, {
            value: measure.latest.value,
            decile: measure.latest.decile,
            lowIsGood: measure.definition.lowIsGood,
          });
      const target = nextLevel(currentAward?.level ?? null);
      const recommendations = framework
        ? recommendActions({
            framework,
            responses: answers.responses,
            measures,
            inhalerSwitchSavingTonnes:
              prescribingDashboard?.switchEstimate.savingTonnesCo2ePerYear ?? null,
            nextLevel: target,
          }).slice(0, 5)
        : [];
      const caseStudyByArea = new Map<
        string,
        { title: string; href: string; isExample: boolean } | null
      >();
      // The latest readable case study in the action's area with its tag, else in its area.
      for (const recommendation of recommendations) {
        const { areaOfFocus: area, caseStudyTag: tag } = recommendation.action;
        const key = `${area ?? ''}|${tag ?? ''}`;
        if (!area || caseStudyByArea.has(key)) continue;
        let item = tag
          ? (await deps.content.list(actor, { type: 'case_study', area, tag, limit: 1, offset: 0 }))
              .items[0]
          : undefined;
        item ??= (await deps.content.list(actor, { type: 'case_study', area, limit: 1, offset: 0 }))
          .items[0];
        caseStudyByArea.set(
          key,
          item ? { title: item.title, href: item.href, isExample: item.isExample } : null,
        );
      }
      const caseStudies = await deps.content.list(actor, {
        type: 'case_study',
        organisation: practice.code,
        limit: 5,
        offset: 0,
      });
      const planActions = await deps.greenPlans.listActionsLedBy(actor, practice.code);
      const page = await deps.organisations.getOrganisationPage(practice.code);
      const points = framework ? pointsEarned(framework, answers.responses) : 0;
      const standings = framework ? levelStandings(framework, answers.responses) : [];
      return {
        practice,
        profile: page?.practice ?? null,
        programmeYear: year,
        framework,
        totalPoints: framework ? totalPoints(framework) : 0,
        assessment: assessment ?? null,
        points,
        level: framework ? levelReached(framework, answers.responses) : null,
        standings,
        targetStanding: standings.find((standing) => standing.level === target) ?? null,
        currentAward,
        pastAwards: allAwards.filter((award) => award.programme_year !== year),
        targetLevel: target,
        canSeeAssessment: canRead(actor, practice),
        canManage: canManage(actor, practice),
        prescribing: prescribingDashboard
          ? {
              latestMonth: prescribingDashboard.latestMonth,
              measures: prescribingDashboard.measures.map((measure) => ({
                id: measure.definition.id as MeasureId,
                title: measure.definition.title,
                unit: measure.definition.unit,
                lowIsGood: measure.definition.lowIsGood,
                latest: measure.latest,
              })),
              switchEstimate: prescribingDashboard.switchEstimate,
              referenceVersion: prescribingDashboard.referenceVersion,
            }
          : null,
        recommendations: recommendations.map((recommendation) => ({
          ...recommendation,
          measureTitle: recommendation.measure
            ? (measureDefinitions[recommendation.measure.id as MeasureId]?.title ??
              recommendation.measure.id)
            : null,
          measureUnit: recommendation.measure
            ? (measureDefinitions[recommendation.measure.id as MeasureId]?.unit ?? '')
            : null,
          caseStudy:
            caseStudyByArea.get(
              `${recommendation.action.areaOfFocus ?? ''}|${recommendation.action.caseStudyTag ?? ''}`,
            ) ?? null,
        })),
        planActions,
        caseStudies: caseStudies.items,
      };
    },

    // --- example content ---

    /**
     * Writes an example assessment for the seed, with its history dated as given: answers, then a
     * submission and an approval when an award is wanted. Marked as example; skipped if the
     * practice already has an assessment for the year.
     */
    async seedExampleAssessment(plan: {
      practiceCode: string;
      programmeYear: string;
      startedAt: string;
      answers: { code: string; status: ResponseStatus; note: string; at: string }[];
      award?: { level: AwardLevel; submittedAt: string; awardedAt: string };
      submittedOnly?: { level: AwardLevel; submittedAt: string };
    }): Promise<boolean> {
      if (await repository.findAssessment(plan.practiceCode, plan.programmeYear)) return false;
      const entry = await frameworkForYear(plan.programmeYear);
      if (!entry) return false;
      const framework = entry.framework;
      const assessment: GgpAssessmentRow = {
        id: randomUUID(),
        practice_code: plan.practiceCode,
        programme_year: plan.programmeYear,
        status: plan.award ? 'awarded' : plan.submittedOnly ? 'submitted' : 'in_progress',
        is_example: 1,
        created_by: null,
        created_at: plan.startedAt,
        updated_at: plan.answers.at(-1)?.at ?? plan.startedAt,
      };
      await repository.transaction(async (trx) => {
        await repository.insertAssessment(trx, assessment);
        await recordEvent(trx, assessment, {
          kind: 'started',
          points: 0,
          level: null,
          userId: null,
          at: plan.startedAt,
        });
        const responses = new Map<string, ActionResponse>();
        for (const answer of plan.answers) {
          await repository.upsertResponse(trx, {
            assessment_id: assessment.id,
            action_code: answer.code,
            status: answer.status,
            note: answer.note,
            not_applicable_reason: answer.status === 'not_applicable' ? answer.note : '',
            updated_by: null,
            updated_at: answer.at,
          });
          responses.set(answer.code, {
            status: answer.status,
            note: answer.note,
            notApplicableReason: answer.status === 'not_applicable' ? answer.note : '',
            evidenceFiles: 0,
          });
          await recordEvent(trx, assessment, {
            kind: 'answered',
            actionCode: answer.code,
            points: pointsEarned(framework, responses),
            level: levelReached(framework, responses),
            userId: null,
            at: answer.at,
          });
        }
        const submitted = plan.award ?? plan.submittedOnly;
        if (submitted) {
          const submissionId = randomUUID();
          const points = pointsEarned(framework, responses);
          const snapshot: SubmissionSnapshot = {
            points,
            level: submitted.level,
            actions: plan.answers
              .filter((answer) => answer.status === 'done' || answer.status === 'not_applicable')
              .map((answer) => ({
                code: answer.code,
                status: answer.status,
                note: answer.note,
                notApplicableReason: answer.status === 'not_applicable' ? answer.note : '',
                evidence: [],
              })),
          };
          await repository.insertSubmission(trx, {
            id: submissionId,
            assessment_id: assessment.id,
            framework_version_id: entry.version.id,
            level: submitted.level,
            points,
            snapshot: JSON.stringify(snapshot),
            submitted_by: null,
            submitted_at: submitted.submittedAt,
            outcome: plan.award ? 'approved' : 'pending',
            decided_by: null,
            decided_at: plan.award?.awardedAt ?? null,
            decision_note: plan.award ? 'Example award loaded by the seed.' : null,
          });
          await recordEvent(trx, assessment, {
            kind: 'submitted',
            points,
            level: levelReached(framework, responses),
            userId: null,
            at: submitted.submittedAt,
          });
          if (plan.award) {
            await repository.insertAward(trx, {
              id: randomUUID(),
              assessment_id: assessment.id,
              practice_code: plan.practiceCode,
              programme_year: plan.programmeYear,
              level: plan.award.level,
              points,
              submission_id: submissionId,
              framework_version_id: entry.version.id,
              approved_by: null,
              awarded_at: plan.award.awardedAt,
              is_example: 1,
            });
            await recordEvent(trx, assessment, {
              kind: 'approved',
              points,
              level: plan.award.level,
              userId: null,
              at: plan.award.awardedAt,
            });
          }
        }
      });
      return true;
    },

    /** For a person's personal data download. */
    async collectPersonalData(userId: string): Promise<Record<string, unknown>> {
      const contributions = await repository.findContributionsOf(userId);
      return {
        answers: contributions.responses,
        evidenceFiles: contributions.evidence,
        submissions: contributions.submissions.map((row) => ({
          practice: row.practice_code,
          programmeYear: row.programme_year,
          level: row.level,
          submittedAt: row.submitted_at,
          outcome: row.outcome,
        })),
        decisions: contributions.decisions.map((row) => ({
          practice: row.practice_code,
          programmeYear: row.programme_year,
          level: row.level,
          outcome: row.outcome,
          decidedAt: row.decided_at,
          note: row.decision_note,
        })),
      };
    },

    yearLabel(programmeYear: string): string {
      return programmeYear.replace('-', '–');
    },

    nextYearAfter(programmeYear: string): string {
      return formatProgrammeYear(Number(programmeYear.slice(0, 4)) + 1);
    },

    hasEvidence,
  };
  return service;
}

export type GreenerPracticeService = ReturnType<typeof createGreenerPracticeService>;

/** Editing refused because of the assessment's state; the message says why and what to do. */
export class AssessmentLocked extends Error {
  override name = 'AssessmentLocked';
  readonly statusCode = 409;
}

/**
 * The action's answer was saved again after the form was opened (by someone else, or by the
 * same person in another tab): saving the form would put back what it showed. Nothing is saved.
 */
export class AnswerChangedMeanwhile extends Error {
  override name = 'AnswerChangedMeanwhile';
  readonly statusCode = 409;
  constructor(
    /** Whether the person saving is the one who saved it meanwhile. */
    readonly bySamePerson: boolean,
    /** The answer's status as saved now. */
    readonly statusNow: ResponseStatus,
  ) {
    super('The answer was saved again after the form was opened');
  }
}

/** A submission refused for what the assessment lacks; every problem, for the page to list. */
export class SubmissionRefused extends Error {
  override name = 'SubmissionRefused';
  constructor(
    message: string,
    readonly problems: string[],
  ) {
    super(message);
  }
}

/** Names in the organisation data are in capitals; written as people write them. */
const formatName = formatOrganisationName;

function formatDate(iso: string): string {
  if (!iso) return '';
  return new Intl.DateTimeFormat('en-GB', {
    day: 'numeric',
    month: 'long',
    year: 'numeric',
    timeZone: 'Europe/London',
  }).format(new Date(iso));
}
