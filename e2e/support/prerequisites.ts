import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

/**
 * Whether a tool the journeys need is on this machine. A missing tool skips the journeys with a
 * message, unless REQUIRE_BROWSER=1 (as in CI), where it fails them: a CI run that silently skips
 * every browser test would look green while testing nothing.
 */
export interface Prerequisite {
  /** True when the tool is missing and the run does not require it: skip, visibly. */
  skip: boolean;
  /** Set when the tool is missing and the run requires it: fail with this message. */
  failure?: string;
}

const required = process.env.REQUIRE_BROWSER === '1';

export const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

function decide(tool: string, missing: string | undefined, install: string): Prerequisite {
  if (missing === undefined) return { skip: false };
  if (required) {
    return {
      skip: false,
      failure: `${missing}. REQUIRE_BROWSER=1 makes this a failure. Install it with \`${install}\`.`,
    };
  }
  console.warn(
    `\n[e2e] ${missing}: skipping ${tool}. Install it with \`${install}\`` +
      ' (set REQUIRE_BROWSER=1 to make a missing tool fail the run instead).\n',
  );
  return { skip: true };
}

function findChromium(): string | undefined {
  try {
    fs.accessSync(chromiumPath, fs.constants.X_OK);
    return undefined;
  } catch {
    return `Chromium was not found at ${chromiumPath} (set CHROMIUM_PATH to use another)`;
  }
}

function findJava(): string | undefined {
  const result = spawnSync('java', ['-version'], { stdio: 'ignore', timeout: 30_000 });
  return result.status === 0
    ? undefined
    : 'Java (`java`, needed by the W3C Nu HTML checker) was not found';
}

/** Chromium, needed by every journey. */
export const chromiumPrerequisite: Prerequisite = decide(
  'the browser journeys',
  findChromium(),
  'apt-get install chromium',
);

/** Java, needed only by the HTML validation of the pages the journeys visit. */
export const javaPrerequisite: Prerequisite = decide(
  'HTML validation',
  findJava(),
  'apt-get install default-jre-headless',
);

/** Throws the prerequisite's failure, if any; call it from a hook or test so the run fails. */
export function assertPrerequisite(prerequisite: Prerequisite): void {
  if (prerequisite.failure) throw new Error(prerequisite.failure);
}
