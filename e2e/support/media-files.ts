import PDFDocument from 'pdfkit';
import type { BrowserContext } from 'playwright-core';

/** A file as a journey hands it to a file field (Playwright's `setInputFiles` payload). */
export interface TestFile {
  name: string;
  mimeType: string;
  buffer: Buffer;
}

/** A one-page PDF with a title and a few lines, made the way the app makes its own PDFs. */
export async function buildPdf(name: string, title: string, lines: string[]): Promise<TestFile> {
  const doc = new PDFDocument({ size: 'A4', info: { Title: title }, lang: 'en-GB' });
  const chunks: Buffer[] = [];
  doc.on('data', (chunk: Buffer) => chunks.push(chunk));
  const finished = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  doc.font('Helvetica-Bold').fontSize(16).text(title);
  doc.font('Helvetica').fontSize(11);
  for (const line of lines) doc.moveDown(0.5).text(line);
  doc.end();
  return { name, mimeType: 'application/pdf', buffer: await finished };
}

/** A WebVTT captions file: `[start, end, text]` cues with times written `mm:ss.ttt`. */
export function buildWebVtt(name: string, cues: [string, string, string][]): TestFile {
  const body = cues.map(([start, end, text]) => `${start} --> ${end}\n${text}`).join('\n\n');
  return { name, mimeType: 'text/vtt', buffer: Buffer.from(`WEBVTT\n\n${body}\n`, 'utf8') };
}

/** What a recorded test video is, and how big its picture is. */
export interface TestVideo extends TestFile {
  contentType: 'video/mp4' | 'video/webm';
  extension: 'mp4' | 'webm';
  width: number;
  height: number;
}

/**
 * A short, real, playable video: the browser itself records a canvas whose colour changes each
 * frame, with MediaRecorder. MP4 (H.264) where this Chromium can encode it, WebM (VP8) otherwise,
 * both of which the app accepts. No encoder is needed on the machine, and nothing is downloaded.
 * The recording runs in a blank page of the visitor's own browser context, closed afterwards.
 */
export async function recordTestVideo(context: BrowserContext, frames = 24): Promise<TestVideo> {
  const width = 64;
  const height = 48;
  const page = await context.newPage();
  try {
    const recorded = await page.evaluate(
      async ({ width, height, frames }) => {
        // The project's TypeScript has no DOM library: describe the little used here.
        interface Canvas {
          width: number;
          height: number;
          getContext(kind: '2d'): {
            fillStyle: string;
            fillRect(x: number, y: number, w: number, h: number): void;
          };
          captureStream(frameRate: number): unknown;
        }
        interface Recorder {
          ondataavailable: (event: { data: unknown }) => void;
          onstop: () => void;
          start(): void;
          stop(): void;
        }
        const browser = globalThis as unknown as {
          document: { createElement(tag: 'canvas'): Canvas };
          MediaRecorder: {
            new (stream: unknown, options: { mimeType: string }): Recorder;
            isTypeSupported(type: string): boolean;
          };
          Blob: new (parts: unknown[]) => { arrayBuffer(): Promise<ArrayBuffer> };
          requestAnimationFrame(callback: () => void): void;
          btoa(binary: string): string;
        };
        const mimeType = browser.MediaRecorder.isTypeSupported('video/mp4;codecs=avc1')
          ? 'video/mp4;codecs=avc1'
          : 'video/webm;codecs=vp8';
        const canvas = browser.document.createElement('canvas');
        canvas.width = width;
        canvas.height = height;
        const drawing = canvas.getContext('2d');
        drawing.fillStyle = 'rgb(0, 94, 184)';
        drawing.fillRect(0, 0, width, height);
        const recorder = new browser.MediaRecorder(canvas.captureStream(30), { mimeType });
        const chunks: unknown[] = [];
        recorder.ondataavailable = (event) => chunks.push(event.data);
        const stopped = new Promise<void>((resolve) => (recorder.onstop = resolve));
        recorder.start();
        // One new picture per animation frame, so the recording has that many frames to encode.
        for (let frame = 0; frame < frames; frame++) {
          drawing.fillStyle = `rgb(0, ${(frame * 10) % 256}, 184)`;
          drawing.fillRect(0, 0, width, height);
          await new Promise<void>((resolve) => browser.requestAnimationFrame(resolve));
        }
        recorder.stop();
        await stopped;
        const bytes = new Uint8Array(await new browser.Blob(chunks).arrayBuffer());
        let binary = '';
        for (const byte of bytes) binary += String.fromCharCode(byte);
        return { mimeType, base64: browser.btoa(binary) };
      },
      { width, height, frames },
    );
    const contentType = recorded.mimeType.startsWith('video/mp4') ? 'video/mp4' : 'video/webm';
    const extension = contentType === 'video/mp4' ? 'mp4' : 'webm';
    return {
      name: `talk.${extension}`,
      mimeType: contentType,
      contentType,
      extension,
      buffer: Buffer.from(recorded.base64, 'base64'),
      width,
      height,
    };
  } finally {
    await page.close();
  }
}
