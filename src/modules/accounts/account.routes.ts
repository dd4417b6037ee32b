import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import QRCode from 'qrcode';
import { ValidationFailed } from '../../lib/validation.ts';
import type { Services } from '../../services.ts';
import { clearSessionCookie } from '../../web/authentication.ts';
import { formErrorContext, formFields } from '../../web/forms.ts';
import { requestContextOf } from '../../web/request-context.ts';
import type { Actor } from '../access/policy.ts';
import { roleDefinitions } from '../access/roles.ts';
import { InvalidTokenError } from './account.service.ts';
import { invalidLinkPage } from './auth.routes.ts';
import { commonPasswordCount, MINIMUM_PASSWORD_LENGTH } from './password.ts';

const signedIn = { config: { access: 'signed-in' as const, audience: 'self' as const } };
/** Pages an admin must still reach to set up the second factor their role requires. */
const signedInBeforeTwoFactor = {
  config: {
    access: 'signed-in' as const,
    audience: 'self' as const,
    allowedBeforeTwoFactorSetup: true,
  },
};

const accountBreadcrumbs = [
  { href: '/', text: 'Home' },
  { href: '/account', text: 'Your account' },
];

function actorOf(request: FastifyRequest): Actor {
  // The route's `signed-in` access guarantees an actor.
  return request.actor!;
}

/** The account pages: details, password, email, two-factor authentication, sessions, data and deletion. */
export function registerAccountRoutes(app: FastifyInstance, services: Services): void {
  const passwordHint = `Use ${MINIMUM_PASSWORD_LENGTH} characters or more. Common passwords (we check ${commonPasswordCount().toLocaleString('en-GB')} of them) are not accepted.`;

  async function renderAccount(
    request: FastifyRequest,
    reply: FastifyReply,
    extra: Record<string, unknown> = {},
    status = 200,
  ) {
    const actor = actorOf(request);
    const [overview, sessions] = await Promise.all([
      services.accounts.getOverview(actor),
      services.auth.listSessions(actor),
    ]);
    return reply.code(status).render('accounts/views/account.njk', {
      overview,
      sessions: sessions.map((session) => ({
        ...session,
        current: session.id === request.currentSession?.id,
      })),
      memberships: actor.memberships.map((membership) => ({
        ...membership,
        roleLabel: roleDefinitions[membership.role].label,
      })),
      values: {},
      breadcrumbs: [{ href: '/', text: 'Home' }],
      ...extra,
    });
  }

  app.get<{ Querystring: { updated?: string } }>(
    '/account',
    signedInBeforeTwoFactor,
    async (request, reply) => {
      const notices: Record<string, string> = {
        name: 'Your name has been changed.',
        password: 'Your password has been changed. Your other sessions have been signed out.',
        email: 'We have sent a link to your new email address. Your email changes when you use it.',
        'email-cancelled': 'The change of email address has been cancelled.',
        'email-nothing-to-cancel':
          'There was no change of email address waiting to be cancelled: it may have been confirmed or cancelled already. Your email address is shown below.',
        'sso-unlinked': 'Single sign-on has been unlinked. We have emailed you to say so.',
        sessions: 'Your other sessions have been signed out.',
        'two-factor-off': 'Two-factor authentication is off.',
      };
      return renderAccount(request, reply, { notice: notices[request.query.updated ?? ''] });
    },
  );

  app.post('/account/name', signedInBeforeTwoFactor, async (request, reply) => {
    const fields = formFields(request, ['displayName']);
    try {
      await services.accounts.updateDisplayName(
        actorOf(request),
        fields.displayName,
        requestContextOf(request),
      );
    } catch (error) {
      if (!(error instanceof ValidationFailed)) throw error;
      return renderAccount(
        request,
        reply,
        { ...formErrorContext(error.fieldErrors), values: fields },
        400,
      );
    }
    return reply.redirect('/account?updated=name', 303);
  });

  app.get('/account/password', signedInBeforeTwoFactor, async (_request, reply) =>
    reply.render('accounts/views/change-password.njk', {
      passwordHint,
      breadcrumbs: accountBreadcrumbs,
    }),
  );

  app.post('/account/password', signedInBeforeTwoFactor, async (request, reply) => {
    const fields = formFields(request, ['currentPassword', 'newPassword', 'confirmPassword']);
    try {
      if (fields.newPassword !== fields.confirmPassword)
        throw new ValidationFailed({ confirmPassword: 'The new passwords do not match' });
      await services.accounts.changePassword(
        actorOf(request),
        { currentPassword: fields.currentPassword, newPassword: fields.newPassword },
        request.currentSession!.id,
        requestContextOf(request),
      );
    } catch (error) {
      if (!(error instanceof ValidationFailed)) throw error;
      return reply.code(400).render('accounts/views/change-password.njk', {
        passwordHint,
        breadcrumbs: accountBreadcrumbs,
        ...formErrorContext(error.fieldErrors, [
          'currentPassword',
          'newPassword',
          'confirmPassword',
        ]),
      });
    }
    return reply.redirect('/account?updated=password', 303);
  });

  app.get('/account/email', signedIn, async (_request, reply) =>
    reply.render('accounts/views/change-email.njk', {
      values: {},
      breadcrumbs: accountBreadcrumbs,
    }),
  );

  app.post('/account/email', signedIn, async (request, reply) => {
    const fields = formFields(request, ['newEmail', 'password']);
    try {
      await services.accounts.requestEmailChange(
        actorOf(request),
        fields,
        requestContextOf(request),
      );
    } catch (error) {
      if (!(error instanceof ValidationFailed)) throw error;
      return reply.code(400).render('accounts/views/change-email.njk', {
        values: { newEmail: fields.newEmail },
        breadcrumbs: accountBreadcrumbs,
        ...formErrorContext(error.fieldErrors, ['newEmail', 'password']),
      });
    }
    return reply.redirect('/account?updated=email', 303);
  });

  async function renderUnlink(
    request: FastifyRequest<{ Params: { identityId: string } }>,
    reply: FastifyReply,
    extra: Record<string, unknown> = {},
    status = 200,
  ) {
    const identity = await services.accounts.getExternalIdentity(
      actorOf(request),
      request.params.identityId,
    );
    return reply.code(status).render('accounts/views/single-sign-on.njk', {
      heading: `Unlink ${identity.account}`,
      lines: identity.hasPassword
        ? [
            `You will no longer be able to sign in with ${identity.account}. You can still sign in with your email address and password.`,
          ]
        : [
            `You sign in only with ${identity.account}. Set a password first (use "Forgotten your password?" on the sign-in page), so that you can still sign in once it is unlinked.`,
          ],
      action: `/account/sso/${identity.id}/unlink`,
      askPassword: identity.hasPassword,
      buttonText: 'Unlink',
      buttonClasses: 'nhsuk-button--warning',
      breadcrumbs: accountBreadcrumbs,
      ...extra,
    });
  }

  app.get<{ Params: { identityId: string } }>(
    '/account/sso/:identityId/unlink',
    signedIn,
    async (request, reply) => renderUnlink(request, reply),
  );

  app.post<{ Params: { identityId: string } }>(
    '/account/sso/:identityId/unlink',
    signedIn,
    async (request, reply) => {
      // Found first, so that an address that is not one of the user's is not found (404).
      await services.accounts.getExternalIdentity(actorOf(request), request.params.identityId);
      const fields = formFields(request, ['password']);
      try {
        await services.accounts.unlinkExternalIdentity(
          actorOf(request),
          request.params.identityId,
          fields.password,
          requestContextOf(request),
        );
      } catch (error) {
        if (!(error instanceof ValidationFailed)) throw error;
        return renderUnlink(request, reply, formErrorContext(error.fieldErrors, ['password']), 400);
      }
      return reply.redirect('/account?updated=sso-unlinked', 303);
    },
  );

  app.post('/account/email/cancel', signedIn, async (request, reply) => {
    const cancelled = await services.accounts.cancelEmailChange(
      actorOf(request),
      requestContextOf(request),
    );
    // From a page read before the link was used (or the change cancelled elsewhere), there is
    // nothing to cancel, and the page must not say there was.
    return reply.redirect(
      `/account?updated=${cancelled ? 'email-cancelled' : 'email-nothing-to-cancel'}`,
      303,
    );
  });

  app.get<{ Querystring: { token?: string } }>(
    '/account/email/confirm',
    { config: { access: 'public' } },
    async (request, reply) =>
      reply.render('accounts/views/confirm-new-email.njk', {
        token: typeof request.query.token === 'string' ? request.query.token : '',
      }),
  );

  app.post('/account/email/confirm', { config: { access: 'public' } }, async (request, reply) => {
    const fields = formFields(request, ['token']);
    try {
      await services.accounts.confirmEmailChange(fields.token, requestContextOf(request));
    } catch (error) {
      if (!(error instanceof InvalidTokenError)) throw error;
      return reply.code(400).render('accounts/views/message.njk', invalidLinkPage(error.message));
    }
    return reply.render('accounts/views/message.njk', {
      pageTitle: 'Email address changed',
      heading: 'Your email address has been changed',
      lines: ['Use your new email address to sign in from now on.'],
      links: [{ href: '/account', text: 'Go to your account' }],
    });
  });

  // --- two-factor authentication ---

  async function renderTwoFactor(
    request: FastifyRequest,
    reply: FastifyReply,
    extra: Record<string, unknown> = {},
    status = 200,
  ) {
    const actor = actorOf(request);
    const overview = await services.accounts.getOverview(actor);
    const pending = overview.twoFactorEnabled
      ? null
      : await services.accounts.pendingTwoFactorSecret(actor);
    const qrCodeSvg = pending
      ? (
          await QRCode.toString(pending.otpauthUri, {
            type: 'svg',
            margin: 2,
            errorCorrectionLevel: 'M',
          })
        )
          .replace('<svg ', '<svg role="img" aria-labelledby="qr-title" class="gs-qr-code" ')
          .replace(
            /(<svg[^>]*>)/,
            '$1<title id="qr-title">QR code to add Greenspace to your authenticator app</title>',
          )
      : null;
    // A form sent from a page older than the account (two-factor turned off in another tab) has no
    // field on this page to point at: its error is said in the summary, without a link.
    const errorList = extra.errorList as { text: string; href?: string }[] | undefined;
    const onlyWhenOn = new Set(['#password', '#disablePassword']);
    const unanchored =
      !overview.twoFactorEnabled && errorList
        ? {
            errorList: errorList.map((item) =>
              item.href && onlyWhenOn.has(item.href) ? { text: item.text } : item,
            ),
          }
        : {};
    return reply.code(status).render('accounts/views/two-factor.njk', {
      overview,
      pending,
      qrCodeSvg,
      secretGroups: pending?.secret.match(/.{1,4}/g)?.join(' '),
      required: (request.query as { required?: string }).required === '1',
      breadcrumbs: accountBreadcrumbs,
      ...extra,
      ...unanchored,
    });
  }

  app.get('/account/two-factor', signedInBeforeTwoFactor, async (request, reply) =>
    renderTwoFactor(request, reply),
  );

  app.post('/account/two-factor/start', signedInBeforeTwoFactor, async (request, reply) => {
    await services.accounts.beginTwoFactorSetup(actorOf(request));
    return reply.redirect('/account/two-factor', 303);
  });

  app.post('/account/two-factor/confirm', signedInBeforeTwoFactor, async (request, reply) => {
    const fields = formFields(request, ['code']);
    try {
      const recoveryCodes = await services.accounts.confirmTwoFactorSetup(
        actorOf(request),
        fields.code,
        requestContextOf(request),
      );
      // Recovery codes are shown once, on this response, and never again.
      return reply.render('accounts/views/recovery-codes.njk', {
        recoveryCodes,
        justEnabled: true,
        breadcrumbs: accountBreadcrumbs,
      });
    } catch (error) {
      if (!(error instanceof ValidationFailed)) throw error;
      return renderTwoFactor(request, reply, formErrorContext(error.fieldErrors, ['code']), 400);
    }
  });

  app.post('/account/two-factor/disable', signedIn, async (request, reply) => {
    const fields = formFields(request, ['password']);
    try {
      await services.accounts.disableTwoFactor(
        actorOf(request),
        fields.password,
        requestContextOf(request),
      );
    } catch (error) {
      if (!(error instanceof ValidationFailed)) throw error;
      // The page has two password fields; this form's is `disablePassword`.
      const { password, ...others } = error.fieldErrors;
      return renderTwoFactor(
        request,
        reply,
        formErrorContext(password ? { disablePassword: password, ...others } : others),
        400,
      );
    }
    return reply.redirect('/account?updated=two-factor-off', 303);
  });

  app.post('/account/two-factor/recovery-codes', signedIn, async (request, reply) => {
    const fields = formFields(request, ['password']);
    try {
      const recoveryCodes = await services.accounts.regenerateRecoveryCodes(
        actorOf(request),
        fields.password,
        requestContextOf(request),
      );
      return reply.render('accounts/views/recovery-codes.njk', {
        recoveryCodes,
        justEnabled: false,
        breadcrumbs: accountBreadcrumbs,
      });
    } catch (error) {
      if (!(error instanceof ValidationFailed)) throw error;
      return renderTwoFactor(
        request,
        reply,
        formErrorContext(error.fieldErrors, ['password']),
        400,
      );
    }
  });

  // --- sessions, personal data, deletion ---

  app.post('/account/sessions/sign-out-others', signedInBeforeTwoFactor, async (request, reply) => {
    await services.auth.signOutOtherSessions(
      actorOf(request),
      request.currentSession!.id,
      requestContextOf(request),
    );
    return reply.redirect('/account?updated=sessions', 303);
  });

  app.get('/account/data', signedIn, async (request, reply) => {
    const data = await services.accounts.exportPersonalData(
      actorOf(request),
      requestContextOf(request),
    );
    return reply
      .header('content-type', 'application/json; charset=utf-8')
      .header('content-disposition', 'attachment; filename="greenspace-personal-data.json"')
      .send(JSON.stringify(data, null, 2));
  });

  app.get('/account/delete', signedInBeforeTwoFactor, async (request, reply) =>
    reply.render('accounts/views/delete-account.njk', {
      breadcrumbs: accountBreadcrumbs,
      handovers: await services.accounts.findHandovers(actorOf(request)),
      hasPassword: (await services.accounts.getOverview(actorOf(request))).hasPassword,
    }),
  );

  app.post('/account/delete', signedInBeforeTwoFactor, async (request, reply) => {
    const fields = formFields(request, ['password']);
    try {
      await services.accounts.deleteAccount(
        actorOf(request),
        fields.password,
        requestContextOf(request),
        request.currentSession?.id,
      );
    } catch (error) {
      if (!(error instanceof ValidationFailed)) throw error;
      return reply.code(400).render('accounts/views/delete-account.njk', {
        breadcrumbs: accountBreadcrumbs,
        handovers: await services.accounts.findHandovers(actorOf(request)),
        hasPassword: (await services.accounts.getOverview(actorOf(request))).hasPassword,
        ...formErrorContext(error.fieldErrors, ['password']),
      });
    }
    clearSessionCookie(request, reply);
    return reply.render('accounts/views/message.njk', {
      pageTitle: 'Account deleted',
      heading: 'Your account has been deleted',
      lines: [
        'Your personal details have been erased and you have been signed out.',
        'What you contributed stays in Greenspace, shown as written by a deleted user.',
      ],
      actor: null,
      pendingSecondFactor: false,
    });
  });
}
