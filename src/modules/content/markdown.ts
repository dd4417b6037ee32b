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
  return sanitizeHtml(html, {
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
      a: (tagName, { rel: _authorsRel, ...attributes }) => ({
        tagName,
        attribs: {
          ...attributes,
          ...(isExternal(attributes.href) ? { rel: 'noopener noreferrer' } : {}),
        },
      }),
    },
    exclusiveFilter: (frame) => frame.tag === 'a' && !frame.attribs.href,
  });
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
