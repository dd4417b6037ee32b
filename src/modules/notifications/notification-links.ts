import { NotFoundError, GoneError } from '../../web/http-errors.ts';
import { ForbiddenError, type Actor } from '../access/policy.ts';
import { contentTypeForPath } from '../content/content-types.ts';
import type { ContentService } from '../content/content.service.ts';
import type { DiscussionService } from '../discussions/discussion.service.ts';
import type { GreenPlanService } from '../green-plans/plan.service.ts';
import type { GreenerPracticeService } from '../greener-practice/greener-practice.service.ts';
import type { LinkReadCheck } from './notification.service.ts';

/** The services whose pages notifications lead to: each is asked with the rule its page applies. */
export interface LinkedPages {
  discussions: Pick<
    DiscussionService,
    'listWorkspaces' | 'workspaceMembers' | 'workspaceFor' | 'threadPage'
  >;
  content: Pick<ContentService, 'getPage'>;
  greenPlans: Pick<GreenPlanService, 'commentSubject'>;
  greenerPractice: Pick<GreenerPracticeService, 'assertCanRead' | 'assertCanVerify'>;
}

/** Whether a page's service answered as its page would to a refused visitor (403, 404 or 410). */
function isRefusal(error: unknown): boolean {
  return (
    error instanceof NotFoundError || error instanceof ForbiddenError || error instanceof GoneError
  );
}

/** True if the page's own check lets the actor in, false if it refuses them. */
async function opens(load: () => Promise<unknown>): Promise<boolean> {
  try {
    await load();
    return true;
  } catch (error) {
    if (isRefusal(error)) return false;
    throw error;
  }
}

/**
 * Whether someone may open, now, the page a notification leads to, asked of the module that serves
 * it. Digests use it: a notification's recipient was checked when the event happened, and the
 * thread may have been hidden, or the person may have left the workspace, since. A path that none
 * of these pages is answers false, so a new kind of link is left out of digests until it is added
 * here rather than sent unchecked.
 */
export function createLinkReadCheck(pages: LinkedPages): LinkReadCheck {
  const { discussions, content, greenPlans, greenerPractice } = pages;
  return async (actor: Actor, path: string): Promise<boolean> => {
    const segments = path.split(/[?#]/, 1)[0]!.split('/').slice(1);
    const [first, second, third, fourth, ...rest] = segments;
    if (rest.length > 0 || !first) return false;

    if (first === 'notifications' && second === undefined) return true;

    if (first === 'workspaces' && second) {
      const slug = second;
      // The workspace's front page: shown to anyone who may know the workspace exists.
      if (third === undefined)
        return (await discussions.listWorkspaces(actor)).some((found) => found.slug === slug);
      if (third === 'members' && fourth === undefined)
        return opens(() => discussions.workspaceMembers(actor, slug));
      if (third === 'moderation' && fourth === undefined)
        return opens(() => discussions.workspaceFor(actor, slug, 'workspace.manage'));
      if (third === 'threads' && fourth)
        return opens(() => discussions.threadPage(actor, slug, fourth));
      return false;
    }

    if (first === 'green-plans' && second && third === 'actions' && fourth)
      return greenPlans.commentSubject.canRead(actor, fourth);

    if (first === 'greener-practice') {
      if (second === 'reviews' && third && fourth === undefined)
        return opens(() => greenerPractice.assertCanVerify(actor, third));
      if (second === 'practices' && third && (fourth === undefined || fourth === 'assessment'))
        return opens(() => greenerPractice.assertCanRead(actor, third));
      return false;
    }

    const type = contentTypeForPath(first);
    if (type && second && third === undefined)
      return opens(() => content.getPage(actor, type, second));
    return false;
  };
}
