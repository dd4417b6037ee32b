import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ValidationFailed } from '../../lib/validation.ts';
import type { Services } from '../../services.ts';
import { safeReturnPath, sessionTokenOf, setSessionCookie } from '../../web/authentication.ts';
import { formErrorContext, formFields } from '../../web/forms.ts';
import { NotFoundError } from '../../web/http-errors.ts';
import { requestContextOf } from '../../web/request-context.ts';
import { SingleSignOnError } from './oidc.service.ts';

function flowCookieName(request: FastifyRequest) {
  return request.protocol === 'https' ? '__Host-gs_oidc' : 'gs_oidc';
}

/**
 * Single sign-on routes, present only when OIDC_ISSUER is configured. The callback is a GET by the
 * protocol's design; it is protected by the state, nonce and PKCE checks rather than a form token.
 */
export function registerSingleSignOnRoutes(app: FastifyInstance, services: Services): void {
  const oidc = services.oidc;

  function problemPage(reply: FastifyReply, message: string) {
    return reply.code(400).render('accounts/views/message.njk', {
      pageTitle: 'Single sign-on did not work',
      heading: 'Single sign-on did not work',
      lines: [message],
      links: [{ href: '/sign-in', text: 'Try again, or sign in with your email address' }],
    });
  }

  async function start(
    request: FastifyRequest,
    reply: FastifyReply,
    returnTo: string,
    linkUserId?: string,
  ) {
    if (!oidc) throw new NotFoundError();
    try {
      const { url, sealedState } = await oidc.beginSignIn({ returnTo, linkUserId });
      reply.setCookie(flowCookieName(request), sealedState, {
        path: '/',
        httpOnly: true,
        sameSite: 'lax',
        secure: request.protocol === 'https',
        maxAge: 600,
      });
      return reply.redirect(url, 303);
    } catch (error) {
      if (error instanceof SingleSignOnError) return problemPage(reply, error.message);
      throw error;
    }
  }

  app.get<{ Querystring: { returnTo?: string } }>(
    '/sign-in/sso',
    { config: { access: 'public' } },
    async (request, reply) => start(request, reply, safeReturnPath(request.query.returnTo)),
  );

  async function renderLinkPage(
    request: FastifyRequest,
    reply: FastifyReply,
    extra: Record<string, unknown> = {},
    status = 200,
  ) {
    const overview = await services.accounts.getOverview(request.actor!);
    const providerName = services.config.oidc?.displayName ?? 'single sign-on';
    return reply.code(status).render('accounts/views/single-sign-on.njk', {
      heading: `Link your ${providerName} account`,
      lines: [
        `Once linked, you can sign in to Greenspace with your ${providerName} account as well as ${overview.hasPassword ? 'your password' : 'as you do now'}.`,
        `You will be taken to ${providerName} to sign in there, then brought back here. We will email you to say it has been linked.`,
        ...(overview.hasPassword
          ? []
          : [
              'You have no password to confirm it is you, so this works within 10 minutes of signing in.',
            ]),
      ],
      action: '/account/sso/link',
      askPassword: overview.hasPassword,
      buttonText: `Continue to ${providerName}`,
      breadcrumbs: [
        { href: '/', text: 'Home' },
        { href: '/account', text: 'Your account' },
      ],
      ...extra,
    });
  }

  // Linking adds a way in that outlives a new password, so it asks for the password first.
  app.get(
    '/account/sso/link',
    { config: { access: 'signed-in', audience: 'self' } },
    async (request, reply) => {
      if (!oidc) throw new NotFoundError();
      return renderLinkPage(request, reply);
    },
  );

  app.post(
    '/account/sso/link',
    { config: { access: 'signed-in', audience: 'self' } },
    async (request, reply) => {
      if (!oidc) throw new NotFoundError();
      const fields = formFields(request, ['password']);
      try {
        await services.accounts.confirmBeforeLinkingSingleSignOn(
          request.actor!,
          fields.password,
          requestContextOf(request),
          request.currentSession?.id,
        );
      } catch (error) {
        if (!(error instanceof ValidationFailed)) throw error;
        return renderLinkPage(
          request,
          reply,
          formErrorContext(error.fieldErrors, ['password']),
          400,
        );
      }
      return start(request, reply, '/account', request.actor!.userId);
    },
  );

  app.get('/auth/oidc/callback', { config: { access: 'public' } }, async (request, reply) => {
    if (!oidc) throw new NotFoundError();
    const sealed = request.cookies[flowCookieName(request)];
    reply.clearCookie(flowCookieName(request), {
      path: '/',
      httpOnly: true,
      sameSite: 'lax',
      secure: request.protocol === 'https',
    });
    const context = requestContextOf(request);
    try {
      const callbackUrl = new URL(request.url, services.config.publicUrl);
      const { identity, returnTo, linkUserId } = await oidc.completeSignIn(callbackUrl, sealed);
      if (linkUserId && request.actor?.userId !== linkUserId) {
        return problemPage(
          reply,
          'Sign in to Greenspace first, then link your account from your account page.',
        );
      }
      const result = await services.auth.signInWithExternalIdentity(
        identity,
        context,
        linkUserId ?? undefined,
      );
      if (result.outcome === 'linked') return reply.redirect('/account', 303);
      if (result.outcome === 'email-belongs-to-another-account') {
        return problemPage(
          reply,
          'Your email address already has a Greenspace account. Sign in with your password, then link single sign-on from your account page.',
        );
      }
      if (result.outcome === 'email-not-verified')
        return problemPage(reply, 'Confirm your email address first.');
      const previous = sessionTokenOf(request);
      if (previous) await services.auth.signOut(previous, context);
      setSessionCookie(request, reply, result.sessionToken);
      if (result.outcome === 'second-factor-needed') {
        return reply.redirect(`/sign-in/two-factor?returnTo=${encodeURIComponent(returnTo)}`, 303);
      }
      return reply.redirect(safeReturnPath(returnTo), 303);
    } catch (error) {
      if (error instanceof SingleSignOnError) {
        await services.audit.record(
          {
            action: 'auth.sign_in',
            outcome: 'failure',
            actorUserId: null,
            details: { method: 'sso', reason: error.message.slice(0, 200) },
          },
          context,
        );
        return problemPage(reply, error.message);
      }
      if (error instanceof ValidationFailed)
        return problemPage(reply, Object.values(error.fieldErrors)[0] ?? 'Single sign-on failed.');
      throw error;
    }
  });
}
