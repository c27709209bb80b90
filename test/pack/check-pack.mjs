#!/usr/bin/env node
// The package as a user gets it: `npm pack`, install the tarball into an empty folder (its
// dependencies come from the npm registry), then type-check and run a file that imports carve by
// name, and run the installed `carve` binary. Run with `npm run test:pack` (needs the registry).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const work = mkdtempSync(join(tmpdir(), 'carve-pack-'));
const consumer = join(work, 'consumer');
const started = Date.now();
const step = (what) => process.stdout.write(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${what}\n`);
const run = (cmd, args, cwd) =>
  execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });

try {
  step('npm pack (builds dist/ through the prepare script)');
  const [packed] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work], repo));
  const tarball = join(work, packed.filename);
  const files = packed.files.map((f) => f.path);
  for (const expected of ['dist/index.js', 'dist/index.d.ts', 'bin/carve.js', 'package.json']) {
    if (!files.includes(expected)) throw new Error(`the tarball lacks ${expected}`);
  }
  if (files.some((f) => f.startsWith('src/') || f.startsWith('test/')))
    throw new Error('the tarball ships src/ or test/');

  step(`install ${packed.filename} into an empty folder`);
  mkdirSync(consumer);
  writeFileSync(
    join(consumer, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
  );
  run(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--omit=optional',
      '--prefer-offline',
      '--loglevel=error',
      tarball,
    ],
    consumer,
  );

  step("type-check and run `import { startSync } from 'carve'`");
  writeFileSync(
    join(consumer, 'main.ts'),
    `import { startSync, parsePlan, isCarveError, errorCatalogue, type SyncOptions, type SyncEngine } from 'carve';

const start: (options: SyncOptions) => Promise<SyncEngine> = startSync;
let code = 'none';
try {
  parsePlan('name: x\\n');
} catch (error) {
  // Narrowed by code: details.problems is typed, no cast.
  if (isCarveError(error, 'PLAN_INVALID')) code = \`\${error.code}:\${error.details.problems.length}:\${errorCatalogue[error.code].exit}\`;
}
console.log(JSON.stringify({ startSync: typeof start, code }));
`,
  );
  writeFileSync(
    join(consumer, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        skipLibCheck: false,
        outDir: 'out',
        // @types/node from carve's own dev dependencies: the consumer installs nothing else.
        typeRoots: [join(repo, 'node_modules', '@types')],
        types: ['node'],
      },
      files: ['main.ts'],
    }),
  );
  run(process.execPath, [join(repo, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', consumer], consumer);
  const output = JSON.parse(run(process.execPath, [join(consumer, 'out', 'main.js')], consumer));
  if (output.startSync !== 'function' || !/^PLAN_INVALID:\d+:usage$/.test(output.code))
    throw new Error(`unexpected output ${JSON.stringify(output)}`);

  step('run the installed carve binary');
  const version = run(join(consumer, 'node_modules', '.bin', 'carve'), ['--version'], consumer).trim();
  if (version !== JSON.parse(run('npm', ['pkg', 'get', 'version'], repo)))
    throw new Error(`carve --version: ${version}`);

  step(`ok: ${packed.filename} (${files.length} files) installs, type-checks and runs`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
