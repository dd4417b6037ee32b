import { describe, expect, it } from 'vitest';
import { localPathOr } from './site-path.ts';

// The rules themselves are tested through safeReturnPath (src/web/authentication.test.ts), which is
// localPathOr with `/` as the fallback.
describe('localPathOr', () => {
  it('keeps a path on this site, with its query and fragment', () => {
    expect(localPathOr('/workspaces/llr/threads/1#post-2', '/notifications')).toBe(
      '/workspaces/llr/threads/1#post-2',
    );
  });

  it('gives the fallback for anything that could leave the site', () => {
    for (const value of ['https://evil.example/', '//evil.example', '/\\evil.example', '/\t/x', 7])
      expect(localPathOr(value, '/notifications')).toBe('/notifications');
  });
});
