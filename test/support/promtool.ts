import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** promtool from Debian's `prometheus` package (.ci/run installs it). */
export const PROMTOOL = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((p) => existsSync(p));

export interface ToolRun {
  code: number | null;
  output: string;
}

/** Run promtool with arguments (and stdin); fails the test clearly when it is not installed. */
export function promtool(args: string[], input?: string): ToolRun {
  if (!PROMTOOL) throw new Error('promtool not found: apt-get install prometheus (.ci/run installs it)');
  const run = spawnSync(PROMTOOL, args, { input, encoding: 'utf8', timeout: 60_000 });
  return { code: run.status, output: `${run.stdout ?? ''}${run.stderr ?? ''}` };
}
