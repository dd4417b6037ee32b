import fs from 'node:fs/promises';
import path from 'node:path';
import nodemailer from 'nodemailer';

export interface OutgoingEmail {
  id: string;
  to: string;
  subject: string;
  text: string;
  headers?: Record<string, string>;
}

/** Something that hands a message on for delivery, or throws. */
export interface MailTransport {
  readonly description: string;
  send(email: OutgoingEmail): Promise<void>;
  close(): void;
}

/** SMTP through nodemailer. A refused connection or a 4xx/5xx reply rejects, so the queue retries. */
export function createSmtpTransport(smtpUrl: string, from: string): MailTransport {
  const transporter = nodemailer.createTransport(smtpUrl, { from });
  const url = new URL(smtpUrl);
  return {
    description: `SMTP server ${url.hostname}:${url.port || (url.protocol === 'smtps:' ? 465 : 587)}`,
    async send(email) {
      await transporter.sendMail({
        to: email.to,
        subject: email.subject,
        text: email.text,
        headers: email.headers,
        messageId: `<${email.id}@greenspace>`,
      });
    },
    close() {
      transporter.close();
    },
  };
}

export interface OutboxEntry {
  id: string;
  to: string;
  from: string;
  subject: string;
  text: string;
  writtenAt: string;
}

/**
 * With no mail server configured, messages are written to a folder: the raw message (`.eml`, which
 * any mail program opens) and a JSON copy that the outbox page lists. Outside production only.
 */
export function createOutboxTransport(outboxDir: string, from: string): MailTransport {
  const builder = nodemailer.createTransport({
    streamTransport: true,
    buffer: true,
    newline: 'unix',
  });
  return {
    description: `outbox folder ${outboxDir}`,
    async send(email) {
      await fs.mkdir(outboxDir, { recursive: true });
      const info = await builder.sendMail({
        from,
        to: email.to,
        subject: email.subject,
        text: email.text,
        headers: email.headers,
        messageId: `<${email.id}@greenspace>`,
      });
      const writtenAt = new Date().toISOString();
      const base = path.join(outboxDir, `${writtenAt.replace(/[:.]/g, '-')}-${email.id}`);
      await fs.writeFile(`${base}.eml`, info.message as Buffer);
      const entry: OutboxEntry = {
        id: email.id,
        to: email.to,
        from,
        subject: email.subject,
        text: email.text,
        writtenAt,
      };
      await fs.writeFile(`${base}.json`, JSON.stringify(entry, null, 2));
    },
    close() {},
  };
}

/** The messages in the outbox folder, newest first. */
export async function readOutbox(outboxDir: string, limit = 100): Promise<OutboxEntry[]> {
  let files: string[];
  try {
    files = (await fs.readdir(outboxDir)).filter((file) => file.endsWith('.json'));
  } catch {
    return [];
  }
  files.sort().reverse();
  const entries: OutboxEntry[] = [];
  for (const file of files.slice(0, limit)) {
    try {
      entries.push(
        JSON.parse(await fs.readFile(path.join(outboxDir, file), 'utf8')) as OutboxEntry,
      );
    } catch {
      // A half-written file from a crash: skip it rather than break the page.
    }
  }
  return entries;
}
