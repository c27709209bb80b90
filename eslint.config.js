import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The layer rule: which folder of src/ may import which. Imports run one way, down this list:
 *
 *   src/cli/          the command line: may import everything below (never src/index.ts)
 *   src/index.ts      the library surface: re-exports the engines; nothing in src/ imports it
 *   engines           each may import the engines named beside it, and the base; never cli
 *   base              pg, catalog, state, plan, cluster and the neutral files (errors, error
 *                     catalogue, event hub, concurrency, version): never an engine, never cli
 *
 * The engines' table is what holds in the code: adding an arrow between engines is a decision,
 * made here, in one line. A folder not in the table yet is held to "never cli" until it gets its row.
 */
const BASE = ['pg', 'catalog', 'state', 'plan', 'cluster'];
const ENGINES = {
  routing: [],
  sync: ['routing'],
  copy: ['routing', 'sync'],
  verify: ['routing', 'sync'],
  provision: ['routing', 'sync'],
  events: ['routing', 'sync'],
  // reverse, cutover, backup, recover, resync: engines being added; migrate runs reverse beside forward.
  reverse: ['routing', 'sync'],
  migrate: ['routing', 'sync', 'copy', 'verify', 'provision', 'reverse', 'backup'],
  cutover: ['routing', 'sync', 'verify', 'reverse', 'migrate'],
  backup: ['routing', 'verify'],
  recover: ['routing', 'sync', 'verify', 'reverse'],
  resync: ['routing', 'sync', 'provision', 'copy'],
  observe: ['routing', 'migrate'],
  // The demo drives the whole lifecycle in one process: streams, cutover, rollback, verify, complete.
  demo: ['routing', 'copy', 'migrate', 'sync', 'verify', 'reverse', 'cutover'],
};

/** The only files that load the broker clients (dynamic import, on first use). */
const LAZY_CLIENTS = ['src/events/kafka-client.ts', 'src/events/nats-client.ts'];

/** A relative import that enters src/<folder>/, from any depth ('./x/', '../x/', '../../x/' …). */
const into = (folder, message) => ({ regex: `^(\\.{1,2}/)+${folder}/`, message });

const layerRule = (forbidden, who) => ({
  'no-restricted-imports': [
    'error',
    {
      patterns: forbidden.map((f) => into(f, `${who} does not import ${f}/ (layer rule, eslint.config.js).`)),
    },
  ],
});

const engineNames = Object.keys(ENGINES);
const layers = [
  {
    files: BASE.map((b) => `src/${b}/**/*.ts`).concat(['src/*.ts']),
    ignores: ['src/index.ts'],
    rules: layerRule([...engineNames, 'cli'], 'The base (pg, catalog, state, plan, cluster, src/*.ts)'),
  },
  ...engineNames.map((engine) => ({
    files: [`src/${engine}/**/*.ts`],
    rules: layerRule(
      engineNames.filter((e) => e !== engine && !ENGINES[engine].includes(e)).concat('cli'),
      `The ${engine} engine`,
    ),
  })),
  { files: ['src/index.ts'], rules: layerRule(['cli'], 'The library surface') },
  // A folder not in the tables yet (a new engine) is held to the one rule every engine keeps.
  {
    files: ['src/*/**/*.ts'],
    ignores: [...BASE, ...engineNames, 'cli'].map((f) => `src/${f}/**`),
    rules: layerRule(['cli'], 'An engine'),
  },
  // Nothing inside src/ imports the library surface: it only hands names on to users. The broker
  // clients are loaded when a plan uses them, through src/events/kafka-client.ts and
  // nats-client.ts (importing @platformatic/kafka costs every process ≈ 0.5 s CPU and 50 MB):
  // elsewhere only their types are imported.
  ...[1, 2, 3, 4].map((depth) => ({
    files: [`src/${'*/'.repeat(depth - 1)}*.ts`],
    ignores: ['src/index.ts', ...LAZY_CLIENTS],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: `^${depth === 1 ? '\\./' : '(\\.\\./)'.repeat(depth - 1)}index\\.js$`,
              message: 'src/index.ts is the library surface: import the module that defines the name.',
            },
            {
              group: ['@platformatic/kafka', '@nats-io/*'],
              allowTypeImports: true,
              message:
                'Broker clients are loaded on first use: import type here, and the module through src/events/kafka-client.ts or nats-client.ts.',
            },
          ],
        },
      ],
    },
  })),
];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'bench/out/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Library code reports through errors and events; only src/cli may exit the process.
      'no-process-exit': 'off',
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/cli/**'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'exit', message: 'Only src/cli/ picks exit codes.' },
      ],
    },
  },
  ...layers,
  {
    files: ['bin/**/*.js', 'test/**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', URL: 'readonly' } },
  },
);
