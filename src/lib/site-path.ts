/**
 * A path on this site, or `fallback`. Anything that could take a browser elsewhere (another site,
 * `//host`, `/\host`, or a path with tabs or line breaks, which browsers strip before resolving) is
 * replaced, as is anything longer than 500 characters. Used for every redirect to an address that
 * was stored or sent by someone: a return address after signing in, a notification's link.
 */
export function localPathOr(value: unknown, fallback: string): string {
  if (typeof value !== 'string' || value.length > 500) return fallback;
  // Browsers drop tabs and line breaks from addresses, so `/\t/evil.example` would become `//evil.example`.
  if (
    !value.startsWith('/') ||
    [...value].some((character) => character.charCodeAt(0) < 0x20 || character === '\u007f')
  ) {
    return fallback;
  }
  if (value.startsWith('//')) return fallback;
  const base = 'https://greenspace.invalid';
  try {
    return new URL(value, base).origin === base ? value : fallback;
  } catch {
    return fallback; // `/\\` and the like resolve to an address with no host
  }
}
