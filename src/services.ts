import type { AppConfig } from './config.ts';
import type { DatabaseHandle } from './db/database.ts';
import { resolveSecretKey } from './lib/secrets.ts';
import type { Logger } from './logger.ts';
import { createActorService } from './modules/access/actor.service.ts';
import { createDiscussionRepository } from './modules/discussions/discussion.repository.ts';
import { createDiscussionService } from './modules/discussions/discussion.service.ts';
import { createNotificationRepository } from './modules/notifications/notification.repository.ts';
import { createNotificationService } from './modules/notifications/notification.service.ts';
import { createLinkReadCheck } from './modules/notifications/notification-links.ts';
import { createAccountRepository } from './modules/accounts/account.repository.ts';
import { createAccountService } from './modules/accounts/account.service.ts';
import { createAuthService } from './modules/accounts/auth.service.ts';
import { createOidcService } from './modules/accounts/oidc.service.ts';
import { createAuditRepository } from './modules/audit/audit.repository.ts';
import { createAuditService } from './modules/audit/audit.service.ts';
import { createEmailRepository } from './modules/email/email.repository.ts';
import { createEmailService } from './modules/email/email.service.ts';
import {
  createOutboxTransport,
  createSmtpTransport,
  type MailTransport,
} from './modules/email/mail-transport.ts';
import { createDatabaseFileStore, createDiskFileStore } from './modules/files/file-store.ts';
import { createFileService } from './modules/files/file.service.ts';
import { createGreenPlanRepository } from './modules/green-plans/plan.repository.ts';
import { createGreenPlanService } from './modules/green-plans/plan.service.ts';
import { createContentRepository } from './modules/content/content.repository.ts';
import { createContentService } from './modules/content/content.service.ts';
import { createWorkspaceRepository } from './modules/workspaces/workspace.repository.ts';
import { createWorkspaceService } from './modules/workspaces/workspace.service.ts';
import { createMembershipRepository } from './modules/memberships/membership.repository.ts';
import { createMembershipService } from './modules/memberships/membership.service.ts';
import { createOrganisationRepository } from './modules/organisations/organisation.repository.ts';
import { createRateLimitRepository } from './modules/security/rate-limit.repository.ts';
import { createRateLimitService } from './modules/security/rate-limit.service.ts';
import { createFormSubmissionRepository } from './modules/security/form-submission.repository.ts';
import { createFormSubmissionService } from './modules/security/form-submission.service.ts';
import { createOrganisationService } from './modules/organisations/organisation.service.ts';
import { loadInhalerReference } from './modules/prescribing/inhaler-reference.ts';
import { createPrescribingRepository } from './modules/prescribing/prescribing.repository.ts';
import { createPrescribingService } from './modules/prescribing/prescribing.service.ts';
import { createGreenerPracticeRepository } from './modules/greener-practice/greener-practice.repository.ts';
import { createGreenerPracticeService } from './modules/greener-practice/greener-practice.service.ts';
import { createGreenerPracticeProgrammeService } from './modules/greener-practice/programme.service.ts';

/**
 * Builds every service from the open database. Wiring is explicit, with no container, so the
 * dependencies of each service can be read here in one place.
 */
export interface ServiceOptions {
  logger?: Logger;
  /** Replaces the mail transport chosen from the configuration (tests use a real SMTP sink instead). */
  mailTransport?: MailTransport;
  now?: () => Date;
}

export function createServices(
  database: DatabaseHandle,
  config: AppConfig,
  options: ServiceOptions = {},
) {
  const { db } = database;
  const now = options.now;
  const secretKey = resolveSecretKey(config);
  const organisations = createOrganisationService(createOrganisationRepository(db), { now });
  const files = createFileService({
    db,
    store:
      config.files.store === 'database'
        ? createDatabaseFileStore(db)
        : createDiskFileStore(config.files.dir),
    now,
  });
  const audit = createAuditService(createAuditRepository(db), db, { now });
  const rateLimits = createRateLimitService(createRateLimitRepository(db), { now });
  const formSubmissions = createFormSubmissionService({
    repository: createFormSubmissionRepository(db),
    now,
  });
  const mailTransport =
    options.mailTransport ??
    (config.email.smtpUrl
      ? createSmtpTransport(config.email.smtpUrl, config.email.from)
      : createOutboxTransport(config.email.outboxDir, config.email.from));
  const email = createEmailService(createEmailRepository(db), mailTransport, {
    now,
    logger: options.logger,
  });
  const memberships = createMembershipService({
    repository: createMembershipRepository(db),
    organisations,
    email,
    audit,
    rateLimits,
    publicUrl: config.publicUrl,
    // Made below, from these memberships; only called once a request is being served.
    loadActor: (userId) => actors.load(userId),
    now,
  });
  const workspaces = createWorkspaceService(createWorkspaceRepository(db), { now });
  const content = createContentService({
    repository: createContentRepository(db, database.dialect),
    organisations,
    workspaces,
    files,
    audit,
    formSubmissions,
    now,
  });
  const accountRepository = createAccountRepository(db);
  const actors = createActorService({
    findUser: (userId) => accountRepository.findUserById(userId),
    memberships,
    workspaces,
  });
  const notifications = createNotificationService({
    repository: createNotificationRepository(db),
    email,
    actors,
    audit,
    db,
    publicUrl: config.publicUrl,
    secretKey,
    now,
  });
  const discussions = createDiscussionService({
    repository: createDiscussionRepository(db, database.dialect),
    workspaces,
    content,
    notifications,
    actors,
    audit,
    email,
    rateLimits,
    formSubmissions,
    findUserByHandle: (handle) => accountRepository.findUserByHandle(handle),
    findUserByEmail: (address) => accountRepository.findUserByEmail(address),
    findUserCreatedAt: async (userId) => (await accountRepository.findUserById(userId))?.created_at,
    publicUrl: config.publicUrl,
    now,
  });
  content.onFirstPublished(async (item, areas, link) => {
    // The publication has committed; a failure to notify is logged, not shown to the publisher.
    try {
      await discussions.notifyContentPublished(item, areas, link);
    } catch (error) {
      options.logger?.error(
        { err: error, contentId: item.id },
        'could not notify about new content',
      );
    }
  });
  const accounts = createAccountService({
    repository: accountRepository,
    email,
    audit,
    rateLimits,
    publicUrl: config.publicUrl,
    secretKey,
    now,
    onAccountDeleted: async (trx, userId) => {
      await memberships.removeEverythingOfUser(trx, userId);
      await workspaces.removeMembershipsOfUser(trx, userId);
      await discussions.removeEverythingOfUser(trx, userId);
      await formSubmissions.removeOfUser(trx, userId);
      await notifications.removeForUser(trx, userId);
    },
    findHandovers: async (userId, executor) => [
      ...(await memberships.organisationsOnlyAdministeredBy(userId, executor)).map(
        (organisation) => ({
          text: `the only admin of ${organisation.name}`,
          href: `/organisations/${organisation.code}/members`,
        }),
      ),
      ...(await workspaces.workspacesOnlyManagedBy(userId, executor)).map((workspace) => ({
        text: `the only manager of the ${workspace.name} workspace`,
        href: `/workspaces/${workspace.slug}/members`,
      })),
    ],
    collectPersonalData: async (userId) => {
      const user = await accountRepository.findUserById(userId);
      return {
        ...(await memberships.collectPersonalData(userId, user?.email ?? null)),
        greenPlans: await greenPlans.collectPersonalData(userId),
        greenerGeneralPractice: await greenerPractice.collectPersonalData(userId),
        discussions: await discussions.collectPersonalData(userId),
        ...(await workspaces.collectPersonalData(userId)),
        ...(await content.collectPersonalData(userId)),
        ...(await files.collectPersonalData(userId)),
        ...(await notifications.collectPersonalData(userId)),
        notificationPreferences: await notifications.preferencesOf(userId),
      };
    },
  });
  const auth = createAuthService({
    repository: accountRepository,
    accounts,
    audit,
    rateLimits,
    idleTimeoutMinutes: config.session.idleTimeoutMinutes,
    absoluteTimeoutHours: config.session.absoluteTimeoutHours,
    now,
  });
  const prescribing = createPrescribingService(
    createPrescribingRepository(database.db, database.dialect),
    loadInhalerReference(),
  );
  const greenPlans = createGreenPlanService({
    repository: createGreenPlanRepository(db),
    organisations,
    accounts,
    memberships,
    files,
    audit,
    formSubmissions,
    onPlanDeleted: async (trx, deleted) => {
      await discussions.removeConversationsOf(trx, 'plan_action', deleted.actionIds);
      await notifications.removeLinkingTo(trx, `/green-plans/${deleted.planId}`);
    },
    countActionComments: (executor, actionId) =>
      discussions.countCommentsAbout(executor, 'plan_action', actionId),
    onActionDeleted: async (trx, deleted) => {
      await discussions.removeConversationsOf(trx, 'plan_action', [deleted.actionId]);
      await notifications.removeLinkingTo(
        trx,
        `/green-plans/${deleted.planId}/actions/${deleted.actionId}`,
      );
    },
    now,
  });
  discussions.registerCommentSubject('plan_action', greenPlans.commentSubject);
  const greenerPracticeRepository = createGreenerPracticeRepository(db);
  const greenerPractice = createGreenerPracticeService({
    repository: greenerPracticeRepository,
    organisations,
    prescribing,
    greenPlans,
    content,
    accounts,
    memberships,
    files,
    audit,
    notifications,
    publicUrl: config.publicUrl,
    now,
  });
  // Digests check again that each item may still be read, by the rules of the pages it leads to.
  notifications.registerLinkReadCheck(
    createLinkReadCheck({ discussions, content, greenPlans, greenerPractice }),
  );
  const greenerPracticeProgramme = createGreenerPracticeProgrammeService({
    repository: greenerPracticeRepository,
    core: greenerPractice,
    organisations,
    prescribing,
    now,
  });
  const oidc = config.oidc
    ? createOidcService(
        {
          issuer: config.oidc.issuer,
          clientId: config.oidc.clientId,
          clientSecret: config.oidc.clientSecret,
          allowHttp: config.oidc.allowHttp,
          redirectUri: `${config.publicUrl}/auth/oidc/callback`,
        },
        secretKey,
      )
    : undefined;
  return {
    config,
    database,
    secretKey,
    oidc,
    organisations,
    audit,
    rateLimits,
    formSubmissions,
    email,
    files,
    workspaces,
    content,
    actors,
    notifications,
    discussions,
    memberships,
    accounts,
    auth,
    prescribing,
    greenPlans,
    greenerPractice,
    greenerPracticeProgramme,
  };
}

export type Services = ReturnType<typeof createServices>;
