import type { Generated, Insertable, Selectable, Updateable } from 'kysely';

/**
 * Column types are chosen to behave the same on SQLite and PostgreSQL (see
 * docs/decisions/0002-portable-column-types.md): timestamps are ISO 8601 UTC text, calendar dates
 * are `YYYY-MM-DD` text, and flags are integers 0/1.
 */
export interface Database {
  organisations: OrganisationsTable;
  practice_profiles: PracticeProfilesTable;
  reference_datasets: ReferenceDatasetsTable;
  epd_imports: EpdImportsTable;
  epd_presentations: EpdPresentationsTable;
  epd_practice_months: EpdPracticeMonthsTable;
  epd_chapter3_lines: EpdChapter3LinesTable;
  epd_practice_measures: EpdPracticeMeasuresTable;
  epd_measure_rollups: EpdMeasureRollupsTable;
  users: UsersTable;
  sessions: SessionsTable;
  email_tokens: EmailTokensTable;
  recovery_codes: RecoveryCodesTable;
  external_identities: ExternalIdentitiesTable;
  memberships: MembershipsTable;
  join_requests: JoinRequestsTable;
  invitations: InvitationsTable;
  audit_events: AuditEventsTable;
  rate_limit_counters: RateLimitCountersTable;
  form_submissions: FormSubmissionsTable;
  setup_steps: SetupStepsTable;
  email_messages: EmailMessagesTable;
  stored_files: StoredFilesTable;
  file_chunks: FileChunksTable;
  green_plans: GreenPlansTable;
  green_plan_areas: GreenPlanAreasTable;
  green_plan_actions: GreenPlanActionsTable;
  green_plan_action_partners: GreenPlanActionPartnersTable;
  green_plan_milestones: GreenPlanMilestonesTable;
  green_plan_updates: GreenPlanUpdatesTable;
  green_plan_update_files: GreenPlanUpdateFilesTable;
  green_plan_update_links: GreenPlanUpdateLinksTable;
  green_plan_action_changes: GreenPlanActionChangesTable;
  green_plan_kpis: GreenPlanKpisTable;
  green_plan_kpi_targets: GreenPlanKpiTargetsTable;
  green_plan_kpi_data_points: GreenPlanKpiDataPointsTable;
  green_plan_kpi_actions: GreenPlanKpiActionsTable;
  green_plan_imports: GreenPlanImportsTable;
  workspaces: WorkspacesTable;
  workspace_members: WorkspaceMembersTable;
  content_items: ContentItemsTable;
  content_areas: ContentAreasTable;
  content_organisation_tags: ContentOrganisationTagsTable;
  content_tags: ContentTagsTable;
  content_revisions: ContentRevisionsTable;
  content_files: ContentFilesTable;
  content_search: ContentSearchTable;
  workspace_requests: WorkspaceRequestsTable;
  conversations: ConversationsTable;
  discussion_threads: DiscussionThreadsTable;
  posts: PostsTable;
  post_revisions: PostRevisionsTable;
  post_reactions: PostReactionsTable;
  post_reports: PostReportsTable;
  follows: FollowsTable;
  notifications: NotificationsTable;
  notification_preferences: NotificationPreferencesTable;
  discussion_search: DiscussionSearchTable;
  ggp_framework_versions: GgpFrameworkVersionsTable;
  ggp_assessments: GgpAssessmentsTable;
  ggp_responses: GgpResponsesTable;
  ggp_evidence_files: GgpEvidenceFilesTable;
  ggp_submissions: GgpSubmissionsTable;
  ggp_review_comments: GgpReviewCommentsTable;
  ggp_awards: GgpAwardsTable;
  ggp_events: GgpEventsTable;
}

export const organisationTypes = [
  'region',
  'icb',
  'sub_icb_location',
  'pcn',
  'gp_practice',
  'nhs_trust',
  'local_authority',
] as const;
export type OrganisationType = (typeof organisationTypes)[number];

export interface OrganisationsTable {
  /** ODS code for NHS bodies; ONS code for local authorities, which have no ODS code. */
  code: string;
  org_type: OrganisationType;
  name: string;
  ons_code: string | null;
  parent_code: string | null;
  /**
   * Codes of every ancestor, root first, as `/Y60/QK1/03W/`; `/` for a root. Lets a query find
   * everything under an organisation with one LIKE on either database.
   */
  ancestor_path: string;
  /** Postal address lines joined by newlines, as published. */
  address: string | null;
  postcode: string | null;
  telephone: string | null;
  opened_on: string | null;
  /** The reference dataset the row was last loaded from. */
  source_dataset: string;
  /** Set when a later reference data load no longer lists the organisation. */
  retired_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface PracticeProfilesTable {
  practice_code: string;
  pcn_code: string | null;
  registered_patients: number | null;
  registered_patients_on: string | null;
  imd2019_score: number | null;
  /** National decile among GP practices, 1 = most deprived. */
  imd2019_decile: number | null;
  /** National quintile among GP practices, 1 = most deprived. */
  imd2019_quintile: number | null;
  approx_latitude: number | null;
  approx_longitude: number | null;
  location_basis: string | null;
  updated_at: string;
}

export interface ReferenceDatasetsTable {
  /** File path relative to the reference data folder. */
  dataset_key: string;
  title: string;
  publisher: string;
  licence: string;
  data_date: string;
  sha256: string;
  row_count: number;
  loaded_at: string;
}

export type OrganisationRow = Selectable<OrganisationsTable>;
export type NewOrganisation = Insertable<OrganisationsTable>;
export type OrganisationUpdate = Updateable<OrganisationsTable>;
export type PracticeProfileRow = Selectable<PracticeProfilesTable>;
export type NewPracticeProfile = Insertable<PracticeProfilesTable>;
export type ReferenceDatasetRow = Selectable<ReferenceDatasetsTable>;

// --- accounts, memberships, audit, rate limits and email (migration 0002) ---

export type UserStatus = 'active' | 'disabled' | 'deleted';

export interface UsersTable {
  id: string;
  /** Unique, for @mentions: letters, digits, dots and hyphens. */
  handle: string | null;
  /** Lower-cased; null once the account is deleted. */
  email: string | null;
  email_verified_at: string | null;
  display_name: string;
  /** argon2id PHC string; null for accounts that only sign in through single sign-on. */
  password_hash: string | null;
  status: UserStatus;
  is_platform_admin: Generated<number>;
  /** The TOTP secret, encrypted with the application key (AES-256-GCM). */
  totp_secret_encrypted: string | null;
  totp_enabled_at: string | null;
  /** The last TOTP time step accepted, so a code cannot be used twice. */
  totp_last_step: number | null;
  created_at: string;
  updated_at: string;
  deleted_at: string | null;
}

export interface SessionsTable {
  /** SHA-256 of the session token: the token itself is only ever in the user's cookie. */
  id: string;
  user_id: string;
  /** 0 while a user with two-factor authentication has given their password but not their code. */
  second_factor_verified: number;
  created_at: string;
  last_seen_at: string;
  /** The absolute end of the session, however active. */
  expires_at: string;
  ip: string | null;
  user_agent: string | null;
}

export type EmailTokenPurpose = 'verify_email' | 'reset_password' | 'change_email';

export interface EmailTokensTable {
  /** SHA-256 of the token sent by email. */
  id: string;
  user_id: string;
  purpose: EmailTokenPurpose;
  new_email: string | null;
  created_at: string;
  expires_at: string;
  used_at: string | null;
}

export interface RecoveryCodesTable {
  id: string;
  user_id: string;
  code_hash: string;
  created_at: string;
  used_at: string | null;
}

export interface ExternalIdentitiesTable {
  id: string;
  user_id: string;
  issuer: string;
  subject: string;
  email: string | null;
  created_at: string;
}

export interface MembershipsTable {
  id: string;
  user_id: string;
  organisation_code: string;
  role: string;
  created_at: string;
  updated_at: string;
}

export type JoinRequestStatus = 'pending' | 'approved' | 'declined' | 'withdrawn';

export interface JoinRequestsTable {
  id: string;
  user_id: string;
  organisation_code: string;
  message: string | null;
  status: JoinRequestStatus;
  created_at: string;
  decided_at: string | null;
  decided_by: string | null;
  decision_note: string | null;
}

export interface InvitationsTable {
  id: string;
  organisation_code: string;
  email: string;
  role: string;
  token_hash: string;
  invited_by: string;
  created_at: string;
  expires_at: string;
  accepted_at: string | null;
  accepted_by: string | null;
  revoked_at: string | null;
}

export interface AuditEventsTable {
  id: Generated<number>;
  occurred_at: string;
  actor_user_id: string | null;
  action: string;
  outcome: 'success' | 'failure' | 'refused';
  target_type: string | null;
  target_id: string | null;
  organisation_code: string | null;
  ip: string | null;
  user_agent: string | null;
  /** JSON object with event-specific facts; never secrets. */
  details: string | null;
}

/** Steps of setting up a database, recorded once finished (migration 0018). */
export interface SetupStepsTable {
  name: string;
  completed_at: string;
}

/** What a form sent once has done, by its one-time key (migration 0017). */
export interface FormSubmissionsTable {
  user_id: string;
  submission_key: string;
  /** SHA-256 of what the form asked for, so a key sent again with other content is a new request. */
  content_hash: string;
  /** Where the first request's result lives, to show a repeat. */
  result_link: string;
  created_at: string;
}

export interface RateLimitCountersTable {
  bucket_key: string;
  window_start: string;
  hits: number;
}

export type EmailStatus = 'pending' | 'sent' | 'failed';

export interface EmailMessagesTable {
  id: string;
  kind: string;
  to_address: string;
  subject: string;
  text_body: string;
  html_body: string | null;
  /** JSON object of extra headers, such as List-Unsubscribe. */
  headers: string | null;
  status: EmailStatus;
  attempts: number;
  next_attempt_at: string;
  locked_until: string | null;
  last_error: string | null;
  created_at: string;
  sent_at: string | null;
}

export type UserRow = Selectable<UsersTable>;
export type SessionRow = Selectable<SessionsTable>;
export type MembershipRow = Selectable<MembershipsTable>;
export type JoinRequestRow = Selectable<JoinRequestsTable>;
export type InvitationRow = Selectable<InvitationsTable>;
export type AuditEventRow = Selectable<AuditEventsTable>;
export type EmailMessageRow = Selectable<EmailMessagesTable>;

// --- prescribing: English Prescribing Dataset chapter 3 and inhaler measures (migration 0003) ---

/** The import currently held for each month (a re-import replaces the row with the data). */
export interface EpdImportsTable {
  month: string;
  source: string;
  file_name: string;
  layout: string;
  file_bytes: number;
  rows_read: number;
  chapter3_rows: number;
  items: number;
  chapter3_items: number;
  actual_cost: number;
  chapter3_actual_cost: number;
  practices: number;
  chapter3_codes: number;
  unclassified_codes: number;
  doses_converted_lines: number;
  doses_unknown_lines: number;
  reference_version: string;
  reference_sha256: string;
  imported_at: string;
  duration_ms: number;
}

/** How each chapter 3 code of a month was classified, with the reference values used. */
export interface EpdPresentationsTable {
  month: string;
  bnf_code: string;
  description: string;
  /** inhaler | not-inhaler | unclassified */
  classification: string;
  basis: string | null;
  reason: string | null;
  medicine: string | null;
  device_type: string | null;
  propellant: string | null;
  kgco2e_per_inhaler: number | null;
  kgco2e_method: string | null;
  kgco2e_source: string | null;
  doses_per_inhaler: number | null;
  reference_version: string;
}

/** A practice as published in the month's EPD, with the hierarchy used for roll-ups. */
export interface EpdPracticeMonthsTable {
  month: string;
  practice_code: string;
  practice_name: string;
  postcode: string | null;
  pcn_code: string | null;
  pcn_name: string | null;
  sub_icb_code: string | null;
  sub_icb_name: string | null;
  icb_code: string | null;
  icb_name: string | null;
  region_code: string | null;
  region_name: string | null;
  /** organisations (Greenspace reference data) or epd (as published in the file). */
  hierarchy_source: string;
  list_size: number | null;
}

/** Chapter 3 prescribing aggregated per practice × month × BNF code. */
export interface EpdChapter3LinesTable {
  month: string;
  practice_code: string;
  bnf_code: string;
  items: number;
  /** Sum of TOTAL_QUANTITY as published. */
  quantity: number;
  actual_cost: number;
  nic: number;
  /** Inhalers after the quantity rule; null for codes that are not inhalers. */
  inhalers: number | null;
  kgco2e: number | null;
  /** as-recorded | doses-to-inhalers | doses-unknown; null for codes that are not inhalers. */
  quantity_rule: string | null;
}

export interface EpdPracticeMeasuresTable {
  month: string;
  measure_id: string;
  practice_code: string;
  numerator: number;
  denominator: number | null;
  value: number | null;
  percentile: number | null;
  decile: number | null;
}

export interface EpdMeasureRollupsTable {
  month: string;
  /** pcn | sub-icb | icb | region | national */
  level: string;
  measure_id: string;
  code: string;
  name: string;
  numerator: number;
  denominator: number;
  value: number | null;
  practices: number;
}

// --- uploaded files (migration 0004) ---

export interface StoredFilesTable {
  id: string;
  /** `disk` or `database`: where the bytes are. */
  store: string;
  /** The generated name the store knows the bytes by; never the uploader's file name. */
  storage_key: string;
  purpose: string;
  original_name: string;
  /** The type found by reading the content, not the one the browser claimed. */
  content_type: string;
  extension: string;
  size_bytes: number;
  sha256: string;
  uploaded_by: string | null;
  uploaded_at: string;
}

export interface FileChunksTable {
  storage_key: string;
  chunk_index: number;
  data: Buffer;
}

export type StoredFileRow = Selectable<StoredFilesTable>;

// --- workspaces and the knowledge hub (migration 0006) ---

export type WorkspacePrivacy = 'open' | 'restricted' | 'private';

export interface WorkspacesTable {
  id: string;
  slug: string;
  name: string;
  description: string;
  privacy: WorkspacePrivacy;
  /** The ICB of an ICS workspace; null for the regional workspace. */
  organisation_code: string | null;
  created_at: string;
  updated_at: string;
}

export interface WorkspaceMembersTable {
  workspace_id: string;
  user_id: string;
  role: 'member' | 'manager';
  joined_at: string;
}

export type ContentStatus = 'draft' | 'published';
export type ContentPrivacy = 'public' | 'workspace' | 'organisation';

export interface ContentItemsTable {
  id: string;
  content_type: string;
  slug: string;
  title: string;
  summary: string;
  /** Markdown; rendered and sanitised on output, never stored as HTML. */
  body: string;
  /** JSON object of the fields particular to the content type. */
  details: string;
  status: ContentStatus;
  privacy: ContentPrivacy;
  workspace_id: string | null;
  /** The organisation that owns the content; its editors may change it. */
  organisation_code: string;
  is_example: Generated<number>;
  /** A stable reference for seeded content, so re-seeding updates rather than duplicates. */
  external_ref: string | null;
  revision: number;
  published_at: string | null;
  /** For events: when they start (UK local time, `YYYY-MM-DDTHH:MM`), for ordering. */
  starts_at: string | null;
  created_by: string | null;
  updated_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface ContentAreasTable {
  content_id: string;
  area_slug: string;
}

export interface ContentOrganisationTagsTable {
  content_id: string;
  organisation_code: string;
}

export interface ContentTagsTable {
  content_id: string;
  tag: string;
}

export interface ContentRevisionsTable {
  id: string;
  content_id: string;
  revision_number: number;
  title: string;
  summary: string;
  body: string;
  details: string;
  privacy: ContentPrivacy;
  status: ContentStatus;
  note: string | null;
  created_by: string | null;
  created_at: string;
  /** JSON of the areas, organisations and tags at this revision; null before they were recorded. */
  labels: string | null;
}

export type ContentFileRole = 'attachment' | 'document_version' | 'video' | 'captions' | 'poster';

export interface ContentFilesTable {
  id: string;
  content_id: string;
  file_id: string;
  role: ContentFileRole;
  title: string;
  /** For document versions: 1, 2, 3… */
  version_number: number | null;
  note: string | null;
  created_by: string | null;
  created_at: string;
}

/** Search rows for published content (FTS5 table on SQLite; tsvector table on PostgreSQL). */
export interface ContentSearchTable {
  content_id: string;
  title: string;
  body: string;
}

export type ContentItemRow = Selectable<ContentItemsTable>;
export type ContentRevisionRow = Selectable<ContentRevisionsTable>;
export type ContentFileRow = Selectable<ContentFilesTable>;
export type WorkspaceRow = Selectable<WorkspacesTable>;

// --- Green Plans (migration 0005) ---

export interface GreenPlansTable {
  id: string;
  slug: string;
  title: string;
  description: string;
  owner_organisation_code: string;
  period_start: string;
  period_end: string;
  /** draft | published */
  status: string;
  /** 1 for example content loaded by the seed. */
  is_example: number;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface GreenPlanAreasTable {
  id: string;
  plan_id: string;
  slug: string;
  name: string;
  description: string | null;
  national_slug: string | null;
  position: number;
}

export interface GreenPlanActionsTable {
  id: string;
  plan_id: string;
  /** The external reference that imports match on, unique within the plan. */
  reference: string;
  parent_id: string | null;
  area_id: string;
  title: string;
  description: string;
  lead_organisation_code: string;
  owner_user_id: string | null;
  start_date: string | null;
  due_date: string | null;
  status: string;
  /** The action's own progress; a parent shows the weighted mean of its children instead. */
  progress_percent: number;
  weight: number;
  position: number;
  created_at: string;
  updated_at: string;
}

export interface GreenPlanActionPartnersTable {
  action_id: string;
  organisation_code: string;
}

export interface GreenPlanMilestonesTable {
  id: string;
  action_id: string;
  title: string;
  due_date: string;
  done_on: string | null;
  position: number;
}

export interface GreenPlanUpdatesTable {
  id: string;
  action_id: string;
  author_user_id: string | null;
  update_date: string;
  narrative: string;
  status: string;
  progress_percent: number;
  created_at: string;
}

export interface GreenPlanUpdateFilesTable {
  update_id: string;
  file_id: string;
  position: number;
}

export interface GreenPlanUpdateLinksTable {
  id: string;
  update_id: string;
  url: string;
  title: string;
  position: number;
}

export interface GreenPlanActionChangesTable {
  id: Generated<number>;
  action_id: string;
  changed_by: string | null;
  recorded_at: string;
  effective_on: string;
  kind: string;
  /** JSON array of { field, from, to }. */
  changes: string;
}

export interface GreenPlanKpisTable {
  id: string;
  plan_id: string;
  reference: string;
  name: string;
  description: string;
  unit: string;
  /** decrease | increase */
  direction: string;
  baseline_value: number;
  baseline_date: string;
  created_at: string;
  updated_at: string;
}

export interface GreenPlanKpiTargetsTable {
  id: string;
  kpi_id: string;
  target_date: string;
  target_value: number;
  label: string | null;
}

export interface GreenPlanKpiDataPointsTable {
  id: string;
  kpi_id: string;
  observed_on: string;
  value: number;
  source: string;
  note: string | null;
  recorded_by: string | null;
  recorded_at: string;
}

export interface GreenPlanKpiActionsTable {
  kpi_id: string;
  action_id: string;
}

export interface GreenPlanImportsTable {
  id: string;
  plan_id: string;
  file_id: string | null;
  file_name: string;
  uploaded_by: string | null;
  uploaded_at: string;
  status: string;
  row_count: number;
  summary: string;
  committed_at: string | null;
}

export type GreenPlanRow = Selectable<GreenPlansTable>;
export type GreenPlanAreaRow = Selectable<GreenPlanAreasTable>;
export type GreenPlanActionRow = Selectable<GreenPlanActionsTable>;
export type GreenPlanMilestoneRow = Selectable<GreenPlanMilestonesTable>;
export type GreenPlanUpdateRow = Selectable<GreenPlanUpdatesTable>;
export type GreenPlanKpiRow = Selectable<GreenPlanKpisTable>;
export type GreenPlanKpiTargetRow = Selectable<GreenPlanKpiTargetsTable>;
export type GreenPlanKpiDataPointRow = Selectable<GreenPlanKpiDataPointsTable>;

// --- discussions, comments and notifications (migration 0007) ---

export interface WorkspaceRequestsTable {
  id: string;
  workspace_id: string;
  user_id: string;
  /** `request` (asked to join a restricted workspace) or `invitation` (a manager invited them). */
  kind: 'request' | 'invitation';
  status: 'pending' | 'approved' | 'declined' | 'accepted' | 'withdrawn';
  token_hash: string | null;
  created_by: string | null;
  created_at: string;
  expires_at: string | null;
  decided_by: string | null;
  decided_at: string | null;
}

/** What people talk about: a forum thread, a content item, or a Green Plan action. */
export type ConversationSubject = 'thread' | 'content' | 'plan_action';

export interface ConversationsTable {
  id: string;
  subject_type: ConversationSubject;
  subject_id: string;
  workspace_id: string | null;
  locked: number;
  created_at: string;
  last_post_at: string;
}

export interface DiscussionThreadsTable {
  id: string;
  workspace_id: string;
  conversation_id: string;
  title: string;
  kind: 'discussion' | 'question';
  area_slug: string | null;
  author_id: string | null;
  pinned: number;
  hidden: number;
  accepted_post_id: string | null;
  created_at: string;
}

export interface PostsTable {
  id: string;
  conversation_id: string;
  author_id: string | null;
  /** Markdown, rendered and sanitised on output. */
  body: string;
  quoted_post_id: string | null;
  created_at: string;
  edited_at: string | null;
  hidden_at: string | null;
  hidden_by: string | null;
  hidden_reason: string | null;
}

export interface PostRevisionsTable {
  id: string;
  post_id: string;
  body: string;
  edited_by: string | null;
  edited_at: string;
}

export interface PostReactionsTable {
  post_id: string;
  user_id: string;
  reaction: 'useful';
  created_at: string;
}

export interface PostReportsTable {
  id: string;
  post_id: string;
  reporter_id: string | null;
  reason: string;
  status: 'open' | 'resolved';
  created_at: string;
  resolved_by: string | null;
  resolved_at: string | null;
  outcome: string | null;
}

export interface FollowsTable {
  user_id: string;
  subject_type: 'conversation' | 'area' | 'workspace';
  subject_id: string;
  created_at: string;
}

export type NotificationKind =
  | 'reply'
  | 'mention'
  | 'followed_activity'
  | 'new_content'
  | 'moderation'
  | 'workspace'
  | 'programme';

export interface NotificationsTable {
  id: string;
  user_id: string;
  kind: NotificationKind;
  title: string;
  body: string;
  link: string;
  actor_id: string | null;
  /** One notification per user per event, however many times the event is processed. */
  dedupe_key: string;
  created_at: string;
  read_at: string | null;
  /** `pending` (to email now), `digest` (waits for a digest), `sent`, or `skipped` (email off). */
  email_status: 'pending' | 'digest' | 'sent' | 'skipped';
  emailed_at: string | null;
}

export interface NotificationPreferencesTable {
  user_id: string;
  kind: string;
  frequency: 'immediately' | 'daily' | 'weekly' | 'off';
}

export interface DiscussionSearchTable {
  thread_id: string;
  title: string;
  body: string;
}

export type ConversationRow = Selectable<ConversationsTable>;
export type DiscussionThreadRow = Selectable<DiscussionThreadsTable>;
export type PostRow = Selectable<PostsTable>;
export type NotificationRow = Selectable<NotificationsTable>;

// --- Greener General Practice programme (migration 0009) ---

export interface GgpFrameworkVersionsTable {
  id: string;
  /** NHS financial year, e.g. `2026-27`. */
  programme_year: string;
  version: number;
  title: string;
  /** The framework file (JSON), as serialiseFramework writes it. */
  content: string;
  sha256: string;
  source: 'seed' | 'upload' | 'edit';
  note: string | null;
  created_by: string | null;
  created_at: string;
}

export interface GgpAssessmentsTable {
  id: string;
  practice_code: string;
  programme_year: string;
  status: 'in_progress' | 'submitted' | 'returned' | 'awarded';
  is_example: number;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface GgpResponsesTable {
  assessment_id: string;
  action_code: string;
  status: 'not_started' | 'in_progress' | 'done' | 'not_applicable';
  note: string;
  not_applicable_reason: string;
  updated_by: string | null;
  updated_at: string;
}

export interface GgpEvidenceFilesTable {
  id: string;
  assessment_id: string;
  action_code: string;
  file_id: string;
  added_by: string | null;
  added_at: string;
  removed_at: string | null;
}

export interface GgpSubmissionsTable {
  id: string;
  assessment_id: string;
  framework_version_id: string;
  level: 'bronze' | 'silver' | 'gold';
  points: number;
  /** JSON of SubmissionSnapshot. */
  snapshot: string;
  submitted_by: string | null;
  submitted_at: string;
  outcome: 'pending' | 'returned' | 'approved';
  decided_by: string | null;
  decided_at: string | null;
  decision_note: string | null;
}

export interface GgpReviewCommentsTable {
  submission_id: string;
  action_code: string;
  comment: string;
}

export interface GgpAwardsTable {
  id: string;
  assessment_id: string;
  practice_code: string;
  programme_year: string;
  level: 'bronze' | 'silver' | 'gold';
  points: number;
  submission_id: string | null;
  framework_version_id: string;
  approved_by: string | null;
  awarded_at: string;
  is_example: number;
}

export interface GgpEventsTable {
  id: Generated<number>;
  assessment_id: string;
  practice_code: string;
  programme_year: string;
  kind:
    | 'started'
    | 'answered'
    | 'evidence_removed'
    | 'submitted'
    | 'returned'
    | 'approved'
    | 'reopened';
  action_code: string | null;
  points: number;
  level: 'bronze' | 'silver' | 'gold' | null;
  user_id: string | null;
  occurred_at: string;
}

export type GgpFrameworkVersionRow = Selectable<GgpFrameworkVersionsTable>;
export type GgpAssessmentRow = Selectable<GgpAssessmentsTable>;
export type GgpResponseRow = Selectable<GgpResponsesTable>;
export type GgpSubmissionRow = Selectable<GgpSubmissionsTable>;
export type GgpAwardRow = Selectable<GgpAwardsTable>;
export type GgpEventRow = Selectable<GgpEventsTable>;
