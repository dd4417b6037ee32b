import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { organisationRoles, roleDefinitions } from '../access/roles.ts';

describe('roles as sentences name them', () => {
  it.each(organisationRoles)('names %s with its article and the capitals of its label', (role) => {
    const { label, inSentence } = roleDefinitions[role];
    const [article, ...rest] = inSentence.split(' ');
    const words = rest.join(' ');
    expect(words.toLowerCase()).toBe(label.toLowerCase());
    // Every role name starts with a letter sounded as it is written, so its first letter decides.
    expect(article).toBe(/^[aeiou]/i.test(words) ? 'an' : 'a');
    // Initialisms keep their capitals; other words are lower case mid-sentence.
    for (const word of label.split(' ')) {
      expect(words).toContain(word === word.toUpperCase() ? word : word.toLowerCase());
    }
  });
});

describe('the README', () => {
  it('lists every role the add-member command accepts', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const line = readme.split('\n').find((text) => text.includes('greenspace add-member'));
    expect(line).toBeDefined();
    for (const role of organisationRoles) expect(line).toContain(`\`${role}\``);
  });
});
