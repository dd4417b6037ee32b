import * as client from 'openid-client';
import { decryptText, deriveKey, encryptText } from '../../lib/crypto.ts';

export interface OidcSettings {
  issuer: string;
  clientId: string;
  clientSecret: string;
  allowHttp: boolean;
  redirectUri: string;
}

export interface VerifiedIdentity {
  issuer: string;
  subject: string;
  email: string | null;
  emailVerified: boolean;
  name: string | null;
}

interface FlowState {
  state: string;
  nonce: string;
  codeVerifier: string;
  returnTo: string;
  linkUserId: string | null;
  startedAt: number;
}

/** A sign-in started more than ten minutes ago is refused. */
const FLOW_LIFETIME_MS = 10 * 60 * 1000;

export class SingleSignOnError extends Error {
  override name = 'SingleSignOnError';
}

/**
 * Single sign-on with any OpenID Connect provider (NHSmail and Microsoft Entra ID among them), by the
 * authorization code flow with PKCE. The state, nonce and PKCE verifier travel in an encrypted
 * cookie; openid-client checks the state, the ID token's signature, issuer, audience, expiry and
 * nonce.
 */
export function createOidcService(settings: OidcSettings, secretKey: string) {
  const flowKey = deriveKey(secretKey, 'oidc-flow');
  let configuration: Promise<client.Configuration> | undefined;

  function getConfiguration(): Promise<client.Configuration> {
    configuration ??= client
      .discovery(
        new URL(settings.issuer),
        settings.clientId,
        { redirect_uris: [settings.redirectUri], response_types: ['code'] },
        client.ClientSecretBasic(settings.clientSecret),
        settings.allowHttp ? { execute: [client.allowInsecureRequests] } : undefined,
      )
      .catch((error: unknown) => {
        configuration = undefined; // try discovery again next time
        throw new SingleSignOnError(
          `The sign-in service could not be reached: ${error instanceof Error ? error.message : String(error)}`,
        );
      });
    return configuration;
  }

  return {
    issuer: settings.issuer,

    /** The provider's address to send the user to, and the sealed state to keep in a cookie. */
    async beginSignIn(options: {
      returnTo: string;
      linkUserId?: string;
    }): Promise<{ url: string; sealedState: string }> {
      const config = await getConfiguration();
      const flow: FlowState = {
        state: client.randomState(),
        nonce: client.randomNonce(),
        codeVerifier: client.randomPKCECodeVerifier(),
        returnTo: options.returnTo,
        linkUserId: options.linkUserId ?? null,
        startedAt: Date.now(),
      };
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: settings.redirectUri,
        scope: 'openid email profile',
        state: flow.state,
        nonce: flow.nonce,
        code_challenge: await client.calculatePKCECodeChallenge(flow.codeVerifier),
        code_challenge_method: 'S256',
      });
      return { url: url.toString(), sealedState: encryptText(flowKey, JSON.stringify(flow)) };
    },

    /** Exchanges the code for tokens and returns who the provider says the user is. */
    async completeSignIn(
      callbackUrl: URL,
      sealedState: string | undefined,
    ): Promise<{ identity: VerifiedIdentity; returnTo: string; linkUserId: string | null }> {
      if (!sealedState)
        throw new SingleSignOnError('The sign-in was not started here, or took too long');
      let flow: FlowState;
      try {
        flow = JSON.parse(decryptText(flowKey, sealedState)) as FlowState;
      } catch {
        throw new SingleSignOnError('The sign-in was not started here, or took too long');
      }
      if (Date.now() - flow.startedAt > FLOW_LIFETIME_MS)
        throw new SingleSignOnError('The sign-in took too long');
      const config = await getConfiguration();
      let tokens;
      try {
        tokens = await client.authorizationCodeGrant(config, callbackUrl, {
          pkceCodeVerifier: flow.codeVerifier,
          expectedState: flow.state,
          expectedNonce: flow.nonce,
          idTokenExpected: true,
        });
      } catch (error) {
        throw new SingleSignOnError(
          `The sign-in could not be completed: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
      const claims = tokens.claims();
      if (!claims) throw new SingleSignOnError('The sign-in service returned no ID token');
      if (claims.iss !== config.serverMetadata().issuer)
        throw new SingleSignOnError('The ID token came from the wrong issuer');
      let email = typeof claims.email === 'string' ? claims.email : null;
      let emailVerified = claims.email_verified === true;
      let name = typeof claims.name === 'string' ? claims.name : null;
      if (!email && tokens.access_token) {
        let userInfo;
        try {
          userInfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
        } catch (error) {
          // The provider down, refusing the token or naming another subject: the sign-in failed,
          // which the person is told and the audit log records, like any other.
          throw new SingleSignOnError(
            `The sign-in service did not say who you are: ${error instanceof Error ? error.message : String(error)}`,
          );
        }
        email = typeof userInfo.email === 'string' ? userInfo.email : null;
        emailVerified = userInfo.email_verified === true;
        name ??= typeof userInfo.name === 'string' ? userInfo.name : null;
      }
      return {
        identity: { issuer: claims.iss, subject: claims.sub, email, emailVerified, name },
        returnTo: flow.returnTo,
        linkUserId: flow.linkUserId,
      };
    },
  };
}

export type OidcService = ReturnType<typeof createOidcService>;
