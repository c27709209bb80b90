import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const src = join(new URL('.', import.meta.url).pathname, '..', '..', 'src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/**
 * Every connection carve's engines open goes through openSession/withSession, which pin
 * search_path so that no object a service creates can stand in for a built-in (docs/security.md).
 * connect/withClient are for application-like work only: the demo's data and write load.
 */
describe("carve's sessions", () => {
  it('pin search_path: engine code never opens a plain connect()/withClient() connection', () => {
    const allowed = ['pg/connect.ts', 'demo/', 'cluster/'];
    const offenders = files(src)
      .map((path) => relative(src, path))
      .filter((file) => !allowed.some((a) => file.startsWith(a)))
      .filter((file) => {
        const text = readFileSync(join(src, file), 'utf8');
        const imports = [...text.matchAll(/import \{([^}]*)\} from '[^']*connect\.js'/g)].flatMap((m) =>
          m[1]!.split(',').map((n) => n.trim()),
        );
        return imports.includes('connect') || imports.includes('withClient');
      });
    expect(offenders).toEqual([]);
  });
});
