import type { BrowserContext, Request, Response } from 'playwright-core';

const localHosts = new Set(['127.0.0.1', 'localhost', '[::1]']);
const inertSchemes = new Set(['data:', 'blob:', 'about:']);

/** True for addresses that stay on this machine: loopback hosts, and data:, blob: and about: URLs. */
export function isLocalAddress(address: string): boolean {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    return false;
  }
  if (inertSchemes.has(url.protocol)) return true;
  return (url.protocol === 'http:' || url.protocol === 'https:') && localHosts.has(url.hostname);
}

/**
 * Records every request the pages of a browser context make, and every sub-resource (style sheet,
 * script, image…) that the server answered with an error. "No request leaves localhost": the
 * service promises to load nothing from other websites (privacy page), so one stray font or
 * script fails the journey.
 */
export class NetworkRecorder {
  readonly requests: string[] = [];
  private readonly failedSubresources: string[] = [];

  /** Starts recording a context's requests; call it before the context opens any page. */
  watch(context: BrowserContext): void {
    context.on('request', (request: Request) => this.requests.push(request.url()));
    context.on('response', (response: Response) => {
      const request = response.request();
      if (!request.isNavigationRequest() && response.status() >= 400) {
        this.failedSubresources.push(`${response.status()} ${request.method()} ${response.url()}`);
      }
    });
  }

  /** Requests to anything but this machine, in the order they were made. */
  offSiteRequests(): string[] {
    return this.requests.filter((address) => !isLocalAddress(address));
  }

  /** Throws, listing them, if any request went beyond localhost or any sub-resource failed. */
  assertOnlyLocalRequests(): void {
    const offSite = this.offSiteRequests();
    const problems: string[] = [];
    if (offSite.length > 0) {
      problems.push(
        `${offSite.length} request(s) left localhost:\n${offSite.map((url) => `  ${url}`).join('\n')}`,
      );
    }
    if (this.failedSubresources.length > 0) {
      problems.push(
        `${this.failedSubresources.length} page resource(s) failed to load:\n` +
          this.failedSubresources.map((line) => `  ${line}`).join('\n'),
      );
    }
    if (this.requests.length === 0) problems.push('no requests were recorded at all');
    if (problems.length > 0) throw new Error(problems.join('\n'));
  }
}
