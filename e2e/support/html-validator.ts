import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

const projectRoot = path.resolve(import.meta.dirname, '..', '..');
export const vnuJar = path.join(projectRoot, 'node_modules', 'vnu-jar', 'build', 'dist', 'vnu.jar');

interface VnuMessage {
  type: string;
  subType?: string;
  url?: string;
  message: string;
  firstLine?: number;
  lastLine?: number;
  firstColumn?: number;
  lastColumn?: number;
  extract?: string;
}

/** One problem the checker found, tied back to the page address it came from. */
export interface HtmlProblem {
  pageUrl: string;
  line: number | undefined;
  column: number | undefined;
  message: string;
  extract: string | undefined;
}

/**
 * Validates the HTML the server sends (not the DOM after scripts ran) with the W3C Nu HTML checker.
 * Pages are collected as journeys visit them and checked together in one run at the end, because
 * starting Java takes seconds. A page is either an address, fetched anonymously at the end, or a
 * document exactly as the browser received it (a signed-in page, or the page a form post answered
 * with, which fetching its address again would not reproduce).
 */
export class HtmlValidator {
  private readonly pageUrls = new Set<string>();
  private readonly documents = new Map<Promise<string>, string>();
  private checkedCount = 0;

  /** Adds a page address (absolute, on the app under test) to check; repeats are checked once. */
  add(pageUrl: string): void {
    this.pageUrls.add(withoutHash(pageUrl));
  }

  /**
   * Adds a document the browser received at `pageUrl`, as its body will be once read. The same
   * body added twice is checked once, as are identical bodies; a body that cannot be read fails the
   * check.
   */
  addDocument(pageUrl: string, html: Promise<string>): void {
    if (!this.documents.has(html)) this.documents.set(html, withoutHash(pageUrl));
  }

  /** How many pages (addresses and documents) have been added. */
  get size(): number {
    return this.pageUrls.size + this.documents.size;
  }

  /** Fetches or reads every page collected so far and returns the checker's errors; throws if it cannot run. */
  async findProblems(): Promise<HtmlProblem[]> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'greenspace-vnu-'));
    try {
      const fileToUrl = new Map<string, string>();
      const write = (label: string, html: string) => {
        const file = `page-${String(fileToUrl.size + 1).padStart(3, '0')}.html`;
        fs.writeFileSync(path.join(dir, file), html);
        fileToUrl.set(file, label);
      };
      for (const pageUrl of this.pageUrls) {
        const response = await fetch(pageUrl, { redirect: 'manual' });
        const contentType = response.headers.get('content-type') ?? '';
        if (!contentType.startsWith('text/html')) {
          throw new Error(`${pageUrl} answered ${response.status} with ${contentType}, not HTML`);
        }
        write(pageUrl, await response.text());
      }
      const seen = new Set<string>();
      const versions = new Map<string, number>();
      for (const [body, pageUrl] of this.documents) {
        let html: string;
        try {
          html = await body;
        } catch (error) {
          throw new Error(`The HTML the browser received for ${pageUrl} could not be read`, {
            cause: error,
          });
        }
        if (seen.has(`${pageUrl}\n${html}`)) continue;
        seen.add(`${pageUrl}\n${html}`);
        const version = (versions.get(pageUrl) ?? 0) + 1;
        versions.set(pageUrl, version);
        write(version === 1 ? pageUrl : `${pageUrl} (version ${version} seen there)`, html);
      }
      this.checkedCount = fileToUrl.size;
      if (fileToUrl.size === 0) return [];
      const messages = await runVnu([...fileToUrl.keys()].map((name) => path.join(dir, name)));
      return messages.map((message) => ({
        pageUrl: fileToUrl.get(path.basename(decodeURI(message.url ?? ''))) ?? message.url ?? '?',
        line: message.lastLine ?? message.firstLine,
        column: message.firstColumn,
        message: message.type === 'error' ? message.message : `${message.type}: ${message.message}`,
        extract: message.extract,
      }));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  /**
   * Throws unless every page is valid. The message gives, for each page address, each distinct
   * error with every line:column where it occurs and the markup around the first one.
   */
  async assertAllValid(): Promise<void> {
    if (this.size === 0) throw new Error('No pages were collected for HTML validation');
    const problems = await this.findProblems();
    if (problems.length > 0) {
      throw new Error(
        `The W3C Nu HTML checker found ${problems.length} error(s) in ${this.checkedCount} page(s):\n` +
          formatProblems(problems),
      );
    }
  }
}

function withoutHash(address: string): string {
  const url = new URL(address);
  url.hash = '';
  return url.toString();
}

/** Groups problems by page, then by message, so one repeated mistake reads as one entry. */
export function formatProblems(problems: HtmlProblem[]): string {
  const byPage = new Map<string, Map<string, HtmlProblem[]>>();
  for (const problem of problems) {
    const byMessage = byPage.get(problem.pageUrl) ?? new Map<string, HtmlProblem[]>();
    byPage.set(problem.pageUrl, byMessage);
    byMessage.set(problem.message, [...(byMessage.get(problem.message) ?? []), problem]);
  }
  const lines: string[] = [];
  for (const [pageUrl, byMessage] of byPage) {
    lines.push(`  ${pageUrl}`);
    for (const [message, occurrences] of byMessage) {
      const places = occurrences.map((p) => `${p.line ?? '?'}:${p.column ?? '?'}`).join(', ');
      lines.push(`    ${message}`);
      lines.push(`      at line:column ${places}`);
      const extract = occurrences[0]?.extract?.trim();
      if (extract) lines.push(`      near ${JSON.stringify(extract)}`);
    }
  }
  return lines.join('\n');
}

/** Runs vnu.jar once on the files; it prints JSON on stderr and exits 1 when it finds errors. */
async function runVnu(files: string[]): Promise<VnuMessage[]> {
  const args = ['-jar', vnuJar, '--errors-only', '--format', 'json', ...files];
  let stderr: string;
  try {
    ({ stderr } = await execFileAsync('java', args, {
      maxBuffer: 64 * 1024 * 1024,
      timeout: 120_000,
    }));
  } catch (error) {
    const failed = error as { stderr?: string; code?: unknown; message: string };
    if (failed.code !== 1 || !failed.stderr) {
      throw new Error(`The W3C Nu HTML checker did not run: ${failed.message}`);
    }
    stderr = failed.stderr;
  }
  let report: { messages?: VnuMessage[] };
  try {
    report = JSON.parse(stderr) as { messages?: VnuMessage[] };
  } catch {
    throw new Error(`The W3C Nu HTML checker printed something other than JSON:\n${stderr}`);
  }
  if (!Array.isArray(report.messages)) {
    throw new Error(`The W3C Nu HTML checker's report has no messages list:\n${stderr}`);
  }
  // --errors-only leaves errors and "non-document-error"s (a file it could not read, say).
  return report.messages.filter((message) => message.type !== 'info');
}
