import type { FastifyInstance, LightMyRequestResponse } from 'fastify';

/**
 * A small browser for `app.inject`: it keeps cookies between requests and fills in the CSRF token
 * from the page a form came from, so tests use the service the way a person with a browser does.
 */
export class HttpAgent {
  readonly cookies = new Map<string, string>();
  lastResponse: LightMyRequestResponse | undefined;

  constructor(
    private readonly app: FastifyInstance,
    private readonly headers: Record<string, string> = { 'user-agent': 'greenspace-tests' },
  ) {}

  private cookieHeader(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  private remember(response: LightMyRequestResponse): void {
    for (const cookie of response.cookies) {
      const expired =
        cookie.expires !== undefined && new Date(cookie.expires).getTime() <= Date.now();
      if (cookie.value === '' || expired || cookie.maxAge === 0) this.cookies.delete(cookie.name);
      else this.cookies.set(cookie.name, cookie.value);
    }
    this.lastResponse = response;
  }

  async get(url: string): Promise<LightMyRequestResponse> {
    const response = await this.app.inject({
      method: 'GET',
      url,
      headers: { ...this.headers, cookie: this.cookieHeader() },
    });
    this.remember(response);
    return response;
  }

  /** Posts form fields as a browser would; `csrf: false` leaves the token out. */
  async post(
    url: string,
    fields: Record<string, string> = {},
    options: { csrf?: boolean | string } = {},
  ): Promise<LightMyRequestResponse> {
    const body = new URLSearchParams(fields);
    if (options.csrf !== false)
      body.set('_csrf', typeof options.csrf === 'string' ? options.csrf : await this.csrfToken());
    const response = await this.app.inject({
      method: 'POST',
      url,
      headers: {
        ...this.headers,
        cookie: this.cookieHeader(),
        'content-type': 'application/x-www-form-urlencoded',
      },
      payload: body.toString(),
    });
    this.remember(response);
    return response;
  }

  /** The CSRF token the service would put in a form for this browser right now. */
  async csrfToken(): Promise<string> {
    // Signed out, the sign-in page has a form; signed in, it redirects and the sign-out page has one.
    for (const url of ['/sign-in', '/sign-out']) {
      const page = await this.get(url);
      const match = /name="_csrf" value="([^"]+)"/.exec(page.body);
      if (match) return match[1]!;
    }
    throw new Error('No page offered a CSRF token');
  }

  /** Follows one redirect. */
  async follow(response: LightMyRequestResponse): Promise<LightMyRequestResponse> {
    const location = response.headers.location;
    if (typeof location !== 'string')
      throw new Error(`Expected a redirect, got ${response.statusCode}`);
    return this.get(location);
  }

  sessionCookie(): string | undefined {
    return this.cookies.get('gs_session') ?? this.cookies.get('__Host-gs_session');
  }
}

/** Signs a test user in through the sign-in pages, with their second factor when they have one. */
export async function signInAs(
  agent: HttpAgent,
  user: { email: string; password: string; totpSecret?: string },
  currentCode?: () => string,
): Promise<LightMyRequestResponse> {
  const response = await agent.post('/sign-in', {
    email: user.email,
    password: user.password,
    returnTo: '/account',
  });
  if (response.statusCode !== 303) throw new Error(`Sign-in failed with ${response.statusCode}`);
  if (String(response.headers.location).startsWith('/sign-in/two-factor')) {
    if (!currentCode) throw new Error(`${user.email} needs a second factor`);
    const second = await agent.post('/sign-in/two-factor', {
      code: currentCode(),
      returnTo: '/account',
    });
    if (second.statusCode !== 303)
      throw new Error(
        `Second factor failed with ${second.statusCode}: ${second.body.slice(0, 200)}`,
      );
    return second;
  }
  return response;
}

/**
 * One signed-in browser per test user (and one signed-out), made on first use and kept, so a test
 * file can say `await as(user)` wherever it acts as someone.
 */
export function browsersFor<
  User extends { id: string; email: string; password: string; totpSecret?: string },
>(app: () => FastifyInstance, secondFactor: (user: User) => string) {
  const browsers = new Map<string, HttpAgent>();
  return async function as(user: User | null): Promise<HttpAgent> {
    const key = user?.id ?? 'anonymous';
    const existing = browsers.get(key);
    if (existing) return existing;
    const browser = new HttpAgent(app());
    if (user) await signInAs(browser, user, () => secondFactor(user));
    browsers.set(key, browser);
    return browser;
  };
}
