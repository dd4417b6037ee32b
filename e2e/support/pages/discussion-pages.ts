import type { Locator, Page } from 'playwright-core';
import type { Visitor } from '../visitor.ts';
import { textOf, textsOf } from './text.ts';

const uuid = '[0-9a-f-]{36}';

/** The success banner a page shows after a change ("Your post has been published."), if any. */
async function noticeOn(visitor: Visitor): Promise<string | undefined> {
  const banner = visitor.page.getByRole('main').getByRole('alert');
  if ((await banner.count()) === 0) return undefined;
  return textOf(banner.locator('.nhsuk-notification-banner__content'));
}

/** /workspaces/:slug: what the workspace is, its discussions and the visitor's membership. */
export class WorkspacePage {
  constructor(
    private readonly visitor: Visitor,
    readonly slug: string,
  ) {}

  get path(): string {
    return `/workspaces/${this.slug}`;
  }

  async open(): Promise<number> {
    return this.visitor.goto(this.path);
  }

  async heading(): Promise<string> {
    return textOf(this.visitor.page.locator('main h1'));
  }

  /** The line under "About this workspace" that gives its privacy and number of members. */
  async privacyAndMembers(): Promise<string> {
    return textOf(
      this.visitor.page
        .getByRole('region', { name: 'About this workspace' })
        .locator('p.nhsuk-body-s'),
    );
  }

  /** The visitor's membership as the side panel states it ("You are a member of this workspace."). */
  async membership(): Promise<string[]> {
    return textsOf(this.visitor.page.getByRole('region', { name: 'Your membership' }).locator('p'));
  }

  /** Each discussion listed: its title (the link), the tags beside it and its first cell's text. */
  async threads(): Promise<
    { title: string; tags: string[]; href: string | null; summary: string }[]
  > {
    const table = this.visitor.page.getByRole('table', { name: /^Discussions in / });
    if ((await table.count()) === 0) return [];
    const rows = table.locator('tbody').getByRole('row');
    const listed = [];
    for (const row of await rows.all()) {
      const link = row.getByRole('link').first();
      listed.push({
        title: await textOf(link),
        tags: await textsOf(row.locator('.nhsuk-tag')),
        href: await link.getAttribute('href'),
        summary: await textOf(row.getByRole('cell').first()),
      });
    }
    return listed;
  }

  /** Follows "Start a discussion or ask a question" to the new-thread form. */
  async startDiscussion(): Promise<void> {
    await this.visitor.navigate(
      () =>
        this.visitor.page
          .getByRole('main')
          .getByRole('link', { name: 'Start a discussion or ask a question', exact: true })
          .click(),
      `${this.path}/threads/new`,
    );
  }

  /** Opens a discussion from the list by its title. */
  async openThread(title: string): Promise<void> {
    await this.visitor.navigate(
      () =>
        this.visitor.page
          .getByRole('table', { name: /^Discussions in / })
          .getByRole('link', { name: title, exact: true })
          .click(),
      (url) => new RegExp(`^${this.path}/threads/${uuid}$`).test(url.pathname),
    );
  }
}

export interface NewThread {
  title: string;
  kind: 'A question' | 'A discussion or something to share';
  /** An area of focus by name, or undefined for none. */
  area?: string;
  message: string;
}

/** /workspaces/:slug/threads/new: the form to start a discussion or ask a question. */
export class NewThreadPage {
  constructor(
    private readonly visitor: Visitor,
    readonly slug: string,
  ) {}

  async heading(): Promise<string> {
    return textOf(this.visitor.page.locator('main h1'));
  }

  private get form(): Locator {
    return this.visitor.page.locator(`main form[action="/workspaces/${this.slug}/threads"]`);
  }

  /** Fills every field by its label. */
  async fill(thread: NewThread): Promise<void> {
    const { form } = this;
    await form.getByRole('textbox', { name: 'Title', exact: true }).fill(thread.title);
    await form
      .getByRole('group', { name: 'Is this a question?' })
      .getByRole('radio', { name: thread.kind, exact: true })
      .check();
    await form
      .getByRole('combobox', { name: 'Area of focus (optional)', exact: true })
      .selectOption({ label: thread.area ?? 'None' });
    await form.getByRole('textbox', { name: 'Your message', exact: true }).fill(thread.message);
  }

  /** Presses "Preview" and waits for the form to come back with the message rendered. */
  async preview(): Promise<void> {
    await this.visitor.navigate(
      () => this.form.getByRole('button', { name: 'Preview', exact: true }).click(),
      `/workspaces/${this.slug}/threads`,
    );
  }

  /** The preview of the message, as rendered. */
  get previewRegion(): Locator {
    return this.visitor.page.getByRole('region', { name: 'Preview' });
  }

  /** What the fields hold now (after a preview, what was typed). */
  async values(): Promise<{ title: string; kind: string | undefined; message: string }> {
    const { form } = this;
    const kinds = form.getByRole('group', { name: 'Is this a question?' });
    let kind: string | undefined;
    for (const radio of await kinds.getByRole('radio').all()) {
      if (await radio.isChecked()) kind = (await radio.getAttribute('value')) ?? undefined;
    }
    return {
      title: await form.getByRole('textbox', { name: 'Title', exact: true }).inputValue(),
      kind,
      message: await form.getByRole('textbox', { name: 'Your message', exact: true }).inputValue(),
    };
  }

  /** Presses "Post" and waits for the new thread's page; returns the thread's path. */
  async post(): Promise<string> {
    await this.visitor.navigate(
      () => this.form.getByRole('button', { name: 'Post', exact: true }).click(),
      (url) =>
        new RegExp(`^/workspaces/${this.slug}/threads/${uuid}$`).test(url.pathname) &&
        url.searchParams.get('done') === 'posted',
    );
    return this.visitor.url.pathname;
  }
}

/** One post in a thread, as a reader sees it. */
export interface ShownPost {
  id: string;
  author: string;
  /** The tags beside the author ("Accepted answer", "Hidden by a moderator"). */
  tags: string[];
  /** The line that names the post: author, date and tags, as read aloud. */
  meta: string;
  text: string;
}

/** /workspaces/:slug/threads/:id: a question or discussion, its posts and the reply form. */
export class ThreadPage {
  constructor(private readonly visitor: Visitor) {}

  async heading(): Promise<string> {
    return textOf(this.visitor.page.locator('main h1'));
  }

  /** "Question in …" or "Discussion in …", above the heading. */
  async caption(): Promise<string> {
    return textOf(this.visitor.page.locator('main .nhsuk-caption-l'));
  }

  async notice(): Promise<string | undefined> {
    return noticeOn(this.visitor);
  }

  /** The line under the heading: "Answered", the area of focus and the like. */
  async summaryTags(): Promise<string> {
    return textOf(this.visitor.page.locator('main .gs-thread-tags'));
  }

  /** Every post, first (the question) to last. */
  async posts(): Promise<ShownPost[]> {
    const items = this.visitor.page.locator('main ol.gs-posts > li');
    const shown: ShownPost[] = [];
    for (const item of await items.all()) {
      const article = item.getByRole('article');
      shown.push({
        id: ((await item.getAttribute('id')) ?? '').replace(/^post-/, ''),
        author: await textOf(article.locator('.gs-post__author')),
        tags: await textsOf(article.locator('.gs-post__tag')),
        meta: await textOf(article.locator('.gs-post__meta')),
        text: await textOf(article.locator('.gs-post__body')),
      });
    }
    return shown;
  }

  /** A post's article, found by the text of its body. */
  post(text: string): Locator {
    return this.visitor.page
      .getByRole('article')
      .filter({ has: this.visitor.page.locator('.gs-post__body', { hasText: text }) });
  }

  /** What the side panel says of following the thread ("You are told about new replies."). */
  async followStatus(): Promise<string> {
    return textOf(
      this.visitor.page
        .getByRole('main')
        .getByRole('region', { name: 'Notifications', exact: true })
        .locator('p'),
    );
  }

  private get replyForm(): Locator {
    return this.visitor.page.locator('main form#reply');
  }

  get replyField(): Locator {
    return this.replyForm.getByRole('textbox', { name: 'Your reply', exact: true });
  }

  /** Whether the page offers a reply form at all. */
  async hasReplyForm(): Promise<boolean> {
    return (await this.replyForm.count()) > 0;
  }

  /** Types a reply and presses "Preview": the thread comes back with the reply rendered. */
  async previewReply(threadPath: string, body: string): Promise<void> {
    await this.replyField.fill(body);
    await this.visitor.navigate(
      () => this.replyForm.getByRole('button', { name: 'Preview', exact: true }).click(),
      `${threadPath}/replies`,
    );
  }

  /** The preview of a reply, as rendered. */
  get previewRegion(): Locator {
    return this.visitor.page.getByRole('region', { name: 'Preview' });
  }

  /**
   * Presses "Post" under the reply (typing it first when given) and waits for the thread to show
   * it; returns the new post's id, from the address's fragment.
   */
  async postReply(threadPath: string, body?: string): Promise<string> {
    if (body !== undefined) await this.replyField.fill(body);
    await this.visitor.navigate(
      () => this.replyForm.getByRole('button', { name: 'Post', exact: true }).click(),
      (url) => url.pathname === threadPath && url.searchParams.get('done') === 'posted',
    );
    const fragment = this.visitor.url.hash;
    const match = new RegExp(`^#post-(${uuid})$`).exec(fragment);
    if (!match) throw new Error(`The reply's address ends "${fragment}", not #post-<id>`);
    return match[1]!;
  }

  /** Presses "Accept this answer" under the reply by this person, and waits for the thread again. */
  async acceptAnswerBy(threadPath: string, authorName: string): Promise<void> {
    await this.visitor.navigate(
      () =>
        this.visitor.page
          .getByRole('main')
          .getByRole('button', { name: `Accept this answer by ${authorName}`, exact: true })
          .click(),
      threadPath,
    );
  }
}

/** One entry of the notifications list. */
export interface ShownNotification {
  title: string;
  /** Where a read notification's link goes; null for an unread one, opened through a form. */
  href: string | null;
  /** Where an unread notification's form posts (opening it marks it read); null once read. */
  opens: string | null;
  unread: boolean;
  /** What kind it is and when: "Mentions · 3 March 2026 at 10:04am". */
  meta: string;
}

/** /notifications: everything a person has been told, newest first, with an unread count. */
export class NotificationsPage {
  constructor(private readonly visitor: Visitor) {}

  async open(): Promise<number> {
    return this.visitor.goto('/notifications');
  }

  async heading(): Promise<string> {
    return textOf(this.visitor.page.locator('main h1'));
  }

  async notice(): Promise<string | undefined> {
    return noticeOn(this.visitor);
  }

  /** The sentence that counts the unread notifications. */
  async unreadSummary(): Promise<string> {
    const line = await textOf(this.visitor.page.locator('main h1 + p'));
    return line.replace(/ Choose what you are told about, and how often\.$/, '');
  }

  async items(): Promise<ShownNotification[]> {
    const entries = this.visitor.page.locator('main .gs-notifications > li');
    const shown: ShownNotification[] = [];
    for (const entry of await entries.all()) {
      const title = entry.locator('.gs-notification__title');
      const link = title.getByRole('link');
      const isLink = (await link.count()) > 0;
      const opener = title.getByRole('button');
      shown.push({
        title: isLink
          ? await textOf(link)
          : (await textOf(opener)).replace(/ \(opens it and marks it read\)$/, ''),
        href: isLink ? await link.getAttribute('href') : null,
        opens: isLink ? null : await title.getAttribute('action'),
        unread: (await entry.locator('.gs-notification__title .nhsuk-tag').count()) > 0,
        meta: await textOf(entry.locator('.gs-notification__meta')),
      });
    }
    return shown;
  }

  /**
   * A notification's title: a link once read, a button (opening marks it read) while unread. Found
   * within `within`, or, as a `has` filter, within whatever it filters.
   */
  private titleControl(title: string, within: Page | Locator = this.visitor.page): Locator {
    return within
      .getByRole('link', { name: title, exact: true })
      .or(
        within.getByRole('button', { name: `${title} (opens it and marks it read)`, exact: true }),
      );
  }

  /** Opens a notification: goes to what it is about, marking it read on the way. */
  async follow(title: string, to: (url: URL) => boolean): Promise<void> {
    const main = this.visitor.page.getByRole('main');
    await this.visitor.navigate(() => this.titleControl(title, main).click(), to);
  }

  async markAllAsRead(): Promise<void> {
    await this.visitor.navigate(
      () =>
        this.visitor.page.getByRole('button', { name: 'Mark all as read', exact: true }).click(),
      '/notifications?done=read',
    );
  }

  async openSettings(): Promise<void> {
    await this.visitor.navigate(
      () =>
        this.visitor.page
          .getByRole('link', { name: 'Choose what you are told about, and how often', exact: true })
          .click(),
      '/notifications/settings',
    );
  }
}

/** /notifications/settings: how often each kind of notification is emailed, and areas followed. */
export class NotificationSettingsPage {
  constructor(private readonly visitor: Visitor) {}

  async heading(): Promise<string> {
    return textOf(this.visitor.page.locator('main h1'));
  }

  private group(kind: string): Locator {
    return this.visitor.page.getByRole('main').getByRole('group', { name: kind, exact: true });
  }

  /** The option chosen for one kind ("Mentions", "Replies"…), as its label reads. */
  async chosen(kind: string): Promise<string | undefined> {
    for (const radio of await this.group(kind).getByRole('radio').all()) {
      if (await radio.isChecked()) {
        const id = await radio.getAttribute('id');
        return textOf(this.visitor.page.locator(`label[for="${id}"]`));
      }
    }
    return undefined;
  }

  async choose(kind: string, option: string): Promise<void> {
    await this.group(kind).getByRole('radio', { name: option, exact: true }).check();
  }

  /** Presses "Save settings" and waits for the notifications page it returns to. */
  async save(): Promise<void> {
    await this.visitor.navigate(
      () => this.visitor.page.getByRole('button', { name: 'Save settings', exact: true }).click(),
      '/notifications?done=settings',
    );
  }
}
