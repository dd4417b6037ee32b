import { MAX_MENTIONS_NOTIFIED } from './mentions.ts';

/**
 * What a page says after something was done in a discussion, by the `done` value the page was
 * sent to: a fixed text for each, so an address cannot put other words on the page.
 */
const notices: Record<string, string> = {
  joined: 'You have joined the workspace.',
  left: 'You have left the workspace.',
  requested:
    'You have asked to join. A manager of the workspace will decide, and you will be told.',
  followed: 'You are now following this. You will be notified of new activity.',
  unfollowed: 'You are no longer following this.',
  invited: 'The invitation has been sent.',
  decided: 'The request has been decided and the person told.',
  role: 'The role has been changed.',
  settings: 'The workspace settings have been saved.',
  accepted: 'Welcome: you are now a member of the workspace.',
  posted: 'Your post has been published.',
  'posted-mentions': `Your post has been published. Only the first ${MAX_MENTIONS_NOTIFIED} people you mentioned were notified.`,
  // A form sent twice (a second click without JavaScript, a resent page): the first request posted.
  'posted-once':
    'Your post was sent more than once and has been published once. Nobody was told of it twice.',
  edited: 'Your post has been updated.',
  reported: 'Thank you. The post has been reported to the moderators.',
  moderated: 'Done. The author has been told.',
  'thread-changed': 'Done. The discussion has been changed.',
  // Said when a decision finds things already as it asked: pressed twice, or from a page read
  // before someone else's decision.
  'thread-unchanged':
    'Nothing changed: the discussion was already as you asked. Another manager, or another page, may have changed it.',
  'already-hidden':
    'Nothing more to do: the post had already been hidden, by another moderator or from another page, and its reports are closed. Its author has not been told again.',
  'already-visible':
    'Nothing changed: the post was already visible. Another moderator, or another page, may have restored it. Its author has not been told again.',
  dismissed: 'Done. The reports on the post are closed; its author has not been told of them.',
  'no-open-reports':
    'Nothing changed: the post had no open report left to close. Another moderator, or another page, may have decided it.',
  'no-open-reports-hidden':
    'Nothing changed: the post had no open report left to close, and it has been hidden. Another moderator, or another page, may have decided it. The post stays hidden.',
};

/** The notice for a `done` value, if it is one of ours. */
export function discussionNotice(done: unknown): string | undefined {
  return typeof done === 'string' && Object.hasOwn(notices, done) ? notices[done] : undefined;
}

/**
 * What a page with comments (a content item, a plan action) shows from its `done` value: that a
 * comment was posted, with the cap when some of the people it mentioned were not notified; or
 * what became of an edit, a report or a moderator's decision on one of its comments.
 */
export function commentPostedNotice(done: unknown): {
  commentPosted: boolean;
  commentMentionsCap: number | undefined;
  commentNotice: string | undefined;
} {
  const posted = done === 'posted' || done === 'posted-mentions';
  return {
    commentPosted: posted,
    commentMentionsCap: done === 'posted-mentions' ? MAX_MENTIONS_NOTIFIED : undefined,
    commentNotice: posted ? undefined : discussionNotice(done),
  };
}
