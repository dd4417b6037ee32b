import type { Migration } from 'kysely';
import * as organisations from './0001-organisations.ts';
import * as prescribing from './0003-prescribing.ts';
import * as files from './0004-files.ts';
import * as content from './0006-content.ts';
import * as discussions from './0007-discussions.ts';
import * as actionCommentsAsPosts from './0008-action-comments-as-posts.ts';
import * as accounts from './0002-accounts.ts';
import * as greenPlans from './0005-green-plans.ts';
import * as greenerGeneralPractice from './0009-greener-general-practice.ts';
import * as prescribingLinesWithoutRowid from './0010-prescribing-lines-without-rowid.ts';
import * as searchWithoutHiddenOpeningPosts from './0011-search-without-hidden-opening-posts.ts';
import * as prescribingTotalRollups from './0012-prescribing-total-rollups.ts';
import * as contentRevisionLabels from './0013-content-revision-labels.ts';
import * as auditTargetIndex from './0014-audit-target-index.ts';
import * as onePendingJoinRequest from './0015-one-pending-join-request.ts';
import * as onePendingWorkspaceRequest from './0016-one-pending-workspace-request.ts';
import * as formSubmissions from './0017-form-submissions.ts';
import * as setupSteps from './0018-setup-steps.ts';

/**
 * Every migration, in order. Migrations are forward-only (no `down`): a mistake is corrected by a
 * new migration, never by rewriting one that may already have run somewhere.
 * Names sort in the order they must run.
 */
export const migrations: Record<string, Migration> = {
  '0001-organisations': organisations,
  '0002-accounts': accounts,
  '0003-prescribing': prescribing,
  '0004-files': files,
  '0005-green-plans': greenPlans,
  '0006-content': content,
  '0007-discussions': discussions,
  '0008-action-comments-as-posts': actionCommentsAsPosts,
  '0009-greener-general-practice': greenerGeneralPractice,
  '0010-prescribing-lines-without-rowid': prescribingLinesWithoutRowid,
  '0011-search-without-hidden-opening-posts': searchWithoutHiddenOpeningPosts,
  '0012-prescribing-total-rollups': prescribingTotalRollups,
  '0013-content-revision-labels': contentRevisionLabels,
  '0014-audit-target-index': auditTargetIndex,
  '0015-one-pending-join-request': onePendingJoinRequest,
  '0016-one-pending-workspace-request': onePendingWorkspaceRequest,
  '0017-form-submissions': formSubmissions,
  '0018-setup-steps': setupSteps,
};
