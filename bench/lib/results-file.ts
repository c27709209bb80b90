/**
 * bench/RESULTS.md holds one "## <Name>" section per bench; each bench rewrites only its own.
 * A "### Analysis" subsection written by hand is kept across reruns (the numbers change, the
 * explanation is edited by a person).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const ANALYSIS = '### Analysis';

export function replaceResultsSection(file: string, heading: string, body: string): void {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmark results\n';
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === heading);
  let end = lines.length;
  if (start !== -1) {
    for (let i = start + 1; i < lines.length; i++) {
      if (/^## /.test(lines[i]!)) {
        end = i;
        break;
      }
    }
  }
  const old = start === -1 ? [] : lines.slice(start, end);
  const analysisAt = old.findIndex((l) => l.trim() === ANALYSIS);
  const kept =
    analysisAt === -1 || body.includes(ANALYSIS) ? '' : `\n${old.slice(analysisAt).join('\n').trimEnd()}\n`;
  const section = `${heading}\n\n${body.trim()}\n${kept}`;
  const next =
    start === -1
      ? `${text.trimEnd()}\n\n${section}`
      : [
          ...lines.slice(0, start),
          ...section.split('\n'),
          ...(end < lines.length ? ['', ...lines.slice(end)] : []),
        ].join('\n');
  writeFileSync(file, `${next.trimEnd()}\n`);
}
