import { Parser } from 'htmlparser2';

export interface ActiveContent {
  tag: string;
  reason: string;
}

const FORBIDDEN_TAGS = new Set([
  'iframe',
  'object',
  'embed',
  'base',
  'frame',
  'frameset',
  'applet',
  'math',
]);
const URL_ATTRIBUTES = new Set([
  'href',
  'src',
  'action',
  'formaction',
  'poster',
  'data',
  'srcdoc',
  'xlink:href',
]);

/**
 * Everything in a page that could run script or leave the site: script elements other than our
 * own (which carry the request's nonce or load from /assets), event-handler attributes, script URL
 * schemes, frames and plugins, styles and meta refreshes. An inert page gives an empty list.
 */
export function findActiveContent(html: string, nonce: string | undefined): ActiveContent[] {
  const found: ActiveContent[] = [];
  const parser = new Parser(
    {
      onopentag(name, attributes) {
        if (name === 'script') {
          const ours =
            (nonce && attributes.nonce === nonce) || attributes.src?.startsWith('/assets/');
          if (!ours) found.push({ tag: name, reason: 'a script that is not ours' });
        }
        if (name === 'style') found.push({ tag: name, reason: 'a style element' });
        if (
          name === 'link' &&
          attributes.rel === 'stylesheet' &&
          !attributes.href?.startsWith('/assets/')
        ) {
          found.push({ tag: name, reason: 'a stylesheet that is not ours' });
        }
        if (name === 'meta' && attributes['http-equiv'])
          found.push({ tag: name, reason: 'meta http-equiv' });
        if (FORBIDDEN_TAGS.has(name))
          found.push({ tag: name, reason: 'a frame, plugin or base element' });
        for (const [attribute, value] of Object.entries(attributes)) {
          if (attribute.startsWith('on'))
            found.push({ tag: name, reason: `event handler ${attribute}` });
          if (attribute === 'style') found.push({ tag: name, reason: 'a style attribute' });
          if (URL_ATTRIBUTES.has(attribute)) {
            // Browsers drop control characters and spaces when reading a URL's scheme.
            const scheme = [...value]
              .filter((character) => character.charCodeAt(0) > 0x20)
              .join('')
              .toLowerCase();
            if (/^(javascript|vbscript|data):/.test(scheme))
              found.push({ tag: name, reason: `${attribute}=${value}` });
          }
        }
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
  );
  parser.write(html);
  parser.end();
  return found;
}

/** The CSP nonce of a page's own scripts, to tell them from anything injected. */
export function nonceOf(html: string): string | undefined {
  return /<script nonce="([^"]+)"/.exec(html)?.[1];
}

/**
 * The one-time key (`submissionKey`) of the form on a page that posts to `action`, or undefined
 * when there is no such form or it carries none.
 */
export function submissionKeyOf(html: string, action: string): string | undefined {
  const start = html.indexOf(`action="${action}"`);
  if (start < 0) return undefined;
  const end = html.indexOf('</form>', start);
  const form = html.slice(start, end < 0 ? undefined : end);
  return /name="submissionKey" value="([A-Za-z0-9_-]+)"/.exec(form)?.[1];
}
