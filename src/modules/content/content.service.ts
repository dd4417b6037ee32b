import { randomUUID } from 'node:crypto';
import { diffWords } from 'diff';
import type {
  ContentFileRole,
  ContentItemRow,
  ContentPrivacy,
  ContentRevisionRow,
  Database,
} from '../../db/schema.ts';
import type { Transaction } from 'kysely';
import { ukLocalDateTime } from '../../lib/uk-time.ts';
import { ValidationFailed } from '../../lib/validation.ts';
import { NotFoundError } from '../../web/http-errors.ts';
import type { RequestContext } from '../../web/request-context.ts';
import { assertCan, can, organisationScope, type Actor } from '../access/policy.ts';
import { findAreaOfFocus, nationalAreasOfFocus } from '../areas-of-focus/area-of-focus.data.ts';
import type { FormSubmissionService } from '../security/form-submission.service.ts';
import type { AuditService } from '../audit/audit.service.ts';
import type { FileService, PendingUpload } from '../files/file.service.ts';
import type { UploadPurpose } from '../files/file-types.ts';
import type { OrganisationService } from '../organisations/organisation.service.ts';
import type { WorkspaceService } from '../workspaces/workspace.service.ts';
import type {
  ContentListFilters,
  ContentRepository,
  ReadScope,
  SearchHit,
} from './content.repository.ts';
import { HIGHLIGHT_END, HIGHLIGHT_START } from './content.repository.ts';
import {
  amountText,
  contentTypes,
  detailsForForm,
  isContentType,
  markdownDetailFields,
  readStoredDetails,
  slugify,
  type ContentType,
} from './content-types.ts';
import { markdownToPlainText, renderMarkdown } from './markdown.ts';

/** The user id to record for an actor; the seeding system actor has none. */
function recordedUserId(actor: Actor): string | null {
  return actor.userId === '' ? null : actor.userId;
}

export const privacyLabels: Record<ContentPrivacy, string> = {
  public: 'Everyone (public)',
  workspace: 'Members of a workspace',
  organisation: 'Members of one organisation',
};

/** What an author submits; strings as typed, lists already split. */
export interface ContentInput {
  title: string;
  summary: string;
  body: string;
  privacy: string;
  workspaceId: string;
  organisationCode: string;
  areas: string[];
  organisationTags: string;
  tags: string;
  details: Record<string, string>;
  note?: string;
}

/** Which upload purpose each kind of file attached to content must meet. */
export const fileRolePurposes: Record<ContentFileRole, UploadPurpose> = {
  attachment: 'document',
  document_version: 'document',
  video: 'video',
  captions: 'captions',
  poster: 'image',
};

const MAX_TITLE = 200;
const MAX_SUMMARY = 600;
const MAX_BODY = 100_000;

/** The longest notes and file titles the forms take; the forms say so beside each field. */
export const authoringLimits = {
  /** "What you changed", shown in the revision history. */
  revisionNote: 500,
  /** A file's title, shown instead of its name. */
  fileTitle: 200,
  /** A file's note, such as what changed in a new version. */
  fileNote: 500,
} as const;

/**
 * A save from a form opened at an older revision: someone (or the same person in another tab)
 * saved the item after the form was opened, so saving the form would undo what they changed
 * without anyone knowing. Nothing is saved.
 */
export class ContentChangedMeanwhile extends Error {
  override name = 'ContentChangedMeanwhile';
  readonly statusCode = 409;
  constructor(
    /** The revision the form was opened at. */
    readonly openedRevision: number,
    /** The item's revision now. */
    readonly savedRevision: number,
  ) {
    super('The content was saved again after the form was opened');
  }
}

/** Told once an item is first published, after the publication has committed. */
export type PublishedListener = (
  item: ContentItemRow,
  areas: string[],
  link: string,
) => Promise<void>;

export interface ContentServiceDependencies {
  repository: ContentRepository;
  organisations: OrganisationService;
  workspaces: WorkspaceService;
  files: FileService;
  audit: AuditService;
  /** One-time keys of the form that creates an item, so that a form sent twice creates one. */
  formSubmissions: FormSubmissionService;
  now?: () => Date;
}

/**
 * The knowledge hub: case studies, videos, documents, news, events and pages. Authors write
 * Markdown; every save is a revision; publishing makes content visible to its privacy level and
 * searchable. Who may read and change what is decided by the policy module.
 */
export function createContentService(deps: ContentServiceDependencies) {
  const { repository, audit } = deps;
  const publishedListeners: PublishedListener[] = [];
  const now = deps.now ?? (() => new Date());

  function readScopeFor(actor: Actor | null): ReadScope {
    if (actor?.isPlatformAdmin) return { kind: 'all' };
    const scope = organisationScope(actor, 'organisation.read_members_only');
    if (scope.kind === 'all') return { kind: 'all' };
    return {
      kind: 'some',
      workspaceIds: actor?.workspaceIds ?? [],
      organisationCodes: scope.codes,
      underAncestors: scope.underAncestors,
    };
  }

  function editScopeFor(actor: Actor | null): ReadScope {
    const scope = organisationScope(actor, 'organisation.edit_content');
    if (scope.kind === 'all' || actor?.isPlatformAdmin) return { kind: 'all' };
    return {
      kind: 'some',
      workspaceIds: [],
      organisationCodes: scope.codes,
      underAncestors: scope.underAncestors,
    };
  }

  async function resourceOf(
    item: Pick<ContentItemRow, 'privacy' | 'organisation_code' | 'workspace_id'>,
  ) {
    const owner = await deps.organisations.findOrganisationSummary(item.organisation_code);
    return {
      kind: 'content' as const,
      privacy: item.privacy,
      organisation: owner
        ? { kind: 'organisation' as const, code: owner.code, ancestorPath: owner.ancestorPath }
        : null,
      workspaceId: item.workspace_id,
    };
  }

  async function requireEditable(actor: Actor | null, id: string): Promise<ContentItemRow> {
    const item = /^[0-9a-f-]{36}$/.test(id) ? await repository.findItem(id) : undefined;
    if (!item) throw new NotFoundError('That content was not found.');
    const resource = await resourceOf(item);
    // Someone signed in who may not even read it (another organisation's draft) is told it does
    // not exist, as its public address would; the signed-out are asked to sign in.
    if (
      actor &&
      !can(actor, 'content.edit', resource) &&
      !(item.status === 'published' && can(actor, 'content.read', resource))
    )
      throw new NotFoundError('That content was not found.');
    assertCan(actor, 'content.edit', resource);
    return item;
  }

  /**
   * Checks an author's input; returns clean values or throws ValidationFailed naming each field.
   * `currentWorkspaceId` is the workspace an edited item is shared with now: keeping it needs no
   * membership, so that an editor outside the workspace can save the item without changing who
   * may see it.
   */
  async function validateInput(
    actor: Actor,
    type: ContentType,
    input: ContentInput,
    options: { currentWorkspaceId?: string | null } = {},
  ) {
    const errors: Record<string, string> = {};
    const title = input.title.trim();
    if (title === '') errors.title = 'Enter a title';
    else if (title.length > MAX_TITLE)
      errors.title = `Title must be ${MAX_TITLE} characters or fewer`;
    const summary = input.summary.trim();
    if (summary === '') errors.summary = 'Enter a short summary';
    else if (summary.length > MAX_SUMMARY)
      errors.summary = `Summary must be ${MAX_SUMMARY} characters or fewer`;
    if (input.body.length > MAX_BODY)
      errors.body = `The text must be ${MAX_BODY.toLocaleString('en-GB')} characters or fewer`;
    else if (!contentTypes[type].mainText.optional && input.body.trim() === '')
      errors.body = `Enter the ${contentTypes[type].mainText.label.toLowerCase()} of the ${contentTypes[type].label.toLowerCase()}`;

    const owner = await deps.organisations.findOrganisationSummary(
      input.organisationCode.trim().toUpperCase(),
    );
    if (!owner) errors.organisationCode = 'Choose the organisation this belongs to';
    else if (
      !can(actor, 'organisation.edit_content', {
        kind: 'organisation',
        code: owner.code,
        ancestorPath: owner.ancestorPath,
      })
    ) {
      errors.organisationCode = 'You can only publish for organisations where you are an editor';
    }

    let privacy: ContentPrivacy = 'public';
    let workspaceId: string | null = null;
    if (
      input.privacy === 'public' ||
      input.privacy === 'workspace' ||
      input.privacy === 'organisation'
    )
      privacy = input.privacy;
    else errors.privacy = 'Choose who can see this';
    if (privacy === 'workspace') {
      const workspace = input.workspaceId
        ? await deps.workspaces.findById(input.workspaceId)
        : undefined;
      if (!workspace) errors.workspaceId = 'Choose the workspace whose members can see this';
      else if (
        !actor.isPlatformAdmin &&
        !actor.workspaceIds.includes(workspace.id) &&
        workspace.id !== options.currentWorkspaceId
      )
        errors.workspaceId = 'You can only share with workspaces you belong to';
      else workspaceId = workspace.id;
    }

    const areas = [...new Set(input.areas.filter(Boolean))];
    for (const area of areas)
      if (!findAreaOfFocus(area)) errors.areas = 'Choose areas of focus from the list';

    const organisationTags = [
      ...new Set(
        input.organisationTags
          .split(/[\s,]+/)
          .map((code) => code.trim().toUpperCase())
          .filter(Boolean),
      ),
    ];
    for (const code of organisationTags) {
      if (
        !/^[A-Z0-9]{2,9}$/.test(code) ||
        !(await deps.organisations.findOrganisationSummary(code))
      ) {
        errors.organisationTags = `"${code}" is not an ODS code of an organisation in Greenspace`;
        break;
      }
    }
    const tags = [
      ...new Set(
        input.tags
          .split(',')
          .map((tag) => tag.trim().toLowerCase())
          .filter(Boolean),
      ),
    ];
    if (tags.length > 20) errors.tags = 'Use 20 tags or fewer';
    for (const tag of tags)
      if (tag.length > 40) errors.tags = 'Each tag must be 40 characters or fewer';

    let details: Record<string, unknown> = {};
    const parsed = contentTypes[type].details.safeParse(input.details);
    if (parsed.success) details = parsed.data as Record<string, unknown>;
    else
      for (const issue of parsed.error.issues)
        errors[`details-${String(issue.path[0])}`] =
          `${detailLabel(String(issue.path[0]))} ${issue.message}`;

    const note = input.note?.trim() ?? '';
    if (note.length > authoringLimits.revisionNote)
      errors.note = `What you changed must be ${authoringLimits.revisionNote} characters or fewer`;

    if (Object.keys(errors).length > 0) throw new ValidationFailed(errors);
    return {
      title,
      summary,
      body: input.body,
      privacy,
      workspaceId,
      organisationCode: owner!.code,
      areas,
      organisationTags,
      tags,
      details,
    };
  }

  async function writeRevision(
    trx: Transaction<Database>,
    item: ContentItemRow,
    actorId: string | null,
    note: string | null,
  ) {
    // The labels as they are now in this transaction: a publish or unpublish keeps the ones saved.
    const labels = await repository.findTags(item.id, trx);
    await repository.insertRevision(trx, {
      id: randomUUID(),
      content_id: item.id,
      revision_number: item.revision,
      title: item.title,
      summary: item.summary,
      body: item.body,
      details: item.details,
      privacy: item.privacy,
      status: item.status,
      note,
      created_by: actorId,
      created_at: item.updated_at,
      labels: JSON.stringify(labels),
    });
  }

  /** A revision's labels as comparable text, separated by semicolons; null if the revision has none. */
  function revisionLabels(
    revision: ContentRevisionRow,
  ): { areas: string; organisations: string; tags: string } | null {
    if (revision.labels === null) return null;
    const labels = JSON.parse(revision.labels) as {
      areas: string[];
      organisations: { code: string; name: string }[];
      tags: string[];
    };
    return {
      areas: labels.areas.map((slug) => findAreaOfFocus(slug)?.name ?? slug).join('; '),
      organisations: labels.organisations
        .map((organisation) => `${organisation.name} (${organisation.code})`)
        .join('; '),
      tags: labels.tags.join('; '),
    };
  }

  function searchText(item: Pick<ContentItemRow, 'summary' | 'body' | 'details'>): string {
    const details = JSON.parse(item.details) as Record<string, unknown>;
    const detailText = Object.values(details).filter(
      (value): value is string => typeof value === 'string',
    );
    return [
      item.summary,
      markdownToPlainText(item.body),
      ...detailText.map(markdownToPlainText),
    ].join('\n');
  }

  async function uniqueSlug(type: ContentType, title: string, exceptId?: string): Promise<string> {
    const base = slugify(title);
    let slug = base;
    for (let suffix = 2; await repository.slugExists(type, slug, exceptId); suffix++)
      slug = `${base}-${suffix}`;
    return slug;
  }

  function linkOf(item: { content_type: string; slug: string }): string {
    return isContentType(item.content_type)
      ? `/${contentTypes[item.content_type].path}/${item.slug}`
      : '/';
  }

  function listEntry(item: {
    content_type: string;
    slug: string;
    title: string;
    summary: string;
    organisation_name: string;
    published_at: string | null;
    updated_at?: string;
    starts_at: string | null;
    is_example: number;
    privacy: string;
  }) {
    return {
      type: item.content_type,
      typeLabel: isContentType(item.content_type)
        ? contentTypes[item.content_type].label
        : item.content_type,
      href: linkOf(item),
      title: item.title,
      summary: item.summary,
      organisationName: item.organisation_name,
      publishedAt: item.published_at,
      // Last changed: never before it was published (an item published after its last edit).
      updatedAt:
        item.updated_at && item.published_at && item.updated_at > item.published_at
          ? item.updated_at
          : item.published_at,
      startsAt: item.starts_at,
      isExample: item.is_example === 1,
      privacy: item.privacy,
    };
  }

  return {
    readScopeFor,
    linkOf,

    /** Registers something to be told when an item is first published (notifications). */
    onFirstPublished(listener: PublishedListener): void {
      publishedListeners.push(listener);
    },

    async list(actor: Actor | null, filters: ContentListFilters) {
      const result = await repository.list(readScopeFor(actor), filters, ukLocalDateTime(now()));
      return { items: result.items.map(listEntry), total: result.total };
    },

    /** The latest published items of each type the visitor may read, for the home page. */
    async latestForHome(actor: Actor | null) {
      const ukNow = ukLocalDateTime(now());
      const scope = readScopeFor(actor);
      const [caseStudies, videos, news, documents, events] = await Promise.all([
        repository.list(scope, { type: 'case_study', limit: 3, offset: 0 }, ukNow),
        repository.list(scope, { type: 'video', limit: 4, offset: 0 }, ukNow),
        repository.list(scope, { type: 'news', limit: 3, offset: 0 }, ukNow),
        repository.list(scope, { type: 'document', limit: 3, offset: 0 }, ukNow),
        repository.list(scope, { type: 'event', timing: 'upcoming', limit: 3, offset: 0 }, ukNow),
      ]);
      return {
        caseStudies: caseStudies.items.map(listEntry),
        videos: videos.items.map(listEntry),
        news: news.items.map(listEntry),
        documents: documents.items.map(listEntry),
        events: events.items.map(listEntry),
      };
    },

    /** Full-text search, with highlighted snippets, over what the visitor may read. */
    async search(
      actor: Actor | null,
      query: string,
      filters: Omit<ContentListFilters, 'limit' | 'offset'>,
      page: { limit: number; offset: number },
    ) {
      const words = searchWords(query);
      const result = await repository.search(
        readScopeFor(actor),
        words,
        filters,
        page,
        ukLocalDateTime(now()),
      );
      return {
        words,
        total: result.total,
        items: result.items.map((hit: SearchHit) => ({
          ...listEntry(hit),
          snippetHtml: highlight(hit.snippet.includes(HIGHLIGHT_START) ? hit.snippet : hit.summary),
        })),
      };
    },

    /** Whether someone may read a content item (published, at its privacy level). */
    async canRead(actor: Actor | null, contentId: string): Promise<boolean> {
      const item = /^[0-9a-f-]{36}$/.test(contentId)
        ? await repository.findItem(contentId)
        : undefined;
      return (
        item !== undefined &&
        item.status === 'published' &&
        can(actor, 'content.read', await resourceOf(item))
      );
    },

    /** Whether someone may edit a content item: they moderate its comments too. */
    async canEdit(actor: Actor | null, contentId: string): Promise<boolean> {
      const item = /^[0-9a-f-]{36}$/.test(contentId)
        ? await repository.findItem(contentId)
        : undefined;
      return item !== undefined && can(actor, 'content.edit', await resourceOf(item));
    },

    async findById(contentId: string) {
      return /^[0-9a-f-]{36}$/.test(contentId) ? repository.findItem(contentId) : undefined;
    },

    /** Everything a content page shows, or NotFoundError when the visitor may not read it. */
    async getPage(actor: Actor | null, type: ContentType, slug: string) {
      const item = await repository.findReadable(readScopeFor(actor), type, slug);
      if (!item) throw new NotFoundError();
      return this.describe(actor, item);
    },

    async describe(actor: Actor | null, item: ContentItemRow) {
      const type = item.content_type as ContentType;
      const [tags, files, owner, workspace] = await Promise.all([
        repository.findTags(item.id),
        repository.findContentFiles(item.id),
        deps.organisations.findOrganisationSummary(item.organisation_code),
        item.workspace_id
          ? deps.workspaces.findById(item.workspace_id)
          : Promise.resolve(undefined),
      ]);
      // Read tolerantly: details stored before today's checks must not stop the item showing.
      const storedDetails: unknown = JSON.parse(item.details);
      const read = readStoredDetails(type, storedDetails);
      const details = read.fields;
      const renderedDetails: Record<string, string> = {};
      for (const [key, value] of Object.entries(details)) {
        if (
          typeof value === 'string' &&
          ['problem', 'whatWasDone', 'results', 'benefitToPeople', 'transcript'].includes(key)
        ) {
          renderedDetails[key] = renderMarkdown(value);
        }
      }
      const fileHref = (fileId: string) => `/content/${item.id}/files/${fileId}`;
      const byRole = (role: ContentFileRole) =>
        files
          .filter((file) => file.role === role)
          .map((file) => ({ ...file, href: fileHref(file.file_id) }));
      return {
        item,
        type,
        typeInfo: contentTypes[type],
        // Named `fields` because `details` is the NHS.UK details component in every template.
        fields: details,
        /** The details as the edit form shows them, values it would refuse included. */
        formFields: detailsForForm(storedDetails, read),
        renderedDetails,
        bodyHtml: renderMarkdown(item.body),
        tags: {
          ...tags,
          areas: tags.areas.map(
            (slug) =>
              nationalAreasOfFocus.find((area) => area.slug === slug) ?? { slug, name: slug },
          ),
        },
        owner,
        workspace,
        video: byRole('video')[0],
        captions: byRole('captions')[0],
        poster: byRole('poster')[0],
        attachments: byRole('attachment'),
        versions: byRole('document_version'),
        canEdit: can(actor, 'content.edit', await resourceOf(item)),
        privacyLabel: privacyLabels[item.privacy],
      };
    },

    /** A stored file of a content item, if the visitor may read the item (or edit it, for drafts). */
    async findFileForDownload(actor: Actor | null, contentId: string, fileId: string) {
      const item = /^[0-9a-f-]{36}$/.test(contentId)
        ? await repository.findItem(contentId)
        : undefined;
      if (!item) throw new NotFoundError();
      const resource = await resourceOf(item);
      const readable = item.status === 'published' && can(actor, 'content.read', resource);
      if (!readable && !can(actor, 'content.edit', resource)) throw new NotFoundError();
      const link = await repository.findContentFile(contentId, fileId);
      if (!link) throw new NotFoundError();
      const file = await deps.files.findFile(fileId);
      if (!file) throw new NotFoundError();
      return { file, role: link.role };
    },

    /**
     * What the authoring form offers this actor: the organisations they may author content for
     * (their own first, then the rest by name) and the workspaces they are in. Editing rights reach
     * further than membership (an ICS admin edits for every organisation under the ICB, a platform
     * admin for all), so the list comes from the policy, not from memberships; and an item's
     * current owner and workspace are always on them, so saving an edit never moves the item or
     * changes who may see it by default.
     */
    async authoringOptions(
      actor: Actor,
      options: { currentOwnerCode?: string; currentWorkspaceId?: string | null } = {},
    ) {
      const rows = await repository.findOrganisationsInScope(
        organisationScope(actor, 'organisation.edit_content'),
      );
      const own = new Set(actor.memberships.map((membership) => membership.organisationCode));
      const organisations = rows
        .filter((row) =>
          can(actor, 'organisation.edit_content', {
            kind: 'organisation',
            code: row.code,
            ancestorPath: row.ancestor_path,
          }),
        )
        .map((row) => ({ code: row.code, name: row.name }))
        .sort((a, b) => Number(own.has(b.code)) - Number(own.has(a.code)));
      if (
        options.currentOwnerCode &&
        !organisations.some((organisation) => organisation.code === options.currentOwnerCode)
      ) {
        const owner = await deps.organisations.findOrganisationSummary(options.currentOwnerCode);
        organisations.unshift({
          code: options.currentOwnerCode,
          name: owner?.name ?? options.currentOwnerCode,
        });
      }
      const workspaces = (await deps.workspaces.listWorkspaces()).filter(
        (workspace) =>
          actor.isPlatformAdmin ||
          actor.workspaceIds.includes(workspace.id) ||
          workspace.id === options.currentWorkspaceId,
      );
      return { organisations, workspaces, areas: nationalAreasOfFocus };
    },

    async create(
      actor: Actor | null,
      type: ContentType,
      input: ContentInput,
      context: RequestContext,
      options: { isExample?: boolean; externalRef?: string; submissionKey?: string } = {},
    ): Promise<ContentItemRow> {
      if (!actor) throw new NotFoundError();
      const clean = await validateInput(actor, type, input);
      const submission = deps.formSubmissions.submissionOf(actor.userId, options.submissionKey, [
        'content',
        type,
        input,
      ]);
      const at = now().toISOString();
      const item: ContentItemRow = {
        id: randomUUID(),
        content_type: type,
        slug: await uniqueSlug(type, clean.title),
        title: clean.title,
        summary: clean.summary,
        body: clean.body,
        details: JSON.stringify(clean.details),
        status: 'draft',
        privacy: clean.privacy,
        workspace_id: clean.workspaceId,
        organisation_code: clean.organisationCode,
        is_example: options.isExample ? 1 : 0,
        external_ref: options.externalRef ?? null,
        revision: 1,
        published_at: null,
        starts_at: type === 'event' ? (clean.details.startsAt as string) || null : null,
        created_by: recordedUserId(actor),
        updated_by: recordedUserId(actor),
        created_at: at,
        updated_at: at,
      };
      const outcome = await deps.formSubmissions.once(submission, (recordSubmission) =>
        repository.transaction(async (trx) => {
          await recordSubmission(trx, `/content/${item.id}`);
          await repository.insertItem(trx, item);
          await repository.replaceTags(trx, item.id, {
            areas: clean.areas,
            organisations: clean.organisationTags,
            tags: clean.tags,
          });
          await writeRevision(trx, item, recordedUserId(actor), input.note?.trim() || 'Created');
          await audit.record(
            {
              action: 'content.created',
              actorUserId: recordedUserId(actor),
              targetType: 'content',
              targetId: item.id,
              organisationCode: item.organisation_code,
              details: { type },
            },
            context,
            trx,
          );
        }),
      );
      if ('done' in outcome) return item;
      // Sent again: the item the first request created, as it is now.
      const earlier = await repository.findItem(/^\/content\/(.+)$/.exec(outcome.repeated)![1]!);
      if (!earlier) throw new NotFoundError();
      return earlier;
    },

    /**
     * Saves an edit as a new revision. `openedRevision` is the revision the edit form was opened
     * at: when the item has been saved since, ContentChangedMeanwhile is thrown and nothing is
     * saved. Without it (seeds, scripts) the revision read here is the one expected. Either way
     * the write is conditional on that revision inside the transaction, so two saves racing from
     * the same revision cannot both land, and only the fields the form edits are written: the
     * status and publication date stay as whoever last set them left them.
     */
    async update(
      actor: Actor | null,
      id: string,
      input: ContentInput,
      context: RequestContext,
      options: { openedRevision?: number } = {},
    ) {
      const existing = await requireEditable(actor, id);
      const expectedRevision = options.openedRevision ?? existing.revision;
      if (existing.revision !== expectedRevision)
        throw new ContentChangedMeanwhile(expectedRevision, existing.revision);
      const type = existing.content_type as ContentType;
      const clean = await validateInput(actor!, type, input, {
        currentWorkspaceId: existing.workspace_id,
      });
      const at = now().toISOString();
      const changes = {
        title: clean.title,
        summary: clean.summary,
        body: clean.body,
        details: JSON.stringify(clean.details),
        privacy: clean.privacy,
        workspace_id: clean.workspaceId,
        organisation_code: clean.organisationCode,
        revision: expectedRevision + 1,
        starts_at: type === 'event' ? (clean.details.startsAt as string) || null : null,
        updated_by: recordedUserId(actor!),
        updated_at: at,
      } satisfies Partial<ContentItemRow>;
      // The status read with the expected revision is still the item's if the write below lands:
      // publishing and unpublishing move the revision on too.
      const item: ContentItemRow = { ...existing, ...changes };
      if (existing.status === 'published') {
        const files = await repository.findContentFiles(id);
        const errors = publishedChangeErrors(
          item,
          files.map((file) => file.role),
          'details',
        );
        if (Object.keys(errors).length > 0) throw new ValidationFailed(errors);
      }
      // A change of owner needs edit rights on the new owner too (checked in validateInput).
      await repository.transaction(async (trx) => {
        if (!(await repository.updateItemAtRevision(trx, id, expectedRevision, changes))) {
          const current = await repository.findItem(id, trx);
          throw new ContentChangedMeanwhile(
            expectedRevision,
            current?.revision ?? expectedRevision,
          );
        }
        await repository.replaceTags(trx, id, {
          areas: clean.areas,
          organisations: clean.organisationTags,
          tags: clean.tags,
        });
        await writeRevision(trx, item, recordedUserId(actor!), input.note?.trim() || null);
        if (item.status === 'published')
          await repository.upsertSearchRow(trx, id, item.title, searchText(item));
        await audit.record(
          {
            action: 'content.updated',
            actorUserId: recordedUserId(actor!),
            targetType: 'content',
            targetId: id,
            organisationCode: item.organisation_code,
            details: { revision: item.revision, ...whoMayReadChanges(existing, item) },
          },
          context,
          trx,
        );
      });
      return item;
    },

    /** Publishes content: it becomes visible at its privacy level and searchable. */
    async publish(actor: Actor | null, id: string, context: RequestContext) {
      const item = await requireEditable(actor, id);
      const files = await repository.findContentFiles(id);
      const problems = publishProblems(
        item,
        files.map((file) => file.role),
      );
      if (problems.length > 0) throw new ValidationFailed({ publish: problems.join('. ') });
      const at = now().toISOString();
      const published: ContentItemRow = {
        ...item,
        status: 'published',
        published_at: item.published_at ?? at,
        revision: item.revision + 1,
        updated_at: at,
        updated_by: recordedUserId(actor!),
      };
      await repository.transaction(async (trx) => {
        await repository.updateItem(trx, id, {
          status: 'published',
          published_at: published.published_at,
          revision: published.revision,
          updated_at: at,
          updated_by: recordedUserId(actor!),
        });
        await writeRevision(trx, published, recordedUserId(actor!), 'Published');
        await repository.upsertSearchRow(trx, id, item.title, searchText(item));
        await audit.record(
          {
            action: 'content.published',
            actorUserId: recordedUserId(actor!),
            targetType: 'content',
            targetId: id,
            organisationCode: item.organisation_code,
          },
          context,
          trx,
        );
      });
      if (item.published_at === null) {
        const { areas } = await repository.findTags(id);
        for (const listener of publishedListeners) {
          await listener(published, areas, linkOf(published));
        }
      }
      return published;
    },

    async unpublish(actor: Actor | null, id: string, context: RequestContext) {
      const item = await requireEditable(actor, id);
      const at = now().toISOString();
      const draft: ContentItemRow = {
        ...item,
        status: 'draft',
        revision: item.revision + 1,
        updated_at: at,
        updated_by: recordedUserId(actor!),
      };
      await repository.transaction(async (trx) => {
        await repository.updateItem(trx, id, {
          status: 'draft',
          revision: draft.revision,
          updated_at: at,
          updated_by: recordedUserId(actor!),
        });
        await writeRevision(trx, draft, recordedUserId(actor!), 'Unpublished');
        await repository.deleteSearchRow(trx, id);
        await audit.record(
          {
            action: 'content.unpublished',
            actorUserId: recordedUserId(actor!),
            targetType: 'content',
            targetId: id,
            organisationCode: item.organisation_code,
          },
          context,
          trx,
        );
      });
    },

    /** The item for its editor (drafts included). */
    async getForEditing(actor: Actor | null, id: string) {
      const item = await requireEditable(actor, id);
      return this.describe(actor, item);
    },

    /** One page of what the actor may edit, most recently changed first, with the total. */
    async listEditable(actor: Actor | null, page: { limit: number; offset: number }) {
      return repository.findEditable(editScopeFor(actor), page);
    },

    /**
     * Renders every Markdown field the author has filled in as the page would, without saving:
     * the main text and, for case studies and videos, their own sections (the problem, results,
     * the transcript…), each under the label the form gives it.
     */
    preview(
      type: ContentType,
      input: { body: string; details: Record<string, unknown> },
    ): { heading: string; html: string }[] {
      const details: { heading: string; html: string }[] = [];
      for (const field of markdownDetailFields[type] ?? []) {
        const text = input.details[field.name];
        if (typeof text === 'string' && text.trim() !== '') {
          details.push({ heading: field.label, html: renderMarkdown(text) });
        }
      }
      if (input.body.trim() === '') return details;
      const body = {
        heading: contentTypes[type].mainText.label,
        html: renderMarkdown(input.body),
      };
      // In the page's order: a video's transcript comes after its text, a case study's
      // sections before it.
      return type === 'video' ? [body, ...details] : [...details, body];
    },

    async listRevisions(actor: Actor | null, id: string) {
      const item = await requireEditable(actor, id);
      return { item, revisions: await repository.findRevisions(id) };
    },

    /** The difference between two revisions, field by field: words added and removed. */
    async compareRevisions(actor: Actor | null, id: string, from: number, to: number) {
      const item = await requireEditable(actor, id);
      const [older, newer] = await Promise.all([
        repository.findRevision(id, from),
        repository.findRevision(id, to),
      ]);
      if (!older || !newer) throw new NotFoundError('That revision was not found.');
      const olderDetails = JSON.parse(older.details) as Record<string, unknown>;
      const newerDetails = JSON.parse(newer.details) as Record<string, unknown>;
      const fields: { label: string; before: string; after: string }[] = [
        { label: 'Title', before: older.title, after: newer.title },
        { label: 'Summary', before: older.summary, after: newer.summary },
        { label: 'Text', before: older.body, after: newer.body },
        {
          label: 'Who can see it',
          before: privacyLabels[older.privacy],
          after: privacyLabels[newer.privacy],
        },
        { label: 'Status', before: older.status, after: newer.status },
        ...[...new Set([...Object.keys(olderDetails), ...Object.keys(newerDetails)])].map(
          (key) => ({
            label: detailLabel(key),
            before: stringify(olderDetails[key]),
            after: stringify(newerDetails[key]),
          }),
        ),
      ];
      // Labels were first recorded with revisions in December 2026; a revision saved before has
      // none, and the page says so rather than showing them as removed or added.
      const olderLabels = revisionLabels(older);
      const newerLabels = revisionLabels(newer);
      if (olderLabels && newerLabels) {
        fields.push(
          { label: 'Areas of focus', before: olderLabels.areas, after: newerLabels.areas },
          {
            label: 'Organisations tagged',
            before: olderLabels.organisations,
            after: newerLabels.organisations,
          },
          { label: 'Tags', before: olderLabels.tags, after: newerLabels.tags },
        );
      }
      return {
        item,
        older,
        newer,
        labelsNotRecorded: [older, newer]
          .filter((revision) => revision.labels === null)
          .map((revision) => revision.revision_number),
        changes: fields
          .filter((field) => field.before !== field.after)
          .map((field) => ({
            label: field.label,
            parts: diffWords(field.before, field.after).map((part) => ({
              value: part.value,
              added: part.added === true,
              removed: part.removed === true,
            })),
          })),
      };
    },

    /**
     * Attaches an uploaded file to content: an attachment, a new document version (older ones are
     * kept), or the video, captions or poster of a video (replacing the previous one).
     */
    async attachFile(
      actor: Actor | null,
      id: string,
      role: ContentFileRole,
      upload: PendingUpload,
      title: string,
      note: string,
      context: RequestContext,
    ) {
      let item: ContentItemRow;
      try {
        item = await requireEditable(actor, id);
        if (role === 'document_version' && item.content_type !== 'document')
          throw new ValidationFailed({ file: 'Only documents have versions' });
        if (['video', 'captions', 'poster'].includes(role) && item.content_type !== 'video')
          throw new ValidationFailed({
            file: 'Only videos have a video file, captions and a poster image',
          });
        if (upload.purpose !== fileRolePurposes[role])
          throw new ValidationFailed({ file: 'That file is not allowed here' });
        const tooLong = fileDetailErrors(title, note);
        if (Object.keys(tooLong).length > 0) throw new ValidationFailed(tooLong);
        if (item.status === 'published') {
          const roles = (await repository.findContentFiles(id)).map((file) => file.role);
          const errors = publishedChangeErrors(item, [...roles, role], 'files');
          if (Object.keys(errors).length > 0) throw new ValidationFailed(errors);
        }
      } catch (error) {
        await deps.files.discardUpload(upload);
        throw error;
      }
      let replacedKeys: string[];
      try {
        replacedKeys = await repository.transaction(async (trx) => {
          // Held first: a second upload at the same moment then numbers its version after this
          // one, or replaces this video rather than standing beside it.
          await repository.holdItem(trx, id);
          const record = await deps.files.recordUpload(trx, upload, recordedUserId(actor!));
          const replaced = ['video', 'captions', 'poster'].includes(role)
            ? await repository.deleteContentFilesOfRole(trx, id, role)
            : [];
          // A replaced video, captions file or poster is gone for good (one uploaded by mistake
          // may show what it should not): its record goes now, its bytes once this commits.
          const keys = await deps.files.forgetFiles(trx, replaced);
          const versionNumber =
            role === 'document_version' ? await repository.nextVersionNumber(trx, id) : null;
          await repository.insertContentFile(trx, {
            id: randomUUID(),
            content_id: id,
            file_id: record.id,
            role,
            title: title.trim() || upload.originalName,
            version_number: versionNumber,
            note: note.trim() || null,
            created_by: recordedUserId(actor!),
            created_at: now().toISOString(),
          });
          await audit.record(
            {
              action: 'content.file_added',
              actorUserId: recordedUserId(actor!),
              targetType: 'content',
              targetId: id,
              organisationCode: item.organisation_code,
              details: {
                role,
                fileId: record.id,
                version: versionNumber,
                replaced: replaced.length,
              },
            },
            context,
            trx,
          );
          return keys;
        });
      } catch (error) {
        await deps.files.discardUpload(upload);
        throw error;
      }
      await deps.files.removeStoredBytes(replacedKeys);
    },

    /** Creates or updates seeded content by its external reference, publishing it; idempotent. */
    async upsertSeededContent(
      actor: Actor,
      seed: { externalRef: string; type: ContentType; input: ContentInput; isExample: boolean },
      context: RequestContext,
    ): Promise<'created' | 'unchanged' | 'updated'> {
      const existing = await repository.findItemByExternalRef(seed.externalRef);
      if (!existing) {
        const created = await this.create(actor, seed.type, seed.input, context, {
          isExample: seed.isExample,
          externalRef: seed.externalRef,
        });
        await this.publish(actor, created.id, context);
        return 'created';
      }
      const clean = await validateInput(actor, seed.type, seed.input);
      const same =
        existing.title === clean.title &&
        existing.summary === clean.summary &&
        existing.body === clean.body &&
        existing.details === JSON.stringify(clean.details) &&
        existing.privacy === clean.privacy &&
        existing.status === 'published';
      if (same) return 'unchanged';
      await this.update(actor, existing.id, seed.input, context);
      if (existing.status !== 'published') await this.publish(actor, existing.id, context);
      return 'updated';
    },

    /** What a person wrote in the knowledge hub, for their download. */
    async collectPersonalData(userId: string): Promise<Record<string, unknown>> {
      const { items, revisions } = await repository.findPersonalData(userId);
      return {
        contentItems: items.map((row) => ({
          type: row.content_type,
          slug: row.slug,
          title: row.title,
          status: row.status,
          createdByYou: row.created_by === userId,
          lastChangedByYou: row.updated_by === userId,
          createdAt: row.created_at,
          updatedAt: row.updated_at,
        })),
        contentRevisions: revisions.map((row) => ({
          slug: row.slug,
          revision: row.revision_number,
          title: row.title,
          status: row.status,
          note: row.note,
          savedAt: row.created_at,
        })),
      };
    },
  };
}

export type ContentService = ReturnType<typeof createContentService>;

/**
 * What is wrong with a file's title and note, keyed by the upload form's field ids (which its
 * error summary links to); empty when nothing is.
 */
export function fileDetailErrors(title: string, note: string): Record<string, string> {
  const errors: Record<string, string> = {};
  if (title.trim().length > authoringLimits.fileTitle)
    errors['file-title'] = `Title must be ${authoringLimits.fileTitle} characters or fewer`;
  if (note.trim().length > authoringLimits.fileNote)
    errors['file-note'] = `Note must be ${authoringLimits.fileNote} characters or fewer`;
  return errors;
}

/** A publishing rule that content does not meet yet. */
type PublishingGap = 'captions' | 'transcript' | 'startsAt' | 'place';

/**
 * The publishing rules content breaks. A video with its own file needs WebVTT captions; a video
 * entry with no file needs a transcript, so that it reads well with no video at all; an event
 * needs a start and a place (or an online link).
 */
function publishingGaps(
  item: Pick<ContentItemRow, 'content_type' | 'details'>,
  fileRoles: string[],
): PublishingGap[] {
  const gaps: PublishingGap[] = [];
  if (item.content_type === 'video') {
    const details = JSON.parse(item.details) as { transcript?: string; externalUrl?: string };
    if (fileRoles.includes('video') && !fileRoles.includes('captions')) gaps.push('captions');
    if (!details.transcript?.trim()) gaps.push('transcript');
  }
  if (item.content_type === 'event') {
    const details = JSON.parse(item.details) as {
      startsAt?: string;
      location?: string;
      onlineUrl?: string;
    };
    if (!details.startsAt) gaps.push('startsAt');
    if (!details.location && !details.onlineUrl) gaps.push('place');
  }
  return gaps;
}

const gapsBeforePublishing: Record<PublishingGap, string> = {
  captions: 'Add a WebVTT captions file before publishing the video',
  transcript: 'Add a transcript before publishing the video',
  startsAt: 'Add the date and time the event starts',
  place: 'Add where the event is, or its online link',
};

/** The form field each rule belongs to, and what to say when a change to published content breaks it. */
const gapsOfPublished: Record<PublishingGap, { field: string; message: string }> = {
  captions: {
    field: 'file',
    message: 'Add the WebVTT captions first: the video is published, so its file needs captions',
  },
  transcript: {
    field: 'details-transcript',
    message: 'Enter a transcript: the video is published, and a published video needs one',
  },
  startsAt: {
    field: 'details-startsAt',
    message: 'Enter the date and time the event starts: the event is published, so it needs one',
  },
  place: {
    field: 'details-location',
    message:
      'Enter where the event is, or its online link: the event is published, so it needs one',
  },
};

/** Why content cannot be published yet, one sentence per rule it breaks. */
export function publishProblems(
  item: Pick<ContentItemRow, 'content_type' | 'details'>,
  fileRoles: string[],
): string[] {
  return publishingGaps(item, fileRoles).map((gap) => gapsBeforePublishing[gap]);
}

/**
 * The field errors of a change that would leave published content breaking a publishing rule,
 * limited to the rules that change can affect: an edit of the text and details cannot add
 * captions, nor can an upload add a transcript. Published content has to keep meeting the rules
 * it was published under, or its page and calendar file would show it incomplete.
 */
export function publishedChangeErrors(
  item: Pick<ContentItemRow, 'content_type' | 'details'>,
  fileRoles: string[],
  change: 'details' | 'files',
): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const gap of publishingGaps(item, fileRoles)) {
    if ((gap === 'captions') !== (change === 'files')) continue;
    const { field, message } = gapsOfPublished[gap];
    errors[field] ??= message;
  }
  return errors;
}

/** Search input as plain words (letters and digits only), at most 10. */
export function searchWords(query: string): string[] {
  return query
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .split(/[^\p{L}\p{N}]+/u)
    .filter((word) => word.length > 0)
    .slice(0, 10);
}

/** Escapes a snippet, then turns the search engine's markers into <mark>. */
export function highlight(snippet: string): string {
  const escaped = snippet.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
  return escaped.split(HIGHLIGHT_START).join('<mark>').split(HIGHLIGHT_END).join('</mark>');
}

const detailLabels: Record<string, string> = {
  problem: 'The problem',
  whatWasDone: 'What was done',
  results: 'Results',
  tco2eSavedPerYear: 'Carbon saved (tCO2e a year)',
  moneySavedPerYearGbp: 'Money saved (£ a year)',
  benefitToPeople: 'Benefit to patients or staff',
  contactName: 'Contact name',
  contactEmail: 'Contact email',
  speaker: 'Speaker',
  externalUrl: 'Link to the video',
  transcript: 'Transcript',
  durationMinutes: 'Length (minutes)',
  documentKind: 'Kind of document',
  startsAt: 'Starts',
  endsAt: 'Ends',
  location: 'Place',
  onlineUrl: 'Online link',
};

export function detailLabel(key: string): string {
  return detailLabels[key] ?? key;
}

function stringify(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return amountText(value);
  return String(value);
}

/**
 * What an edit changed of who owns an item and who may read it. Revisions keep the words; these
 * are kept with the edit's audit record, so a move to another organisation or workspace is seen.
 */
function whoMayReadChanges(
  before: ContentItemRow,
  after: ContentItemRow,
): { changed?: Record<string, { from: string | null; to: string | null }> } {
  const changed: Record<string, { from: string | null; to: string | null }> = {};
  const compare = (name: string, from: string | null, to: string | null) => {
    if (from !== to) changed[name] = { from, to };
  };
  compare('organisationCode', before.organisation_code, after.organisation_code);
  compare('workspaceId', before.workspace_id, after.workspace_id);
  compare('privacy', before.privacy, after.privacy);
  return Object.keys(changed).length > 0 ? { changed } : {};
}
