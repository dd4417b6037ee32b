import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ValidationFailed } from '../../lib/validation.ts';
import type { Services } from '../../services.ts';
import {
  clearSessionCookie,
  safeReturnPath,
  sessionTokenOf,
  setSessionCookie,
} from '../../web/authentication.ts';
import { formErrorContext, formFields } from '../../web/forms.ts';
import { requestContextOf } from '../../web/request-context.ts';
import { InvalidTokenError } from './account.service.ts';
import { commonPasswordCount, MINIMUM_PASSWORD_LENGTH } from './password.ts';

const views = {
  signIn: 'accounts/views/sign-in.njk',
  twoFactor: 'accounts/views/sign-in-two-factor.njk',
  signUp: 'accounts/views/sign-up.njk',
  message: 'accounts/views/message.njk',
  verify: 'accounts/views/verify-email.njk',
  forgot: 'accounts/views/forgot-password.njk',
  reset: 'accounts/views/reset-password.njk',
  signOut: 'accounts/views/sign-out.njk',
};

const publicRoute = { config: { access: 'public' as const } };

/** Renders a form again with its errors, keeping what the user typed (never passwords). */
function renderFormErrors(
  reply: FastifyReply,
  template: string,
  error: ValidationFailed,
  context: Record<string, unknown>,
  order: string[],
) {
  return reply
    .code(400)
    .render(template, { ...context, ...formErrorContext(error.fieldErrors, order) });
}

function checkEmailPage(reply: FastifyReply, heading: string, lines: string[]) {
  return reply.render(views.message, {
    pageTitle: heading,
    heading,
    lines,
    breadcrumbs: [{ href: '/', text: 'Home' }],
  });
}

/** Signing in, the second factor, signing out, creating an account, confirming email, resetting a password. */
export function registerAuthRoutes(app: FastifyInstance, services: Services): void {
  const passwordHint = `Use ${MINIMUM_PASSWORD_LENGTH} characters or more. A few unrelated words make a strong password you can remember. Common passwords (we check ${commonPasswordCount().toLocaleString('en-GB')} of them) are not accepted.`;

  async function endCurrentSession(request: FastifyRequest) {
    const token = sessionTokenOf(request);
    if (token) await services.auth.signOut(token, requestContextOf(request));
  }

  app.get<{ Querystring: { returnTo?: string } }>(
    '/sign-in',
    publicRoute,
    async (request, reply) => {
      if (request.actor) return reply.redirect(safeReturnPath(request.query.returnTo), 303);
      return reply.render(views.signIn, {
        returnTo: safeReturnPath(request.query.returnTo),
        values: {},
      });
    },
  );

  app.post('/sign-in', publicRoute, async (request, reply) => {
    const fields = formFields(request, ['email', 'password', 'returnTo']);
    const returnTo = safeReturnPath(fields.returnTo);
    const context = requestContextOf(request);
    try {
      const errors: Record<string, string> = {};
      if (fields.email.trim() === '') errors.email = 'Enter your email address';
      if (fields.password === '') errors.password = 'Enter your password';
      if (Object.keys(errors).length > 0) throw new ValidationFailed(errors);
      const result = await services.auth.signIn(fields.email, fields.password, context);
      if (result.outcome === 'email-not-verified') {
        await services.accounts.resendVerification(result.userId, context);
        return checkEmailPage(reply, 'Confirm your email address', [
          'You need to confirm your email address before you can sign in.',
          'We have sent you a new link. It works for 24 hours.',
        ]);
      }
      // A new session at every sign-in: whatever session id the browser had before is worthless now.
      await endCurrentSession(request);
      setSessionCookie(request, reply, result.sessionToken);
      if (result.outcome === 'second-factor-needed') {
        return reply.redirect(`/sign-in/two-factor?returnTo=${encodeURIComponent(returnTo)}`, 303);
      }
      return reply.redirect(returnTo, 303);
    } catch (error) {
      if (!(error instanceof ValidationFailed)) throw error;
      return renderFormErrors(
        reply,
        views.signIn,
        error,
        { returnTo, values: { email: fields.email } },
        ['email', 'password'],
      );
    }
  });

  app.get<{ Querystring: { returnTo?: string } }>(
    '/sign-in/two-factor',
    { config: { access: 'second-factor-pending' } },
    async (request, reply) =>
      reply.render(views.twoFactor, { returnTo: safeReturnPath(request.query.returnTo) }),
  );

  app.post(
    '/sign-in/two-factor',
    { config: { access: 'second-factor-pending' } },
    async (request, reply) => {
      const fields = formFields(request, ['code', 'returnTo']);
      const returnTo = safeReturnPath(fields.returnTo);
      try {
        if (fields.code.trim() === '')
          throw new ValidationFailed({ code: 'Enter the code from your authenticator app' });
        const token = await services.auth.verifySecondFactor(
          sessionTokenOf(request) ?? '',
          fields.code,
          requestContextOf(request),
        );
        setSessionCookie(request, reply, token);
        return reply.redirect(returnTo, 303);
      } catch (error) {
        if (!(error instanceof ValidationFailed)) throw error;
        return renderFormErrors(reply, views.twoFactor, error, { returnTo }, ['code']);
      }
    },
  );

  app.get('/sign-out', publicRoute, async (request, reply) => {
    if (!request.currentSession) return reply.redirect('/', 303);
    return reply.render(views.signOut, {});
  });

  app.post('/sign-out', publicRoute, async (request, reply) => {
    await endCurrentSession(request);
    clearSessionCookie(request, reply);
    return reply.render(views.message, {
      pageTitle: 'You have signed out',
      heading: 'You have signed out',
      lines: ['You have signed out of Greenspace on this device.'],
      links: [{ href: '/sign-in', text: 'Sign in again' }],
      actor: null,
      pendingSecondFactor: false,
    });
  });

  app.get('/sign-up', publicRoute, async (request, reply) => {
    if (request.actor) return reply.redirect('/account', 303);
    return reply.render(views.signUp, { values: {}, passwordHint });
  });

  app.post('/sign-up', publicRoute, async (request, reply) => {
    const fields = formFields(request, ['displayName', 'email', 'password']);
    try {
      await services.accounts.signUp(
        { email: fields.email, displayName: fields.displayName, password: fields.password },
        requestContextOf(request),
      );
      return checkEmailPage(reply, 'Check your email', [
        `We have sent an email to ${fields.email.trim().toLowerCase()}.`,
        'Use the link in it to confirm your email address and finish creating your account. The link works for 24 hours.',
        'If you do not get the email within a few minutes, check your junk or spam folder.',
      ]);
    } catch (error) {
      if (!(error instanceof ValidationFailed)) throw error;
      return renderFormErrors(
        reply,
        views.signUp,
        error,
        { values: { displayName: fields.displayName, email: fields.email }, passwordHint },
        ['displayName', 'email', 'password'],
      );
    }
  });

  // Opening an emailed link never changes anything by itself: the page has a button that posts.
  app.get<{ Querystring: { token?: string } }>(
    '/verify-email',
    publicRoute,
    async (request, reply) => {
      return reply.render(views.verify, {
        token: typeof request.query.token === 'string' ? request.query.token : '',
      });
    },
  );

  app.post('/verify-email', publicRoute, async (request, reply) => {
    const fields = formFields(request, ['token']);
    try {
      await services.accounts.verifyEmail(fields.token, requestContextOf(request));
    } catch (error) {
      if (!(error instanceof InvalidTokenError)) throw error;
      return reply.code(400).render(views.message, invalidLinkPage(error.message));
    }
    return reply.render(views.message, {
      pageTitle: 'Email address confirmed',
      heading: 'Your email address is confirmed',
      lines: ['You can now sign in to Greenspace.'],
      links: [{ href: '/sign-in', text: 'Sign in' }],
    });
  });

  app.get('/forgot-password', publicRoute, async (_request, reply) =>
    reply.render(views.forgot, { values: {} }),
  );

  app.post('/forgot-password', publicRoute, async (request, reply) => {
    const fields = formFields(request, ['email']);
    try {
      await services.accounts.requestPasswordReset(fields.email, requestContextOf(request));
    } catch (error) {
      if (!(error instanceof ValidationFailed)) throw error;
      return renderFormErrors(reply, views.forgot, error, { values: { email: fields.email } }, [
        'email',
      ]);
    }
    return checkEmailPage(reply, 'Check your email', [
      `If ${fields.email.trim().toLowerCase()} has a Greenspace account, we have sent it a link to reset the password.`,
      'The link works for 1 hour and only once.',
    ]);
  });

  app.get<{ Querystring: { token?: string } }>(
    '/reset-password',
    publicRoute,
    async (request, reply) => {
      const token = typeof request.query.token === 'string' ? request.query.token : '';
      if (!(await services.accounts.checkPasswordResetToken(token))) {
        return reply
          .code(400)
          .render(views.message, invalidLinkPage(new InvalidTokenError().message));
      }
      return reply.render(views.reset, { token, passwordHint });
    },
  );

  app.post('/reset-password', publicRoute, async (request, reply) => {
    const fields = formFields(request, ['token', 'password', 'confirmPassword']);
    try {
      if (fields.password !== fields.confirmPassword) {
        throw new ValidationFailed({ confirmPassword: 'The passwords do not match' });
      }
      await services.accounts.resetPassword(
        fields.token,
        fields.password,
        requestContextOf(request),
      );
    } catch (error) {
      if (error instanceof InvalidTokenError)
        return reply.code(400).render(views.message, invalidLinkPage(error.message));
      if (!(error instanceof ValidationFailed)) throw error;
      return renderFormErrors(reply, views.reset, error, { token: fields.token, passwordHint }, [
        'password',
        'confirmPassword',
      ]);
    }
    clearSessionCookie(request, reply);
    return reply.render(views.message, {
      pageTitle: 'Password changed',
      heading: 'Your password has been changed',
      lines: ['For your security, every session of your account has been signed out.'],
      links: [{ href: '/sign-in', text: 'Sign in with your new password' }],
      actor: null,
    });
  });
}

export function invalidLinkPage(message: string) {
  return {
    pageTitle: 'This link cannot be used',
    heading: 'This link cannot be used',
    lines: [message],
    links: [
      { href: '/forgot-password', text: 'Ask for a new password reset link' },
      { href: '/sign-in', text: 'Sign in' },
    ],
  };
}
