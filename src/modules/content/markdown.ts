import { Marked } from 'marked';
import sanitizeHtml from 'sanitize-html';

/**
 * Markdown is stored as written and turned into HTML only on output, through an allowlist: no
 * scripts, no event handlers, no styles, no frames, and links only to http(s), mailto and local
 * addresses. Whatever someone types, what reaches the page is inert.
 */
const allowedTags = [
  'p',
  'br',
  'hr',
  'h2',
  'h3',
  'h4',
  'strong',
  'em',
  'code',
  'pre',
  'blockquote',
  'ul',
  'ol',
  'li',
  'a',
  'table',
  'thead',
  'tbody',
  'tr',
  'th',
  'td',
  'del',
];

/**
 * Images are not shown (content carries files as attachments, checked on upload): an image written
 * in Markdown reads as its alt text instead, so the words the author gave it are not lost.
 */
const marked = new Marked({
  renderer: {
    image({ text }) {
      return escapeText(text);
    },
  },
});

function escapeText(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

export function renderMarkdown(markdown: string): string {
  const html = marked.parse(markdown, { async: false, gfm: true, breaks: false });
  const sanitised = sanitizeHtml(html, {
    allowedTags,
    allowedAttributes: { a: ['href', 'title', 'rel'], th: ['scope'], td: [], ol: ['start'] },
    allowedSchemes: ['http', 'https', 'mailto'],
    allowedSchemesAppliedToAttributes: ['href'],
    allowProtocolRelative: false,
    // Any other tag (raw HTML, a task list's checkbox) is left out and its text kept, except that
    // of scripts, styles and the like, which sanitize-html drops whole.
    disallowedTagsMode: 'discard',
    // Headings run from level 2 (the page title is the only h1) to level 4, the smallest the
    // design system styles.
    transformTags: {
      h1: 'h2',
      h5: 'h4',
      h6: 'h4',
      // A link to another site tells it nothing about the page it came from; `rel` is set here
      // only, never taken from what the author wrote.
      // A link to an address that may not be linked (tel:, javascript:, //elsewhere) loses every
      // attribute here, and then its tags below, so that its words stay.
      a: (tagName, { rel: _authorsRel, ...attributes }) => ({
        tagName,
        attribs: isLinkable(attributes.href)
          ? {
              ...attributes,
              ...(isExternal(attributes.href) ? { rel: 'noopener noreferrer' } : {}),
            }
          : {},
      }),
    },
  });
  // Only a link that may not be linked is a bare <a> in the sanitised HTML.
  return sanitised.replace(/<a>([\s\S]*?)<\/a>/g, '$1');
}

const linkableSchemes = new Set(['http', 'https', 'mailto']);

/** An http(s) or mailto address, or one on this site (a path, a fragment), not `//host/…`. */
function isLinkable(href: string | undefined): boolean {
  if (typeof href !== 'string') return false;
  // Browsers ignore tabs, newlines and leading spaces in a scheme, so they are ignored here too.
  const address = [...href].filter((character) => character > ' ').join('');
  if (address === '' || address.startsWith('//') || address.startsWith('\\')) return false;
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(address)?.[1];
  return scheme === undefined || linkableSchemes.has(scheme.toLowerCase());
}

function isExternal(href: string | undefined): boolean {
  return typeof href === 'string' && /^https?:/i.test(href);
}

/** The words of a Markdown text without markup, for search and summaries. */
export function markdownToPlainText(markdown: string): string {
  const html = marked.parse(markdown, { async: false, gfm: true });
  return sanitizeHtml(html, { allowedTags: [], allowedAttributes: {} })
    .replace(/&amp;/g, '&')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/\s+/g, ' ')
    .trim();
}
