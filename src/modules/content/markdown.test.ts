import { describe, expect, it } from 'vitest';
import { xssPayloads } from '../../../test/fixtures/xss-payloads.ts';
import { markdownToPlainText, renderMarkdown } from './markdown.ts';

describe('renderMarkdown', () => {
  it('shows small headings as the smallest heading the page allows, not as tags', () => {
    expect(renderMarkdown('##### Small heading')).toBe('<h4>Small heading</h4>\n');
    expect(renderMarkdown('###### Smaller')).toBe('<h4>Smaller</h4>\n');
    expect(renderMarkdown('# Title')).toBe('<h2>Title</h2>\n');
  });

  it('shows an image as its alt text, and a task list without checkboxes', () => {
    expect(renderMarkdown('![A wind turbine & a <field>](https://example.org/t.png "T")')).toBe(
      '<p>A wind turbine &amp; a &lt;field&gt;</p>\n',
    );
    const tasks = renderMarkdown('- [ ] Switch off\n- [x] Recycle');
    expect(tasks).not.toMatch(/input|&lt;/);
    expect(tasks).toContain('Switch off');
    expect(tasks).toContain('Recycle');
  });

  it('leaves out other tags instead of showing them as text', () => {
    expect(renderMarkdown('<div>Inside</div>')).toBe('Inside');
    expect(renderMarkdown('Before <img src="x.png" alt="raw"> after')).toBe(
      '<p>Before  after</p>\n',
    );
    expect(renderMarkdown('<details><summary>More</summary>Hidden</details>')).not.toContain(
      '&lt;',
    );
  });

  it('still removes scripts, frames, styles, event handlers and unsafe links', () => {
    const html = renderMarkdown(
      [
        '<script>alert(1)</script>',
        '<iframe src="https://example.org"></iframe>',
        '<style>p { display: none }</style>',
        '<p onclick="alert(1)" style="color: red">Click</p>',
        '[link](javascript:alert(1))',
        '<a href="https://example.org" onmouseover="alert(1)">ok</a>',
        '<svg onload="alert(1)"><circle /></svg>',
      ].join('\n\n'),
    );
    expect(html).not.toMatch(/<script|<iframe|<style|<svg|<img|\son\w+=|style=|javascript:/i);
    expect(html).not.toContain('alert(1)</');
    expect(html).toContain('<p>Click</p>');
    expect(html).toContain('<a href="https://example.org" rel="noopener noreferrer">ok</a>');
  });

  it('keeps the words of a link to an address that may not be linked, without the link', () => {
    expect(
      renderMarkdown('Call [the helpline](tel:0123) or join on [Teams](msteams://x) today.'),
    ).toBe('<p>Call the helpline or join on Teams today.</p>\n');
    expect(renderMarkdown('[click](javascript:alert(1)) and [away](//example.org/x)')).toBe(
      '<p>click and away</p>\n',
    );
    expect(renderMarkdown('<a>no address</a>')).toBe('<p>no address</p>\n');
    expect(renderMarkdown('[mail us](mailto:green@example.nhs.uk)')).toBe(
      '<p><a href="mailto:green@example.nhs.uk">mail us</a></p>\n',
    );
    expect(renderMarkdown('[below](#contact)')).toBe('<p><a href="#contact">below</a></p>\n');
  });

  it('marks links to other sites noopener noreferrer, and keeps no rel an author wrote', () => {
    expect(renderMarkdown('[NHS England](https://www.england.nhs.uk/greenernhs/)')).toBe(
      '<p><a href="https://www.england.nhs.uk/greenernhs/" rel="noopener noreferrer">NHS England</a></p>\n',
    );
    expect(renderMarkdown('[Our plan](/plans/1)')).toBe('<p><a href="/plans/1">Our plan</a></p>\n');
    expect(renderMarkdown('<a href="/plans/1" rel="opener">Ours</a>')).toBe(
      '<p><a href="/plans/1">Ours</a></p>\n',
    );
    expect(renderMarkdown('<a href="https://example.org" rel="opener">Theirs</a>')).toContain(
      'rel="noopener noreferrer"',
    );
  });

  it(`renders ${xssPayloads.length} attack payloads without any active markup`, () => {
    for (const payload of xssPayloads) {
      const html = renderMarkdown(payload);
      expect(html, payload).not.toMatch(
        /<(script|iframe|object|embed|svg|math|img|input|form|style|link|meta|base)\b/i,
      );
      expect(html, payload).not.toMatch(/<[^>]+\s(on\w+|style|srcdoc|formaction)\s*=/i);
      expect(html, payload).not.toMatch(/href="\s*(javascript|data|vbscript):/i);
    }
  });
});

describe('markdownToPlainText', () => {
  it('keeps an image’s alt text for search', () => {
    expect(markdownToPlainText('See ![solar panels](x.png) here')).toBe('See solar panels here');
  });
});
