import { randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import { randomToken, sha256Hex } from '../../lib/crypto.ts';
import { isPlausibleEmail, normaliseEmail, ValidationFailed } from '../../lib/validation.ts';
import type {
  ConversationRow,
  ConversationSubject,
  Database,
  DiscussionThreadRow,
  WorkspaceRow,
} from '../../db/schema.ts';
import { isUniqueViolation } from '../../db/unique-violation.ts';
import { NotFoundError } from '../../web/http-errors.ts';
import type { RequestContext } from '../../web/request-context.ts';
import {
  assertCan,
  can,
  ForbiddenError,
  type Actor,
  type WorkspaceResource,
} from '../access/policy.ts';
import type { ActorService } from '../access/actor.service.ts';
import type { FormSubmissionService } from '../security/form-submission.service.ts';
import { roleDefinitions } from '../access/roles.ts';
import { findAreaOfFocus, nationalAreasOfFocus } from '../areas-of-focus/area-of-focus.data.ts';
import type { AuditService } from '../audit/audit.service.ts';
import type { ContentService } from '../content/content.service.ts';
import { highlight, searchWords } from '../content/content.service.ts';
import { markdownToPlainText, renderMarkdown } from '../content/markdown.ts';
import type { EmailService } from '../email/email.service.ts';
import type {
  FrequencyChoices,
  NotificationService,
  PreparedNotification,
} from '../notifications/notification.service.ts';
import {
  enforceRateLimit,
  rateLimitRules,
  sharedLimitExplanations,
  type RateLimitService,
} from '../security/rate-limit.service.ts';
import type { WorkspaceService } from '../workspaces/workspace.service.ts';
import type { DiscussionRepository } from './discussion.repository.ts';
import { linkMentions, mentionsToNotify } from './mentions.ts';

const MAX_TITLE = 200;
const MAX_POST = 20_000;
/** A moderator's reason for hiding a post, as long as a reporter's reason may be. */
const MAX_HIDE_REASON = 1000;
const NEW_ACCOUNT_DAYS = 7;
const INVITATION_DAYS = 28;
/** The shape of the tokens `randomToken` makes, with room to spare. */
const INVITATION_TOKEN = /^[A-Za-z0-9_-]{20,100}$/;
const signature = '\n\nGreenspace – the collaboration workspace for a greener NHS';

export type CommentSubjectType = Exclude<ConversationSubject, 'thread'>;

/** The rules of something people comment on: who reads, comments and moderates, and its page. */
export interface CommentSubject {
  /** Its title, page, the people to tell of new comments, and its workspace if any. */
  describe(
    id: string,
  ): Promise<
    { title: string; link: string; authorIds: string[]; workspaceId: string | null } | undefined
  >;
  canRead(actor: Actor | null, id: string): Promise<boolean>;
  canComment(actor: Actor, id: string): Promise<boolean>;
  canModerate(actor: Actor | null, id: string): Promise<boolean>;
  /**
   * Called in the transaction that posts a comment: holds the subject as its own changes hold it,
   * and says whether it is still there. A subject that can be deleted while a comment is being
   * posted (a Green Plan action) implements it, so that no conversation is left for a subject gone.
   */
  holdForComment?(trx: Transaction<Database>, id: string): Promise<boolean>;
}

export interface DiscussionServiceDependencies {
  repository: DiscussionRepository;
  workspaces: WorkspaceService;
  content: ContentService;
  notifications: NotificationService;
  actors: ActorService;
  audit: AuditService;
  email: EmailService;
  rateLimits: RateLimitService;
  /** One-time keys of the forms that post, so that a form sent twice posts once. */
  formSubmissions: FormSubmissionService;
  findUserByHandle: (handle: string) => Promise<
    | {
        id: string;
        display_name: string;
        handle: string | null;
        status: string;
        created_at: string;
      }
    | undefined
  >;
  findUserByEmail: (email: string) => Promise<{ id: string; created_at: string } | undefined>;
  findUserCreatedAt: (userId: string) => Promise<string | undefined>;
  publicUrl: string;
  now?: () => Date;
}

async function filterAsync<T>(items: T[], keep: (item: T) => Promise<boolean>): Promise<T[]> {
  const kept: T[] = [];
  for (const item of items) if (await keep(item)) kept.push(item);
  return kept;
}

/**
 * The state a form asks for, sent as 1 or 0 rather than "the opposite of now": a form sent twice
 * (a double click, a page left open) then sets the same state twice instead of undoing itself.
 */
function intendedState(value: string, field: string, problem: string): boolean {
  if (value === '1') return true;
  if (value === '0') return false;
  throw new ValidationFailed({ [field]: problem });
}

function workspaceResource(workspace: WorkspaceRow): WorkspaceResource {
  return { kind: 'workspace', id: workspace.id, privacy: workspace.privacy };
}

/**
 * Discussions in workspaces, and comments on content, on one machinery: a conversation of posts.
 * Posts are Markdown with quoting and @mentions; threads can be pinned, locked and answered;
 * managers moderate; everyone involved is notified, but only ever about what they may read.
 */
export function createDiscussionService(deps: DiscussionServiceDependencies) {
  const { repository, notifications } = deps;
  const now = deps.now ?? (() => new Date());
  // What comments can be attached to, and the rules each follows. Content is known here; other
  // modules (the Green Plan tracker's actions) register theirs.
  const subjects = new Map<string, CommentSubject>([
    [
      'content',
      {
        async describe(id) {
          const item = await deps.content.findById(id);
          return item
            ? {
                title: item.title,
                link: deps.content.linkOf(item),
                authorIds: item.created_by ? [item.created_by] : [],
                workspaceId: item.workspace_id,
              }
            : undefined;
        },
        canRead: (actor, id) => deps.content.canRead(actor, id),
        canComment: (actor, id) => deps.content.canRead(actor, id),
        canModerate: (actor, id) => deps.content.canEdit(actor, id),
      },
    ],
  ]);

  /**
   * A moderator does not judge reports on their own post, nor bring it back once hidden: another
   * moderator (or a platform admin, who is told when nobody else moderates it) decides.
   */
  function refuseOwnPostDecision(actor: Actor, post: { author_id: string | null }): void {
    if (post.author_id === actor.userId && !actor.isPlatformAdmin)
      throw new ForbiddenError('You wrote this post, so another moderator decides on it');
  }

  function requireSubject(type: CommentSubjectType): CommentSubject {
    const subject = subjects.get(type);
    if (!subject) throw new Error(`No comment rules registered for ${type}`);
    return subject;
  }

  async function requireWorkspace(slug: string): Promise<WorkspaceRow> {
    const workspace = /^[a-z0-9-]{1,60}$/.test(slug)
      ? await deps.workspaces.findBySlug(slug)
      : undefined;
    if (!workspace) throw new NotFoundError();
    return workspace;
  }

  /** A workspace the actor may read; private workspaces answer 404 to outsiders, as if absent. */
  async function readableWorkspace(actor: Actor | null, slug: string): Promise<WorkspaceRow> {
    const workspace = await requireWorkspace(slug);
    if (!can(actor, 'workspace.read', workspaceResource(workspace))) {
      if (workspace.privacy === 'private') throw new NotFoundError();
      throw new ForbiddenError('Members only');
    }
    return workspace;
  }

  /**
   * Refuses an action on a workspace: as 404 where the workspace is private and the actor may not
   * read it (refusing would confirm that it exists), as 403 elsewhere.
   */
  function assertCanInWorkspace(
    actor: Actor | null,
    action: 'workspace.join' | 'workspace.request_to_join' | 'workspace.post' | 'workspace.manage',
    workspace: WorkspaceRow,
  ): void {
    const resource = workspaceResource(workspace);
    if (workspace.privacy === 'private' && !can(actor, 'workspace.read', resource))
      throw new NotFoundError();
    assertCan(actor, action, resource);
  }

  /**
   * Checked inside a manager's change, with the workspace's row held: the actor still manages it.
   * Their rights were read before the transaction, and another manager may have made them a
   * member, or removed them, meanwhile.
   */
  async function requireStillManaging(
    trx: Transaction<Database>,
    actor: Actor,
    workspace: WorkspaceRow,
  ): Promise<void> {
    await repository.holdWorkspace(trx, workspace.id);
    if (actor.isPlatformAdmin) return;
    const own = await repository.findWorkspaceMember(workspace.id, actor.userId, trx);
    if (own?.role !== 'manager') throw new ForbiddenError('Not allowed: workspace.manage');
  }

  /**
   * The pending invitation to this workspace that a link's token and address open, if any. The
   * database holds only a hash of the two, so a token with another address opens nothing.
   */
  async function findPendingInvitation(
    workspace: WorkspaceRow,
    token: string,
    address: string,
    executor?: Transaction<Database>,
  ) {
    if (!INVITATION_TOKEN.test(token)) return undefined;
    const invitation = await repository.findWorkspaceInvitationByToken(
      sha256Hex(`${token}:${normaliseEmail(address)}`),
      executor,
    );
    const pending =
      invitation !== undefined &&
      invitation.workspace_id === workspace.id &&
      invitation.status === 'pending' &&
      (invitation.expires_at ?? '') > now().toISOString();
    return pending ? invitation : undefined;
  }

  /**
   * A member about to leave a workspace: the workspace, and whether they are its only manager (a
   * workspace keeps at least one), for the page before leaving and for leaving itself.
   */
  async function leavingOf(actor: Actor | null, slug: string) {
    const workspace = await readableWorkspace(actor, slug);
    if (!actor || !actor.workspaceIds.includes(workspace.id))
      throw new ForbiddenError('You are not a member of this workspace');
    const managers = (await repository.findWorkspaceMembers(workspace.id)).filter(
      (member) => member.role === 'manager',
    );
    return {
      workspace,
      memberId: actor.userId,
      onlyManager: managers.length === 1 && managers[0]!.id === actor.userId,
    };
  }

  async function requireThread(actor: Actor | null, slug: string, threadId: string) {
    const workspace = await readableWorkspace(actor, slug);
    const thread = /^[0-9a-f-]{36}$/.test(threadId)
      ? await repository.findThread(workspace.id, threadId)
      : undefined;
    const manages = can(actor, 'workspace.manage', workspaceResource(workspace));
    if (!thread || (thread.hidden && !manages)) throw new NotFoundError();
    const conversation = (await repository.findConversation(thread.conversation_id))!;
    return { workspace, thread, conversation, manages };
  }

  /** Whether someone may read a conversation: the rule of what it is about. */
  async function canReadConversation(
    actor: Actor | null,
    conversation: ConversationRow,
  ): Promise<boolean> {
    if (conversation.subject_type === 'thread') {
      const thread = await repository.findThreadByConversation(conversation.id);
      const workspace = thread ? await deps.workspaces.findById(thread.workspace_id) : undefined;
      if (!thread || !workspace) return false;
      if (thread.hidden) return can(actor, 'workspace.manage', workspaceResource(workspace));
      return can(actor, 'workspace.read', workspaceResource(workspace));
    }
    const subject = subjects.get(conversation.subject_type);
    return subject ? subject.canRead(actor, conversation.subject_id) : false;
  }

  /** Who moderates a conversation: the workspace's managers, or the editors of the content. */
  async function canModerate(actor: Actor | null, conversation: ConversationRow): Promise<boolean> {
    if (!actor) return false;
    if (conversation.subject_type === 'thread' && conversation.workspace_id) {
      const workspace = await deps.workspaces.findById(conversation.workspace_id);
      return (
        workspace !== undefined && can(actor, 'workspace.manage', workspaceResource(workspace))
      );
    }
    const subject = subjects.get(conversation.subject_type);
    if (subject) return subject.canModerate(actor, conversation.subject_id);
    return actor.isPlatformAdmin;
  }

  async function canPost(actor: Actor | null, conversation: ConversationRow): Promise<boolean> {
    if (!actor) return false;
    if (conversation.subject_type === 'thread' && conversation.workspace_id) {
      const workspace = await deps.workspaces.findById(conversation.workspace_id);
      return workspace !== undefined && can(actor, 'workspace.post', workspaceResource(workspace));
    }
    const subject = subjects.get(conversation.subject_type);
    return subject ? subject.canComment(actor, conversation.subject_id) : false;
  }

  /**
   * Who may be told about a conversation: the rule used for replies (a thread's workspace's
   * readers, or the readers of what the comments are on), checked when the event happens.
   */
  async function readCheckFor(
    conversation: ConversationRow,
  ): Promise<(recipient: Actor) => Promise<boolean> | boolean> {
    if (conversation.subject_type === 'thread') {
      const workspace = conversation.workspace_id
        ? await deps.workspaces.findById(conversation.workspace_id)
        : undefined;
      return (recipient) =>
        workspace !== undefined && can(recipient, 'workspace.read', workspaceResource(workspace));
    }
    const subject = subjects.get(conversation.subject_type);
    return (recipient) =>
      subject ? subject.canRead(recipient, conversation.subject_id) : Promise.resolve(false);
  }

  async function linkFor(conversation: ConversationRow, postId?: string): Promise<string> {
    const anchor = postId ? `#post-${postId}` : '';
    if (conversation.subject_type === 'thread') {
      const thread = await repository.findThreadByConversation(conversation.id);
      const workspace = thread ? await deps.workspaces.findById(thread.workspace_id) : undefined;
      return workspace && thread
        ? `/workspaces/${workspace.slug}/threads/${thread.id}${anchor}`
        : '/';
    }
    const about = await subjects.get(conversation.subject_type)?.describe(conversation.subject_id);
    return about ? `${about.link}${anchor || '#comments'}` : '/';
  }

  /**
   * Counts a post against the hourly limit. A refusal is audited against what the post was for: the
   * workspace of a new thread, the conversation of a reply, or the item a first comment is on.
   */
  async function checkPostRate(
    actor: Actor,
    attempted: {
      action: 'discussion.thread_created' | 'discussion.posted';
      target: { type: string; id: string };
    },
    context: RequestContext,
  ): Promise<void> {
    const created = await deps.findUserCreatedAt(actor.userId);
    const isNew =
      !created || now().getTime() - new Date(created).getTime() < NEW_ACCOUNT_DAYS * 86_400_000;
    const rule = isNew ? 'postPerNewAccount' : 'postPerAccount';
    const { limit } = rateLimitRules[rule];
    await enforceRateLimit(
      deps,
      rule,
      actor.userId,
      {
        action: attempted.action,
        actorUserId: actor.userId,
        targetType: attempted.target.type,
        targetId: attempted.target.id,
      },
      context,
      isNew
        ? `You have posted ${limit} times in the last hour. Accounts less than ${NEW_ACCOUNT_DAYS} days old can post up to ${limit} times an hour, to keep the workspaces free of spam.`
        : `You have posted ${limit} times in the last hour, which is the most anyone can post in an hour.`,
    );
  }

  function validateBody(body: string, field = 'body'): string {
    const text = body.trim();
    if (text === '') throw new ValidationFailed({ [field]: 'Write your message' });
    if (text.length > MAX_POST)
      throw new ValidationFailed({
        [field]: `Your message must be ${MAX_POST.toLocaleString('en-GB')} characters or fewer`,
      });
    return text;
  }

  /**
   * Who a new post concerns — the people it replies to, mentions, or who follow the conversation —
   * prepared before the transaction (reads happen outside it), each told once. Only the first
   * `MAX_MENTIONS_NOTIFIED` people mentioned are looked up and told.
   */
  async function preparePostNotifications(
    actor: Actor,
    canRead: (recipient: Actor) => Promise<boolean> | boolean,
    post: { id: string; body: string; link: string },
    groups: { replyTo: string[]; followers: string[] },
    summary: string,
  ): Promise<PreparedNotification[]> {
    const excerpt = markdownToPlainText(post.body).slice(0, 300);
    const mentioned: string[] = [];
    for (const handle of mentionsToNotify(post.body).handles) {
      const user = await deps.findUserByHandle(handle);
      if (user && user.status === 'active') mentioned.push(user.id);
    }
    const told = new Set<string>();
    const prepared: PreparedNotification[] = [];
    for (const [kind, recipients, title] of [
      ['mention', mentioned, `${actor.displayName} mentioned you: ${summary}`],
      ['reply', groups.replyTo, `${actor.displayName} replied: ${summary}`],
      ['followed_activity', groups.followers, `New post: ${summary}`],
    ] as const) {
      const batch = await notifications.prepare(
        recipients.filter((userId) => !told.has(userId)),
        {
          kind,
          title,
          body: `${actor.displayName} wrote:\n\n${excerpt}`,
          link: post.link,
          actorId: actor.userId,
          dedupeKey: `post:${post.id}`,
        },
        canRead,
      );
      for (const entry of batch) told.add(entry.userId);
      prepared.push(...batch);
    }
    return prepared;
  }

  /**
   * Open reports as a moderator's queue shows them. On the moderator's own posts, who reported
   * them and why are left out: the author of a post is never told either, moderator or not.
   */
  async function describeReports(
    viewer: Actor,
    reports: Awaited<ReturnType<DiscussionRepository['findOpenReports']>>,
  ) {
    const described = [];
    for (const report of reports) {
      const conversation = await repository.findConversation(report.conversation_id);
      const ownPost = report.post_author_id === viewer.userId;
      described.push({
        id: report.id,
        created_at: report.created_at,
        post_id: report.post_id,
        hidden_at: report.hidden_at,
        author_name: report.author_name,
        ownPost,
        // Reports on one's own post are for another moderator (see refuseOwnPostDecision).
        decidedByOthers: ownPost && !viewer.isPlatformAdmin,
        reporter_name: ownPost ? null : report.reporter_name,
        reason: ownPost ? null : report.reason,
        excerpt: markdownToPlainText(report.body).slice(0, 300),
        link: conversation ? await linkFor(conversation, report.post_id) : '/',
      });
    }
    return described;
  }

  /**
   * Closes what is still open of a post's reports, with the outcome the post stands at, and audits
   * their dismissal when there were any: closing none changes nothing, so nothing is recorded.
   */
  async function closeOpenReports(
    trx: Transaction<Database>,
    actor: Actor,
    postId: string,
    outcome: 'hidden' | 'kept',
    context: RequestContext,
  ): Promise<number> {
    const closed = await repository.resolveReportsOfPost(
      trx,
      postId,
      actor.userId,
      now().toISOString(),
      outcome,
    );
    if (closed > 0)
      await deps.audit.record(
        {
          action: 'discussion.reports_dismissed',
          actorUserId: actor.userId,
          targetType: 'post',
          targetId: postId,
          details: { outcome, reports: closed },
        },
        context,
        trx,
      );
    return closed;
  }

  /**
   * A post and its conversation, when the actor may read them; otherwise 404, as if absent. A
   * hidden post is found only when `hiddenToo` (its callers then decide what a hidden post allows).
   */
  async function readablePost(
    actor: Actor | null,
    postId: string,
    options: { hiddenToo?: boolean } = {},
  ) {
    const post = /^[0-9a-f-]{36}$/.test(postId) ? await repository.findPost(postId) : undefined;
    if (!post) throw new NotFoundError();
    const conversation = (await repository.findConversation(post.conversation_id))!;
    if (!(await canReadConversation(actor, conversation))) throw new NotFoundError();
    if (post.hidden_at && !options.hiddenToo) throw new NotFoundError();
    return { post, conversation };
  }

  /**
   * Writes what search holds of a thread, as it stands in this transaction: nothing while the thread
   * is hidden; otherwise its title and the text of its opening post, unless a moderator hid that
   * post, whose text must not be found or shown in a snippet.
   */
  async function indexThread(trx: Transaction<Database>, thread: DiscussionThreadRow) {
    const current = await repository.findThread(thread.workspace_id, thread.id, trx);
    if (!current || current.hidden) {
      await repository.deleteThreadSearch(trx, thread.id);
      return;
    }
    const opening = await repository.findOpeningPost(current.conversation_id, trx);
    const body = opening && !opening.hidden_at ? markdownToPlainText(opening.body) : '';
    await repository.upsertThreadSearch(trx, current.id, current.title, body);
  }

  async function ensureConversation(
    trx: Transaction<Database>,
    subject: ConversationSubject,
    subjectId: string,
    workspaceId: string | null,
  ): Promise<ConversationRow> {
    const existing = await repository.findConversationBySubject(subject, subjectId, trx);
    if (existing) return existing;
    const at = now().toISOString();
    const row: ConversationRow = {
      id: randomUUID(),
      subject_type: subject,
      subject_id: subjectId,
      workspace_id: workspaceId,
      locked: 0,
      created_at: at,
      last_post_at: at,
    };
    await repository.insertConversation(trx, row);
    return row;
  }

  async function renderPosts(
    actor: Actor | null,
    conversation: ConversationRow,
    moderator: boolean,
  ) {
    const posts = await repository.listPosts(conversation.id, actor?.userId ?? null);
    const byId = new Map(posts.map((post) => [post.id, post]));
    return posts.map((post) => {
      const quoted = post.quoted_post_id ? byId.get(post.quoted_post_id) : undefined;
      const hidden = post.hidden_at !== null;
      return {
        id: post.id,
        authorName:
          post.author_status === 'deleted' || !post.author_name ? 'Deleted user' : post.author_name,
        authorHandle: post.author_status === 'deleted' ? null : post.author_handle,
        createdAt: post.created_at,
        editedAt: post.edited_at,
        hidden,
        hiddenReason: post.hidden_reason,
        // Hidden posts are shown to moderators (marked), and to everyone else as a placeholder.
        bodyHtml: hidden && !moderator ? '' : renderMarkdown(linkMentions(post.body)),
        rawBody: actor && actor.userId === post.author_id ? post.body : '',
        quote:
          quoted && !quoted.hidden_at
            ? {
                author: quoted.author_name ?? 'Deleted user',
                text: markdownToPlainText(quoted.body).slice(0, 300),
              }
            : null,
        usefulCount: post.useful_count,
        viewerFoundUseful: post.viewer_found_useful > 0,
        isOwn: actor !== null && actor.userId === post.author_id,
      };
    });
  }

  return {
    canReadConversation,

    /** Lets another module take comments on its things (e.g. plan actions), with its own rules. */
    registerCommentSubject(
      type: Exclude<CommentSubjectType, 'content'>,
      subject: CommentSubject,
    ): void {
      subjects.set(type, subject);
    },

    // --- workspaces ---

    async listWorkspaces(actor: Actor | null) {
      const workspaces = await deps.workspaces.listWorkspaces();
      return workspaces
        .filter(
          (workspace) =>
            workspace.privacy !== 'private' ||
            can(actor, 'workspace.read', workspaceResource(workspace)),
        )
        .map((workspace) => ({
          ...workspace,
          isMember: actor?.workspaceIds.includes(workspace.id) ?? false,
        }));
    },

    async workspacePage(actor: Actor | null, slug: string, page: number, pageSize: number) {
      const workspace = await requireWorkspace(slug);
      const resource = workspaceResource(workspace);
      const readable = can(actor, 'workspace.read', resource);
      if (!readable && workspace.privacy === 'private') throw new NotFoundError();
      const manages = can(actor, 'workspace.manage', resource);
      const pendingRequest =
        actor && !readable
          ? await repository.findPendingWorkspaceRequest(workspace.id, actor.userId)
          : undefined;
      const base = {
        workspace,
        readable,
        manages,
        isMember: actor?.workspaceIds.includes(workspace.id) ?? false,
        canJoin: can(actor, 'workspace.join', resource),
        canRequest: can(actor, 'workspace.request_to_join', resource) && !pendingRequest,
        hasPendingRequest: pendingRequest !== undefined,
        canPost: can(actor, 'workspace.post', resource),
        following: actor
          ? await repository.isFollowing(actor.userId, 'workspace', workspace.id)
          : false,
      };
      const members = (await repository.findWorkspaceMembers(workspace.id)).length;
      if (!readable) return { ...base, threads: [], total: 0, activity: [], members };
      const [{ items, total }, recent] = await Promise.all([
        repository.listThreads(workspace.id, {
          includeHidden: manages,
          limit: pageSize,
          offset: (page - 1) * pageSize,
        }),
        repository.recentActivity(workspace.id, manages, 10),
      ]);
      // One feed, newest first: posts in the workspace's discussions and content shared with it.
      const activity = [
        ...recent.posts.map((post) => ({
          text: `${post.author_name ?? 'Deleted user'} posted in “${post.title}”`,
          href: `/workspaces/${workspace.slug}/threads/${post.thread_id}#post-${post.id}`,
          at: post.created_at,
        })),
        // Content shared with an open workspace may still be for its members only.
        ...(await filterAsync(recent.content, (item) => deps.content.canRead(actor, item.id))).map(
          (item) => ({
            text: `${item.title} was shared with the workspace`,
            href: deps.content.linkOf(item),
            at: item.published_at ?? '',
          }),
        ),
      ]
        .sort((a, b) => b.at.localeCompare(a.at))
        .slice(0, 10);
      return { ...base, threads: items, total, activity, members };
    },

    /**
     * A workspace for a page that only those allowed `action` in it see (its settings, the form to
     * start a thread): 403 to anyone else who may know of it, 404 where it is private to them.
     */
    async workspaceFor(
      actor: Actor | null,
      slug: string,
      action: 'workspace.manage' | 'workspace.post',
    ): Promise<WorkspaceRow> {
      const workspace = await requireWorkspace(slug);
      assertCanInWorkspace(actor, action, workspace);
      return workspace;
    },

    async workspaceMembers(actor: Actor | null, slug: string) {
      const workspace = await requireWorkspace(slug);
      // The member list is for members: it says who is in a conversation.
      if (!actor || (!actor.workspaceIds.includes(workspace.id) && !actor.isPlatformAdmin)) {
        if (workspace.privacy === 'private') throw new NotFoundError();
        throw new ForbiddenError('Members only');
      }
      const manages = can(actor, 'workspace.manage', workspaceResource(workspace));
      return {
        workspace,
        manages,
        members: await repository.findWorkspaceMembers(workspace.id),
        requests: manages ? await repository.findWorkspaceRequests(workspace.id) : [],
      };
    },

    async join(actor: Actor | null, slug: string, context: RequestContext): Promise<void> {
      const workspace = await requireWorkspace(slug);
      assertCanInWorkspace(actor, 'workspace.join', workspace);
      await repository.transaction(async (trx) => {
        const at = now().toISOString();
        await repository.addWorkspaceMemberIfAbsent(trx, workspace.id, actor!.userId, at);
        await repository.follow(trx, actor!.userId, 'workspace', workspace.id, at);
        // A request sent while the workspace was restricted is answered by joining it once open.
        await repository.withdrawPendingWorkspaceRequest(trx, workspace.id, actor!.userId, at);
        await deps.audit.record(
          {
            action: 'workspace.joined',
            actorUserId: actor!.userId,
            targetType: 'workspace',
            targetId: workspace.id,
          },
          context,
          trx,
        );
      });
    },

    /** The page before leaving: the workspace, and whether the actor is its only manager. */
    getLeaving: (actor: Actor | null, slug: string) => leavingOf(actor, slug),

    async leave(actor: Actor | null, slug: string, context: RequestContext): Promise<void> {
      const { workspace, memberId, onlyManager } = await leavingOf(actor, slug);
      const refused = new ValidationFailed({
        leave:
          'You are the only manager of this workspace. Make someone else a manager before you leave',
      });
      if (onlyManager) throw refused;
      await repository.transaction(async (trx) => {
        // Counted again here: two managers leaving at once each saw the other above.
        const managers = await repository.findWorkspaceManagerIdsForUpdate(trx, workspace.id);
        if (managers.length === 1 && managers[0] === memberId) throw refused;
        await repository.removeWorkspaceMember(trx, workspace.id, memberId);
        await repository.unfollow(trx, memberId, 'workspace', workspace.id);
        await deps.audit.record(
          {
            action: 'workspace.left',
            actorUserId: memberId,
            targetType: 'workspace',
            targetId: workspace.id,
          },
          context,
          trx,
        );
      });
    },

    async requestToJoin(actor: Actor | null, slug: string, context: RequestContext): Promise<void> {
      const workspace = await requireWorkspace(slug);
      assertCanInWorkspace(actor, 'workspace.request_to_join', workspace);
      const alreadyAsked = () =>
        new ValidationFailed({ request: 'You have already asked to join. A manager will reply' });
      if (await repository.findPendingWorkspaceRequest(workspace.id, actor!.userId))
        throw alreadyAsked();
      await enforceRateLimit(
        deps,
        'joinRequestPerUser',
        actor!.userId,
        {
          action: 'workspace.join_requested',
          actorUserId: actor!.userId,
          targetType: 'workspace',
          targetId: workspace.id,
        },
        context,
        sharedLimitExplanations.joinRequestPerUser,
        'Your request has not been sent.',
      );
      const id = randomUUID();
      const managers = (await repository.findWorkspaceMembers(workspace.id))
        .filter((member) => member.role === 'manager')
        .map((member) => member.id);
      const prepared = await notifications.prepare(
        managers,
        {
          kind: 'workspace',
          title: `${actor!.displayName} asked to join ${workspace.name}`,
          body: `${actor!.displayName} asked to join the ${workspace.name} workspace.`,
          link: `/workspaces/${workspace.slug}/members`,
          actorId: actor!.userId,
          dedupeKey: `workspace-request:${id}`,
        },
        () => true,
      );
      await repository.transaction(async (trx) => {
        try {
          await repository.insertWorkspaceRequest(trx, {
            id,
            workspace_id: workspace.id,
            user_id: actor!.userId,
            kind: 'request',
            status: 'pending',
            token_hash: null,
            created_by: actor!.userId,
            created_at: now().toISOString(),
            expires_at: null,
            decided_by: null,
            decided_at: null,
          });
        } catch (error) {
          // The same request sent twice at once (a double click) passes the check above twice;
          // the database keeps one pending request per person and workspace, and the second is
          // answered as asking again is.
          if (!isUniqueViolation(error)) throw error;
          throw alreadyAsked();
        }
        await notifications.record(trx, prepared);
        await deps.audit.record(
          {
            action: 'workspace.join_requested',
            actorUserId: actor!.userId,
            targetType: 'workspace',
            targetId: workspace.id,
          },
          context,
          trx,
        );
      });
    },

    async decideRequest(
      actor: Actor | null,
      slug: string,
      requestId: string,
      decision: string,
      context: RequestContext,
    ): Promise<void> {
      const workspace = await requireWorkspace(slug);
      assertCanInWorkspace(actor, 'workspace.manage', workspace);
      if (decision !== 'approve' && decision !== 'decline')
        throw new ValidationFailed({
          decision: 'Choose whether to approve or decline the request',
        });
      const approve = decision === 'approve';
      const request = /^[0-9a-f-]{36}$/.test(requestId)
        ? await repository.findWorkspaceRequest(workspace.id, requestId)
        : undefined;
      if (!request || request.kind !== 'request')
        throw new NotFoundError('That request was not found.');
      const prepared = await notifications.prepare(
        [request.user_id],
        {
          kind: 'workspace',
          title: approve
            ? `You are now a member of ${workspace.name}`
            : `Your request to join ${workspace.name}`,
          body: approve
            ? `Your request to join the ${workspace.name} workspace was approved.`
            : `Your request to join the ${workspace.name} workspace was declined.`,
          link: `/workspaces/${workspace.slug}`,
          actorId: actor!.userId,
          dedupeKey: `workspace-request-decision:${request.id}`,
        },
        () => true,
      );
      await repository.transaction(async (trx) => {
        await requireStillManaging(trx, actor!, workspace);
        const at = now().toISOString();
        if (
          !(await repository.decideWorkspaceRequest(
            trx,
            request.id,
            approve ? 'approved' : 'declined',
            actor!.userId,
            at,
          ))
        ) {
          throw new ValidationFailed({ request: 'This request has already been decided' });
        }
        if (approve) {
          await repository.addWorkspaceMemberIfAbsent(trx, workspace.id, request.user_id, at);
          await repository.follow(trx, request.user_id, 'workspace', workspace.id, at);
        }
        await notifications.record(trx, prepared);
        await deps.audit.record(
          {
            action: approve ? 'workspace.join_approved' : 'workspace.join_declined',
            actorUserId: actor!.userId,
            targetType: 'user',
            targetId: request.user_id,
            details: { workspace: workspace.slug },
          },
          context,
          trx,
        );
      });
    },

    /** A manager invites someone by email; the link works once, for 28 days. */
    async invite(
      actor: Actor | null,
      slug: string,
      rawEmail: string,
      context: RequestContext,
    ): Promise<void> {
      const workspace = await requireWorkspace(slug);
      assertCanInWorkspace(actor, 'workspace.manage', workspace);
      const address = normaliseEmail(rawEmail);
      if (!isPlausibleEmail(address))
        throw new ValidationFailed({
          email: 'Enter an email address in the correct format, like name@nhs.net',
        });
      await enforceRateLimit(
        deps,
        'invitationPerUser',
        actor!.userId,
        {
          action: 'workspace.invited',
          actorUserId: actor!.userId,
          targetType: 'workspace',
          targetId: workspace.id,
        },
        context,
        sharedLimitExplanations.invitationPerUser,
        'This invitation has not been sent.',
      );
      const invitee = await deps.findUserByEmail(address);
      const token = randomToken();
      await repository.transaction(async (trx) => {
        await requireStillManaging(trx, actor!, workspace);
        const at = now();
        await repository.insertWorkspaceRequest(trx, {
          id: randomUUID(),
          workspace_id: workspace.id,
          user_id: invitee?.id ?? actor!.userId,
          kind: 'invitation',
          status: 'pending',
          token_hash: sha256Hex(`${token}:${address}`),
          created_by: actor!.userId,
          created_at: at.toISOString(),
          expires_at: new Date(at.getTime() + INVITATION_DAYS * 86_400_000).toISOString(),
          decided_by: null,
          decided_at: null,
        });
        await deps.email.queue(trx, {
          kind: 'workspace_invitation',
          to: address,
          subject: `${actor!.displayName} has invited you to the ${workspace.name} workspace on Greenspace`,
          text: `${actor!.displayName} has invited you to join the ${workspace.name} workspace on Greenspace.\n\nAccept the invitation here (sign in, or create an account with this email address, first):\n\n${deps.publicUrl}/workspaces/${workspace.slug}/invitation?token=${encodeURIComponent(token)}&email=${encodeURIComponent(address)}\n\nThe link works for ${INVITATION_DAYS} days.${signature}`,
        });
        await deps.audit.record(
          {
            action: 'workspace.invited',
            actorUserId: actor!.userId,
            targetType: 'workspace',
            targetId: workspace.id,
          },
          context,
          trx,
        );
      });
      deps.email.nudge();
    },

    /**
     * The workspace an invitation link is for, for its page to name. A private workspace is named
     * only to those who may read it and to whoever holds the link (token and address) of a pending
     * invitation to it; to anyone else it does not exist (404), as everywhere else.
     */
    async invitationWorkspace(
      actor: Actor | null,
      slug: string,
      token: string,
      address: string,
    ): Promise<WorkspaceRow> {
      const workspace = await requireWorkspace(slug);
      if (workspace.privacy !== 'private') return workspace;
      if (can(actor, 'workspace.read', workspaceResource(workspace))) return workspace;
      if (!(await findPendingInvitation(workspace, token, address))) throw new NotFoundError();
      return workspace;
    },

    async acceptInvitation(
      actor: Actor | null,
      slug: string,
      token: string,
      address: string,
      context: RequestContext,
    ): Promise<void> {
      const workspace = await requireWorkspace(slug);
      if (!actor) throw new ForbiddenError('Sign in first');
      const refused = new ValidationFailed({
        token:
          'This invitation has expired or has already been used. Ask a manager of the workspace for a new one.',
      });
      if (!INVITATION_TOKEN.test(token)) throw refused;
      if (normaliseEmail(address) !== actor.email.toLowerCase()) {
        throw new ValidationFailed({
          token:
            'This invitation was sent to a different email address. Sign in with the account for that address',
        });
      }
      await repository.transaction(async (trx) => {
        const invitation = await findPendingInvitation(workspace, token, address, trx);
        const at = now().toISOString();
        if (!invitation) throw refused;
        if (
          !(await repository.decideWorkspaceRequest(
            trx,
            invitation.id,
            'accepted',
            actor.userId,
            at,
          ))
        )
          throw refused;
        await repository.addWorkspaceMemberIfAbsent(trx, workspace.id, actor.userId, at);
        await repository.follow(trx, actor.userId, 'workspace', workspace.id, at);
        // A request to join sent before is answered by the invitation: left open, a manager would
        // be asked to decide it, and declining it would tell a member they were refused.
        await repository.withdrawPendingWorkspaceRequest(trx, workspace.id, actor.userId, at);
        await deps.audit.record(
          {
            action: 'workspace.invitation_accepted',
            actorUserId: actor.userId,
            targetType: 'workspace',
            targetId: workspace.id,
          },
          context,
          trx,
        );
      });
    },

    /** A manager makes a member a manager, or a manager a member; a workspace keeps at least one manager. */
    async setMemberRole(
      actor: Actor | null,
      slug: string,
      userId: string,
      role: string,
      context: RequestContext,
    ): Promise<void> {
      const workspace = await requireWorkspace(slug);
      assertCanInWorkspace(actor, 'workspace.manage', workspace);
      // Who first, then what: an error about the role is shown on that member's row.
      const members = await repository.findWorkspaceMembers(workspace.id);
      const member = members.find((candidate) => candidate.id === userId);
      if (!member) throw new NotFoundError('That person is not a member of this workspace.');
      if (role !== 'member' && role !== 'manager')
        throw new ValidationFailed({ role: 'Choose member or manager' });
      const lastManager = new ValidationFailed({
        role: 'A workspace needs at least one manager. Make someone else a manager first',
      });
      if (
        role === 'member' &&
        member.role === 'manager' &&
        members.filter((candidate) => candidate.role === 'manager').length === 1
      ) {
        throw lastManager;
      }
      await repository.transaction(async (trx) => {
        await requireStillManaging(trx, actor!, workspace);
        // Counted again here: two managers demoted (or leaving) at once each saw the other above.
        if (role === 'member') {
          const managers = await repository.findWorkspaceManagerIdsForUpdate(trx, workspace.id);
          if (managers.length === 1 && managers[0] === userId) throw lastManager;
        }
        await repository.setWorkspaceMemberRole(trx, workspace.id, userId, role);
        await deps.audit.record(
          {
            action: 'workspace.role_changed',
            actorUserId: actor!.userId,
            targetType: 'user',
            targetId: userId,
            details: { workspace: workspace.slug, role },
          },
          context,
          trx,
        );
      });
    },

    /** A manager changes the about text and the privacy level of a workspace. */
    async updateSettings(
      actor: Actor | null,
      slug: string,
      input: { description: string; privacy: string },
      context: RequestContext,
    ): Promise<void> {
      const workspace = await requireWorkspace(slug);
      assertCanInWorkspace(actor, 'workspace.manage', workspace);
      const errors: Record<string, string> = {};
      const description = input.description.trim();
      if (description === '') errors.description = 'Describe what the workspace is for';
      else if (description.length > 5000)
        errors.description = 'The description must be 5,000 characters or fewer';
      if (!['open', 'restricted', 'private'].includes(input.privacy))
        errors.privacy = 'Choose who may read the workspace';
      if (Object.keys(errors).length > 0) throw new ValidationFailed(errors);
      await repository.transaction(async (trx) => {
        await requireStillManaging(trx, actor!, workspace);
        await repository.updateWorkspace(trx, workspace.id, {
          description,
          privacy: input.privacy as WorkspaceRow['privacy'],
          updated_at: now().toISOString(),
        });
        await deps.audit.record(
          {
            action: 'workspace.settings_changed',
            actorUserId: actor!.userId,
            targetType: 'workspace',
            targetId: workspace.id,
            details: { privacy: input.privacy },
          },
          context,
          trx,
        );
      });
    },

    removeEverythingOfUser: (trx: Transaction<Database>, userId: string) =>
      repository.removeEverythingOfUser(trx, userId),
    /** For a module about to delete what comments are about: how many go with it. */
    countCommentsAbout: (
      executor: Kysely<Database> | Transaction<Database>,
      subjectType: ConversationSubject,
      subjectId: string,
    ) => repository.countPostsAbout(executor, subjectType, subjectId),
    /** For a module deleting what comments were about: the comments go with it. */
    removeConversationsOf: (
      trx: Transaction<Database>,
      subjectType: ConversationSubject,
      subjectIds: readonly string[],
    ) => repository.removeConversationsOf(trx, subjectType, subjectIds),
    collectPersonalData: (userId: string) => repository.collectPersonalData(userId),

    // --- threads and posts ---

    async createThread(
      actor: Actor | null,
      slug: string,
      input: { title: string; kind: string; body: string; area: string; submissionKey?: string },
      context: RequestContext,
    ): Promise<{ threadId: string; mentionsLeftOut: number; repeated: boolean }> {
      const workspace = await requireWorkspace(slug);
      assertCanInWorkspace(actor, 'workspace.post', workspace);
      const errors: Record<string, string> = {};
      const title = input.title.trim();
      if (title === '') errors.title = 'Enter a title';
      else if (title.length > MAX_TITLE)
        errors.title = `Title must be ${MAX_TITLE} characters or fewer`;
      if (input.kind !== 'discussion' && input.kind !== 'question')
        errors.kind = 'Choose whether this is a question or a discussion';
      if (input.area && !findAreaOfFocus(input.area))
        errors.area = 'Choose an area of focus from the list';
      let body = '';
      try {
        body = validateBody(input.body);
      } catch (error) {
        if (error instanceof ValidationFailed) Object.assign(errors, error.fieldErrors);
        else throw error;
      }
      if (Object.keys(errors).length > 0) throw new ValidationFailed(errors);
      const submission = deps.formSubmissions.submissionOf(actor!.userId, input.submissionKey, [
        'thread',
        workspace.id,
        title,
        input.kind,
        input.area,
        body,
      ]);
      const outcome = await deps.formSubmissions.once(submission, async (recordSubmission) => {
        await checkPostRate(
          actor!,
          { action: 'discussion.thread_created', target: { type: 'workspace', id: workspace.id } },
          context,
        );
        const threadId = randomUUID();
        const postId = randomUUID();
        const link = `/workspaces/${workspace.slug}/threads/${threadId}`;
        // A new thread is readable by whoever may read its workspace.
        const canRead = (recipient: Actor) =>
          can(recipient, 'workspace.read', workspaceResource(workspace));
        const prepared = [
          ...(await preparePostNotifications(
            actor!,
            canRead,
            { id: postId, body, link: `${link}#post-${postId}` },
            { replyTo: [], followers: [] },
            title,
          )),
          ...(await notifications.prepare(
            await repository.followers('workspace', workspace.id),
            {
              kind: 'new_content',
              title: `New in ${workspace.name}: ${title}`,
              body: `${actor!.displayName} started a ${input.kind}: ${title}`,
              link,
              actorId: actor!.userId,
              dedupeKey: `post:${postId}`,
            },
            canRead,
          )),
          ...(input.area
            ? await notifications.prepare(
                await repository.followers('area', input.area),
                {
                  kind: 'followed_activity',
                  title: `New on ${findAreaOfFocus(input.area)!.name}: ${title}`,
                  body: `${actor!.displayName} started a ${input.kind} in ${workspace.name}.`,
                  link,
                  actorId: actor!.userId,
                  dedupeKey: `post:${postId}`,
                },
                canRead,
              )
            : []),
        ];
        await repository.transaction(async (trx) => {
          await recordSubmission(trx, link);
          const at = now().toISOString();
          const conversation: ConversationRow = {
            id: randomUUID(),
            subject_type: 'thread',
            subject_id: threadId,
            workspace_id: workspace.id,
            locked: 0,
            created_at: at,
            last_post_at: at,
          };
          await repository.insertConversation(trx, conversation);
          await repository.insertThread(trx, {
            id: threadId,
            workspace_id: workspace.id,
            conversation_id: conversation.id,
            title,
            kind: input.kind as 'discussion' | 'question',
            area_slug: input.area || null,
            author_id: actor!.userId,
            pinned: 0,
            hidden: 0,
            accepted_post_id: null,
            created_at: at,
          });
          await repository.insertPost(trx, {
            id: postId,
            conversation_id: conversation.id,
            author_id: actor!.userId,
            body,
            quoted_post_id: null,
            created_at: at,
            edited_at: null,
            hidden_at: null,
            hidden_by: null,
            hidden_reason: null,
          });
          await repository.upsertThreadSearch(trx, threadId, title, markdownToPlainText(body));
          await repository.follow(trx, actor!.userId, 'conversation', conversation.id, at);
          await notifications.record(trx, prepared);
          await deps.audit.record(
            {
              action: 'discussion.thread_created',
              actorUserId: actor!.userId,
              targetType: 'thread',
              targetId: threadId,
              details: { workspace: workspace.slug },
            },
            context,
            trx,
          );
        });
        return threadId;
      });
      if ('repeated' in outcome)
        return {
          threadId: /\/threads\/([0-9a-f-]{36})/.exec(outcome.repeated)![1]!,
          mentionsLeftOut: 0,
          repeated: true,
        };
      return {
        threadId: outcome.done,
        mentionsLeftOut: mentionsToNotify(body).leftOut,
        repeated: false,
      };
    },

    async threadPage(actor: Actor | null, slug: string, threadId: string) {
      const { workspace, thread, conversation, manages } = await requireThread(
        actor,
        slug,
        threadId,
      );
      const posts = await renderPosts(actor, conversation, manages);
      return {
        workspace,
        thread,
        conversation,
        manages,
        posts,
        canPost:
          can(actor, 'workspace.post', workspaceResource(workspace)) && conversation.locked === 0,
        isAuthor: actor !== null && actor.userId === thread.author_id,
        following: actor
          ? await repository.isFollowing(actor.userId, 'conversation', conversation.id)
          : false,
        area: thread.area_slug ? findAreaOfFocus(thread.area_slug) : undefined,
      };
    },

    /**
     * Comments on something (a content item, a plan action): the same posts, on its own
     * conversation. The caller has already decided the actor may read the page they are on.
     */
    async commentsFor(actor: Actor | null, type: CommentSubjectType, subjectId: string) {
      const subject = requireSubject(type);
      const conversation = await repository.findConversationBySubject(type, subjectId);
      const moderator = await subject.canModerate(actor, subjectId);
      const canComment =
        actor !== null &&
        (await subject.canComment(actor, subjectId)) &&
        (!conversation || conversation.locked === 0);
      return {
        conversationId: conversation?.id ?? null,
        locked: conversation?.locked === 1,
        posts: conversation ? await renderPosts(actor, conversation, moderator) : [],
        canComment,
        moderator,
        following:
          actor && conversation
            ? await repository.isFollowing(actor.userId, 'conversation', conversation.id)
            : false,
      };
    },

    /** A reply in a thread or a comment on content; refused on locked or hidden conversations. */
    async reply(
      actor: Actor | null,
      target:
        { threadSlug: string; threadId: string } | { subject: CommentSubjectType; id: string },
      input: { body: string; quotedPostId?: string; submissionKey?: string },
      context: RequestContext,
    ): Promise<{ postId: string; link: string; mentionsLeftOut: number; repeated: boolean }> {
      if (!actor) throw new ForbiddenError('Sign in to post');
      let conversation: ConversationRow | undefined;
      let replyTo: string[] = [];
      let summary: string;
      let canRead: (recipient: Actor) => Promise<boolean> | boolean;
      let baseLink: string;
      let commented:
        { type: CommentSubjectType; id: string; workspaceId: string | null } | undefined;
      let heldSubject: CommentSubject | undefined;
      let thread: DiscussionThreadRow | undefined;
      const threadHidden = () =>
        new ValidationFailed({
          body: 'This discussion has been hidden by a moderator, so it cannot be replied to',
        });
      if ('threadId' in target) {
        const found = await requireThread(actor, target.threadSlug, target.threadId);
        thread = found.thread;
        if (found.thread.hidden) throw threadHidden();
        if (!can(actor, 'workspace.post', workspaceResource(found.workspace)))
          throw new ForbiddenError('Join the workspace to reply');
        conversation = found.conversation;
        replyTo = found.thread.author_id ? [found.thread.author_id] : [];
        summary = found.thread.title;
        const workspace = found.workspace;
        canRead = (recipient) => can(recipient, 'workspace.read', workspaceResource(workspace));
        baseLink = `/workspaces/${workspace.slug}/threads/${found.thread.id}`;
      } else {
        const subject = requireSubject(target.subject);
        const about = /^[0-9a-f-]{36}$/.test(target.id)
          ? await subject.describe(target.id)
          : undefined;
        if (!about || !(await subject.canRead(actor, target.id))) throw new NotFoundError();
        if (!(await subject.canComment(actor, target.id))) {
          // Deleted between the two reads (an action removed as the comment was sent): that is
          // not found, as it would have been a moment later, not a refusal of this person.
          if (!(await subject.describe(target.id))) throw new NotFoundError();
          throw new ForbiddenError('Not allowed to comment here');
        }
        commented = { type: target.subject, id: target.id, workspaceId: about.workspaceId };
        heldSubject = subject;
        conversation = await repository.findConversationBySubject(target.subject, target.id);
        replyTo = about.authorIds;
        summary = about.title;
        canRead = (recipient) => subject.canRead(recipient, target.id);
        baseLink = about.link;
      }
      if (conversation?.locked)
        throw new ValidationFailed({
          body: 'This conversation is locked, so it cannot be replied to',
        });
      const body = validateBody(input.body);
      let quotedPostId: string | null = null;
      if (input.quotedPostId) {
        const quoted = /^[0-9a-f-]{36}$/.test(input.quotedPostId)
          ? await repository.findPost(input.quotedPostId)
          : undefined;
        if (
          !quoted ||
          !conversation ||
          quoted.conversation_id !== conversation.id ||
          quoted.hidden_at
        ) {
          throw new ValidationFailed({ body: 'The post you quoted is not in this conversation' });
        }
        quotedPostId = quoted.id;
        if (quoted.author_id) replyTo = [...replyTo, quoted.author_id];
      }
      const submission = deps.formSubmissions.submissionOf(actor.userId, input.submissionKey, [
        'reply',
        target,
        body,
        quotedPostId,
      ]);
      const outcome = await deps.formSubmissions.once(submission, async (recordSubmission) => {
        await checkPostRate(
          actor,
          {
            action: 'discussion.posted',
            target: conversation
              ? { type: 'conversation', id: conversation.id }
              : { type: commented!.type, id: commented!.id },
          },
          context,
        );
        const postId = randomUUID();
        const link = `${baseLink}#post-${postId}`;
        const followers = conversation
          ? await repository.followers('conversation', conversation.id)
          : [];
        const prepared = await preparePostNotifications(
          actor,
          canRead,
          { id: postId, body, link },
          { replyTo, followers },
          summary,
        );
        await repository.transaction(async (trx) => {
          await recordSubmission(trx, link);
          if (commented && heldSubject?.holdForComment) {
            if (!(await heldSubject.holdForComment(trx, commented.id))) throw new NotFoundError();
          }
          const current =
            conversation ??
            (await ensureConversation(trx, commented!.type, commented!.id, commented!.workspaceId));
          // Read again here: a moderator may have hidden the thread since it was read above, and a
          // reply must not land in it (nor its excerpt be emailed to the thread's followers).
          if (thread) {
            const held = await repository.findThreadForReply(trx, thread.id);
            if (!held || held.hidden) throw threadHidden();
          }
          const at = now().toISOString();
          if (!(await repository.recordPostIfOpen(trx, current.id, at)))
            throw new ValidationFailed({
              body: 'This conversation is locked, so it cannot be replied to',
            });
          await repository.insertPost(trx, {
            id: postId,
            conversation_id: current.id,
            author_id: actor.userId,
            body,
            quoted_post_id: quotedPostId,
            created_at: at,
            edited_at: null,
            hidden_at: null,
            hidden_by: null,
            hidden_reason: null,
          });
          await repository.follow(trx, actor.userId, 'conversation', current.id, at);
          await notifications.record(trx, prepared);
          await deps.audit.record(
            {
              action: 'discussion.posted',
              actorUserId: actor.userId,
              targetType: 'post',
              targetId: postId,
              details: { conversation: current.id },
            },
            context,
            trx,
          );
        });
        return { postId, link };
      });
      if ('repeated' in outcome)
        return {
          postId: /#post-([0-9a-f-]{36})$/.exec(outcome.repeated)![1]!,
          link: outcome.repeated,
          mentionsLeftOut: 0,
          repeated: true,
        };
      return { ...outcome.done, mentionsLeftOut: mentionsToNotify(body).leftOut, repeated: false };
    },

    /** A post its author is about to edit, with where it lives. */
    async postForEditing(actor: Actor | null, postId: string) {
      if (!actor) throw new NotFoundError();
      const { post, conversation } = await readablePost(actor, postId, { hiddenToo: true });
      if (post.author_id !== actor.userId)
        throw new ForbiddenError('Only the author can edit a post');
      return {
        id: post.id,
        body: post.body,
        hidden: post.hidden_at !== null,
        locked: conversation.locked === 1,
        link: await linkFor(conversation, post.id),
      };
    },

    /** A post someone is about to report: only one they can read. */
    async postForReporting(actor: Actor | null, postId: string) {
      if (!actor) throw new NotFoundError();
      const { post, conversation } = await readablePost(actor, postId);
      return {
        id: post.id,
        excerpt: markdownToPlainText(post.body).slice(0, 300),
        link: await linkFor(conversation, post.id),
      };
    },

    /** Edits a post; the previous text is kept in its history. */
    async editPost(
      actor: Actor | null,
      postId: string,
      body: string,
      context: RequestContext,
    ): Promise<string> {
      if (!actor) throw new NotFoundError();
      const { post, conversation } = await readablePost(actor, postId, { hiddenToo: true });
      // Someone who has left a workspace no longer changes what is said in it.
      if (!(await canPost(actor, conversation)))
        throw new ForbiddenError('Only members can edit their posts');
      if (post.author_id !== actor.userId)
        throw new ForbiddenError('Only the author can edit a post');
      if (post.hidden_at) throw new ValidationFailed({ body: 'A hidden post cannot be edited' });
      if (conversation.locked) throw new ValidationFailed({ body: 'This conversation is locked' });
      const text = validateBody(body);
      const thread = await repository.findThreadByConversation(conversation.id);
      const isOpeningPost =
        thread !== undefined && (await repository.findOpeningPost(conversation.id))?.id === post.id;
      await repository.transaction(async (trx) => {
        // Read again, and held: a moderator may have hidden the post, or locked the conversation,
        // since it was read above, and the text they judged must not be replaced; and of two edits
        // at once, each must keep in the history the text the other left.
        const current = await repository.findPostForUpdate(trx, post.id);
        if (!current) throw new NotFoundError();
        if (current.hidden_at)
          throw new ValidationFailed({ body: 'A hidden post cannot be edited' });
        if ((await repository.findConversation(conversation.id, trx))?.locked)
          throw new ValidationFailed({ body: 'This conversation is locked' });
        const at = now().toISOString();
        await repository.insertPostRevision(trx, {
          id: randomUUID(),
          post_id: current.id,
          body: current.body,
          edited_by: actor.userId,
          edited_at: at,
        });
        await repository.updatePost(trx, current.id, { body: text, edited_at: at });
        if (thread && isOpeningPost) await indexThread(trx, thread);
        await deps.audit.record(
          {
            action: 'discussion.post_edited',
            actorUserId: actor.userId,
            targetType: 'post',
            targetId: post.id,
          },
          context,
          trx,
        );
      });
      return linkFor(conversation, post.id);
    },

    async postHistory(actor: Actor | null, postId: string) {
      const { post, conversation } = await readablePost(actor, postId, { hiddenToo: true });
      if (post.hidden_at && !(await canModerate(actor, conversation))) throw new NotFoundError();
      return {
        current: {
          bodyHtml: renderMarkdown(linkMentions(post.body)),
          editedAt: post.edited_at ?? post.created_at,
        },
        revisions: (await repository.findPostRevisions(post.id)).map((revision) => ({
          ...revision,
          bodyHtml: renderMarkdown(linkMentions(revision.body)),
        })),
        link: await linkFor(conversation, post.id),
      };
    },

    /**
     * Marks a post useful for the actor, or takes the mark back, as the form asks (`useful` 1 or
     * 0). Only a change is audited; the same request again changes nothing.
     */
    async setUseful(
      actor: Actor | null,
      postId: string,
      useful: string,
      context: RequestContext,
    ): Promise<string> {
      if (!actor) throw new NotFoundError();
      const { post, conversation } = await readablePost(actor, postId);
      const wanted = intendedState(
        useful,
        'useful',
        'Choose whether to mark the post as useful or take the mark back',
      );
      await repository.transaction(async (trx) => {
        const changed = await repository.setUsefulReaction(
          trx,
          post.id,
          actor.userId,
          wanted,
          now().toISOString(),
        );
        if (!changed) return;
        await deps.audit.record(
          {
            action: wanted ? 'discussion.post_marked_useful' : 'discussion.post_unmarked_useful',
            actorUserId: actor.userId,
            targetType: 'post',
            targetId: post.id,
          },
          context,
          trx,
        );
      });
      return linkFor(conversation, post.id);
    },

    /**
     * The asker accepts a reply as the answer (`accept` 1), or takes it back (0). Setting what is
     * already so changes nothing and tells no one; taking back an answer that is no longer the
     * accepted one leaves the answer accepted since.
     */
    async acceptAnswer(
      actor: Actor | null,
      slug: string,
      threadId: string,
      postId: string,
      accept: string,
      context: RequestContext,
    ): Promise<void> {
      const { thread, conversation, workspace } = await requireThread(actor, slug, threadId);
      if (!actor || actor.userId !== thread.author_id)
        throw new ForbiddenError('Only the person who asked can accept an answer');
      // The rule of editing: someone who has left the workspace no longer changes what it says,
      // and a hidden or locked discussion stays as the moderator left it.
      if (!can(actor, 'workspace.post', workspaceResource(workspace)))
        throw new ForbiddenError('Only members can accept an answer');
      if (thread.hidden)
        throw new ValidationFailed({
          answer: 'This discussion has been hidden by a moderator, so its answer cannot be changed',
        });
      if (conversation.locked)
        throw new ValidationFailed({
          answer: 'This discussion is locked, so its answer cannot be changed',
        });
      if (thread.kind !== 'question')
        throw new ValidationFailed({ answer: 'Only questions have an accepted answer' });
      const post = /^[0-9a-f-]{36}$/.test(postId) ? await repository.findPost(postId) : undefined;
      if (!post || post.conversation_id !== conversation.id || post.hidden_at)
        throw new NotFoundError();
      const accepting = intendedState(
        accept,
        'answer',
        'Choose whether to accept this answer or remove it',
      );
      const prepared =
        accepting && post.author_id
          ? await notifications.prepare(
              [post.author_id],
              {
                kind: 'reply',
                title: `Your answer was accepted: ${thread.title}`,
                body: `${actor.displayName} marked your answer as the accepted answer.`,
                link: `/workspaces/${workspace.slug}/threads/${thread.id}#post-${post.id}`,
                actorId: actor.userId,
                dedupeKey: `accepted:${post.id}`,
              },
              (recipient) => can(recipient, 'workspace.read', workspaceResource(workspace)),
            )
          : [];
      await repository.transaction(async (trx) => {
        const changed = accepting
          ? await repository.acceptAnswer(trx, thread.id, post.id)
          : await repository.withdrawAcceptedAnswer(trx, thread.id, post.id);
        if (!changed) return;
        await notifications.record(trx, prepared);
        await deps.audit.record(
          {
            action: accepting ? 'discussion.answer_accepted' : 'discussion.answer_unaccepted',
            actorUserId: actor.userId,
            targetType: 'post',
            targetId: post.id,
          },
          context,
          trx,
        );
      });
    },

    /**
     * Pins, locks or hides a thread (`value` 1), or undoes it (0). Only a change is made, told and
     * audited: pressed twice, or from a page read before another manager's decision, it changes
     * nothing, and says so.
     */
    async setThreadFlag(
      actor: Actor | null,
      slug: string,
      threadId: string,
      requestedFlag: string,
      requestedValue: string,
      context: RequestContext,
    ): Promise<{ changed: boolean }> {
      const { thread, manages, workspace } = await requireThread(actor, slug, threadId);
      if (!manages) throw new ForbiddenError('Only workspace managers moderate');
      if (requestedFlag !== 'pinned' && requestedFlag !== 'locked' && requestedFlag !== 'hidden')
        throw new ValidationFailed({ flag: 'Choose pin, lock or hide' });
      const flag: 'pinned' | 'locked' | 'hidden' = requestedFlag;
      const value = intendedState(requestedValue, 'flag', 'Choose whether to turn it on or off');
      const prepared =
        flag === 'hidden' && thread.author_id
          ? await notifications.prepare(
              [thread.author_id],
              {
                kind: 'moderation',
                title: value
                  ? `Your discussion was hidden: ${thread.title}`
                  : `Your discussion was restored: ${thread.title}`,
                body: value
                  ? `A manager of ${workspace.name} hid your discussion.`
                  : `A manager of ${workspace.name} restored your discussion.`,
                link: `/workspaces/${workspace.slug}/threads/${thread.id}`,
                actorId: actor!.userId,
                dedupeKey: `thread-${value ? 'hidden' : 'restored'}:${thread.id}:${now().toISOString()}`,
              },
              // Someone who has since left a private workspace is not told what is in it.
              (recipient) => can(recipient, 'workspace.read', workspaceResource(workspace)),
            )
          : [];
      const changed = await repository.transaction(async (trx) => {
        if (!(await repository.changeThreadFlag(trx, thread, flag, value ? 1 : 0))) return false;
        if (flag === 'hidden') await indexThread(trx, thread);
        await notifications.record(trx, prepared);
        await deps.audit.record(
          {
            action: `discussion.thread_${flag}`,
            actorUserId: actor!.userId,
            targetType: 'thread',
            targetId: thread.id,
            details: { value },
          },
          context,
          trx,
        );
        return true;
      });
      return { changed };
    },

    async report(
      actor: Actor | null,
      postId: string,
      reason: string,
      context: RequestContext,
    ): Promise<string> {
      if (!actor) throw new NotFoundError();
      const { post, conversation } = await readablePost(actor, postId);
      const text = reason.trim();
      if (text === '')
        throw new ValidationFailed({ reason: 'Say why you are reporting this post' });
      if (text.length > 1000)
        throw new ValidationFailed({ reason: 'The reason must be 1,000 characters or fewer' });
      await enforceRateLimit(
        deps,
        'reportPerUser',
        actor.userId,
        {
          action: 'discussion.post_reported',
          actorUserId: actor.userId,
          targetType: 'post',
          targetId: post.id,
        },
        context,
        `You have reported ${rateLimitRules.reportPerUser.limit} posts in the last hour, which is the most anyone can report in an hour.`,
        "This report has not been sent: use your browser's back button to copy what you wrote.",
      );
      const reportId = randomUUID();
      const workspace = conversation.workspace_id
        ? await deps.workspaces.findById(conversation.workspace_id)
        : undefined;
      // Reports go to whoever moderates the conversation: a workspace's managers, or the person
      // who published the content (platform admins see every report at /admin/moderation). Never
      // to the post's own author, though they moderate: reporters are promised that the author
      // learns neither who reported the post nor why.
      const about =
        conversation.subject_type === 'thread'
          ? undefined
          : await subjects.get(conversation.subject_type)?.describe(conversation.subject_id);
      const conversationModerators = (
        workspace && conversation.subject_type === 'thread'
          ? (await repository.findWorkspaceMembers(workspace.id))
              .filter((member) => member.role === 'manager')
              .map((member) => member.id)
          : (about?.authorIds ?? [])
      ).filter((userId) => userId !== post.author_id);
      // The post's author may be its only moderator (a comment on their own case study, a post by
      // a workspace's only manager): then the platform admins are told, so someone who may decide
      // hears of it.
      const moderators =
        conversationModerators.length > 0
          ? conversationModerators
          : (await repository.findPlatformAdminIds()).filter((userId) => userId !== post.author_id);
      const reportLink =
        workspace && conversation.subject_type === 'thread'
          ? `/workspaces/${workspace.slug}/moderation`
          : await linkFor(conversation, post.id);
      const prepared = await notifications.prepare(
        moderators,
        {
          kind: 'moderation',
          title: 'A post was reported',
          body: `${actor.displayName} reported a post: ${text}`,
          link: reportLink,
          actorId: actor.userId,
          dedupeKey: `report:${reportId}`,
        },
        (recipient) => canModerate(recipient, conversation),
      );
      await repository.transaction(async (trx) => {
        await repository.insertReport(trx, {
          id: reportId,
          post_id: post.id,
          reporter_id: actor.userId,
          reason: text,
          created_at: now().toISOString(),
        });
        await notifications.record(trx, prepared);
        await deps.audit.record(
          {
            action: 'discussion.post_reported',
            actorUserId: actor.userId,
            targetType: 'post',
            targetId: post.id,
          },
          context,
          trx,
        );
      });
      return linkFor(conversation, post.id);
    },

    /** A post a moderator is about to hide, for the page that asks them why. */
    async postForHiding(actor: Actor | null, postId: string) {
      if (!actor) throw new NotFoundError();
      const { post, conversation } = await readablePost(actor, postId, { hiddenToo: true });
      if (!(await canModerate(actor, conversation)))
        throw new ForbiddenError('Only moderators hide posts');
      return {
        id: post.id,
        authorName:
          (post.author_id && (await deps.actors.load(post.author_id))?.displayName) ||
          'Deleted user',
        excerpt: markdownToPlainText(post.body).slice(0, 300),
        hidden: post.hidden_at !== null,
        link: await linkFor(conversation, post.id),
      };
    },

    /**
     * Hides or restores a post. A change closes the open reports on it and tells its author, with
     * the reason the moderator wrote; the reports' text is never passed on, since reporters are
     * promised anonymity. A decision that finds the post so already (another moderator, or another
     * page, got there first) tells no one: hiding then closes any report still open, as hiding
     * does; restoring changes nothing, since it judges no report made since the post came back.
     * Keeping a reported post is not a restoration: see `closeReportsOfPost`.
     */
    async setPostHidden(
      actor: Actor | null,
      postId: string,
      hidden: boolean,
      reason: string,
      context: RequestContext,
    ): Promise<{ link: string; changed: boolean }> {
      if (!actor) throw new NotFoundError();
      const { post, conversation } = await readablePost(actor, postId, { hiddenToo: true });
      if (!(await canModerate(actor, conversation)))
        throw new ForbiddenError('Only moderators hide posts');
      // Anyone who moderates may hide their own post (one written by mistake); bringing it back
      // after someone else hid it is for another moderator.
      if (!hidden) refuseOwnPostDecision(actor, post);
      const link = await linkFor(conversation, post.id);
      const at = now().toISOString();
      const settleAsAlready = async (trx: Transaction<Database>) => {
        if (hidden) await closeOpenReports(trx, actor, post.id, 'hidden', context);
      };
      if (hidden === (post.hidden_at !== null)) {
        await repository.transaction(settleAsAlready);
        return { link, changed: false };
      }
      const text = reason.trim();
      if (hidden && text === '')
        throw new ValidationFailed({ reason: 'Say why you are hiding this post' });
      if (hidden && text.length > MAX_HIDE_REASON)
        throw new ValidationFailed({
          reason: `The reason must be ${MAX_HIDE_REASON.toLocaleString('en-GB')} characters or fewer`,
        });
      // A thread's opening post is in the search index, which must lose or regain its text with it.
      const thread =
        conversation.subject_type === 'thread'
          ? await repository.findThreadByConversation(conversation.id)
          : undefined;
      const isOpeningPost =
        thread !== undefined && (await repository.findOpeningPost(conversation.id))?.id === post.id;
      const prepared = post.author_id
        ? await notifications.prepare(
            [post.author_id],
            {
              kind: 'moderation',
              title: hidden ? 'A moderator hid your post' : 'A moderator restored your post',
              body: hidden
                ? `Your post was hidden. Reason: ${text}`
                : 'Your post is visible again.',
              link,
              actorId: actor.userId,
              dedupeKey: `post-${hidden ? 'hidden' : 'restored'}:${post.id}:${at}`,
            },
            // Someone who has since left a private workspace is not told what is in it.
            await readCheckFor(conversation),
          )
        : [];
      const changed = await repository.transaction(async (trx) => {
        // Another moderator may have made the same decision since the post was read: then this one
        // changes nothing, and the author is not told twice.
        const changedNow = await repository.changePostVisibility(
          trx,
          post.id,
          hidden
            ? { hidden_at: at, hidden_by: actor.userId, hidden_reason: text }
            : { hidden_at: null, hidden_by: null, hidden_reason: null },
        );
        if (!changedNow) {
          await settleAsAlready(trx);
          return false;
        }
        await repository.resolveReportsOfPost(
          trx,
          post.id,
          actor.userId,
          at,
          hidden ? 'hidden' : 'kept',
        );
        if (thread && isOpeningPost) await indexThread(trx, thread);
        await notifications.record(trx, prepared);
        await deps.audit.record(
          {
            action: hidden ? 'discussion.post_hidden' : 'discussion.post_restored',
            actorUserId: actor.userId,
            targetType: 'post',
            targetId: post.id,
          },
          context,
          trx,
        );
        return true;
      });
      return { link, changed };
    },

    /**
     * Closes the open reports on a post and leaves the post as it is: "Keep" in a moderation
     * queue, or closing a report on a post already hidden. Its visibility is not touched, so a
     * queue read before another moderator hid the post cannot bring the post back, and nobody is
     * told. Says how many reports it closed (none when a decision since closed them) and whether
     * the post is hidden now.
     */
    async closeReportsOfPost(
      actor: Actor | null,
      postId: string,
      context: RequestContext,
    ): Promise<{ link: string; closedReports: number; hidden: boolean }> {
      if (!actor) throw new NotFoundError();
      const { post, conversation } = await readablePost(actor, postId, { hiddenToo: true });
      if (!(await canModerate(actor, conversation)))
        throw new ForbiddenError('Only moderators close reports');
      refuseOwnPostDecision(actor, post);
      const link = await linkFor(conversation, post.id);
      return repository.transaction(async (trx) => {
        const current = await repository.findPost(post.id, trx);
        if (!current) throw new NotFoundError();
        const hidden = current.hidden_at !== null;
        const closedReports = await closeOpenReports(
          trx,
          actor,
          post.id,
          hidden ? 'hidden' : 'kept',
          context,
        );
        return { link, closedReports, hidden };
      });
    },

    async moderationQueue(actor: Actor | null, slug: string) {
      const workspace = await requireWorkspace(slug);
      assertCanInWorkspace(actor, 'workspace.manage', workspace);
      return {
        workspace,
        reports: await describeReports(actor!, await repository.findOpenReports([workspace.id])),
      };
    },

    /** Every open report, for platform admins: comments on content have no workspace managers. */
    async moderationQueueAll(actor: Actor | null) {
      if (!actor?.isPlatformAdmin) throw new ForbiddenError('Platform admins only');
      return { reports: await describeReports(actor, await repository.findOpenReports('all')) };
    },

    async setFollowing(
      actor: Actor | null,
      subject: { type: 'conversation' | 'area' | 'workspace'; id: string },
      follow: boolean,
    ): Promise<void> {
      if (!actor) throw new ForbiddenError('Sign in to follow');
      if (subject.type === 'area' && !findAreaOfFocus(subject.id)) throw new NotFoundError();
      if (subject.type === 'conversation') {
        const conversation = /^[0-9a-f-]{36}$/.test(subject.id)
          ? await repository.findConversation(subject.id)
          : undefined;
        if (!conversation || !(await canReadConversation(actor, conversation)))
          throw new NotFoundError();
      }
      if (subject.type === 'workspace') {
        const workspace = await deps.workspaces.findById(subject.id);
        if (!workspace || !can(actor, 'workspace.read', workspaceResource(workspace)))
          throw new NotFoundError();
      }
      await repository.transaction(async (trx) => {
        if (follow)
          await repository.follow(trx, actor.userId, subject.type, subject.id, now().toISOString());
        else await repository.unfollow(trx, actor.userId, subject.type, subject.id);
      });
    },

    /**
     * Saves the notification settings form: how often each kind is emailed, and which areas of
     * focus the person follows. The follows, the preferences and the audit record commit together
     * or not at all.
     */
    async saveNotificationSettings(
      actor: Actor | null,
      settings: { frequencies: FrequencyChoices; areas: string[] },
      context: RequestContext,
    ): Promise<void> {
      if (!actor) throw new ForbiddenError('Sign in to choose your notifications');
      const wanted = new Set(settings.areas);
      const unknown = [...wanted].filter((slug) => !findAreaOfFocus(slug));
      if (unknown.length > 0) {
        throw new ValidationFailed({
          areas: unknown.map((slug) => `"${slug.slice(0, 60)}" is not an area of focus.`).join(' '),
        });
      }
      await repository.transaction(async (trx) => {
        const followed = new Set(await repository.followedAreas(actor.userId, trx));
        const at = now().toISOString();
        for (const { slug } of nationalAreasOfFocus) {
          if (wanted.has(slug) && !followed.has(slug))
            await repository.follow(trx, actor.userId, 'area', slug, at);
          if (!wanted.has(slug) && followed.has(slug))
            await repository.unfollow(trx, actor.userId, 'area', slug);
        }
        await notifications.savePreferences(trx, actor, settings.frequencies, context, {
          areas: [...wanted].sort().join(','),
        });
      });
    },

    async followedAreas(actor: Actor | null) {
      if (!actor) return [];
      const followed = new Set(await repository.followedAreas(actor.userId));
      return nationalAreasOfFocus.map((area) => ({ ...area, following: followed.has(area.slug) }));
    },

    /** Someone's profile: their organisations and roles, and what they wrote that the viewer may read. */
    async profile(viewer: Actor | null, handle: string) {
      const user = /^[a-z0-9][a-z0-9.-]{0,60}$/.test(handle)
        ? await deps.findUserByHandle(handle)
        : undefined;
      if (!user || user.status !== 'active') throw new NotFoundError();
      const person = await deps.actors.load(user.id);
      if (!person) throw new NotFoundError();
      const contributions = [];
      for (const post of await repository.findPostsByAuthor(user.id, 50)) {
        const conversation = (await repository.findConversation(post.conversation_id))!;
        if (!(await canReadConversation(viewer, conversation))) continue;
        contributions.push({
          excerpt: markdownToPlainText(post.body).slice(0, 200),
          createdAt: post.created_at,
          link: await linkFor(conversation, post.id),
        });
        if (contributions.length >= 20) break;
      }
      return {
        displayName: user.display_name,
        handle: user.handle,
        // Organisations and roles are for signed-in colleagues, not the public web.
        memberships: viewer
          ? person.memberships.map((membership) => ({
              code: membership.organisationCode,
              name: membership.organisationName,
              role: membership.role,
              roleLabel: roleDefinitions[membership.role].label,
            }))
          : [],
        contributions,
      };
    },

    /** Discussions matching a search, in the workspaces the searcher may read. */
    async searchThreads(actor: Actor | null, query: string) {
      const readable = (await deps.workspaces.listWorkspaces()).filter((workspace) =>
        can(actor, 'workspace.read', workspaceResource(workspace)),
      );
      const hits = await repository.searchThreads(
        readable.map((workspace) => workspace.id),
        searchWords(query),
        10,
      );
      return hits.map((hit) => ({
        title: hit.title,
        href: `/workspaces/${hit.workspace_slug}/threads/${hit.id}`,
        workspaceName: hit.workspace_name,
        snippetHtml: highlight(hit.snippet),
        createdAt: hit.created_at,
      }));
    },

    /**
     * Tells workspace members and area followers about newly published content they may read. Runs
     * after the publication has committed; the dedupe key makes a repeated call harmless.
     */
    async notifyContentPublished(
      item: {
        id: string;
        title: string;
        summary: string;
        workspace_id: string | null;
        created_by: string | null;
      },
      areas: string[],
      link: string,
    ): Promise<void> {
      const canRead = (recipient: Actor) => deps.content.canRead(recipient, item.id);
      if (item.workspace_id) {
        const workspace = await deps.workspaces.findById(item.workspace_id);
        await notifications.notifyNow(
          await repository.followers('workspace', item.workspace_id),
          {
            kind: 'new_content',
            title: `New in ${workspace?.name ?? 'your workspace'}: ${item.title}`,
            body: item.summary,
            link,
            actorId: item.created_by,
            dedupeKey: `content:${item.id}:published`,
          },
          canRead,
        );
      }
      for (const area of areas) {
        await notifications.notifyNow(
          await repository.followers('area', area),
          {
            kind: 'followed_activity',
            title: `New on ${findAreaOfFocus(area)?.name ?? area}: ${item.title}`,
            body: item.summary,
            link,
            actorId: item.created_by,
            dedupeKey: `content:${item.id}:published`,
          },
          canRead,
        );
      }
    },
  };
}

export type DiscussionService = ReturnType<typeof createDiscussionService>;
