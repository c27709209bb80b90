import type { Command } from 'commander';
import { CarveError } from '../errors.js';
import { renderDryRunFiles, writeSqlFiles } from '../provision/dry-run.js';
import { provision } from '../provision/index.js';
import { renderProvisionScript } from '../provision/render-schema.js';
import { defaultSecretsDir, resolveRoleSecrets } from '../provision/role-secrets.js';
import { prepareRouting } from '../routing/prepare-routing.js';
import { createCliHub } from './event-hub.js';
import { numberFlag } from './flag-values.js';
import { jsonLine } from './format.js';
import { runCommand } from './run-command.js';

interface ProvisionCliOptions {
  plan: string;
  dryRun?: boolean;
  out?: string;
  withIndexes?: boolean;
  jobs: string;
  secretsDir?: string;
  json?: boolean;
}

export function registerProvisionCommand(program: Command): void {
  program
    .command('provision')
    .description('Create the service databases, roles, schema objects and grants on the target server')
    .requiredOption('--plan <file>', 'plan file (YAML)')
    .option('--dry-run', 'write the SQL files instead of touching any server (needs --out)')
    .option('--out <dir>', 'directory for the --dry-run SQL files')
    .option(
      '--with-indexes',
      'also create secondary indexes and foreign keys now (normally done after the load)',
    )
    .option('--jobs <n>', 'parallel index builds per database', '2')
    .option(
      '--secrets-dir <dir>',
      'where generated role passwords are kept (default ~/.carve/secrets/<migration>)',
    )
    .option('--json', 'print the result as JSON')
    .action((options: ProvisionCliOptions) => runCommand(options, () => run(options)));
}

async function run(options: ProvisionCliOptions): Promise<void> {
  if (options.dryRun && !options.out) {
    throw new CarveError('USAGE', '--dry-run needs --out <dir> for the SQL files', {
      hint: 'e.g. carve provision --plan plan.yaml --dry-run --out ./provision-sql',
    });
  }
  const jobs = numberFlag('--jobs', options.jobs, { min: 1, max: 1024, integer: true, example: '4' });
  const { catalog, routing } = await prepareRouting(options.plan);
  const secretsDir = options.secretsDir ?? defaultSecretsDir(routing.names.migration);

  if (options.dryRun) {
    const secrets = resolveRoleSecrets(routing.services, { secretsDir });
    const files = writeSqlFiles(
      options.out!,
      renderDryRunFiles(renderProvisionScript(catalog, routing, secrets.verifiers), routing),
    );
    if (options.json) {
      process.stdout.write(jsonLine({ ok: true, dryRun: true, files, passwordFiles: secrets.written }));
      return;
    }
    process.stdout.write(`Wrote ${files.length} SQL files (nothing was changed on any server):\n`);
    for (const f of files) process.stdout.write(`  ${f}\n`);
    for (const f of secrets.written) process.stdout.write(`New role password file (mode 0600): ${f}\n`);
    process.stdout.write(
      'Apply them in order with: psql -v ON_ERROR_STOP=1 -f <file> (post-load files after the data load).\n',
    );
    return;
  }

  const hub = createCliHub();
  hub.on('provision', (event) => {
    if (options.json) return;
    if (event.type === 'created') {
      process.stdout.write(
        `  created ${event.kind} ${event.name}${event.database ? ` in ${event.database}` : ''}\n`,
      );
    } else if (event.type === 'post-load') {
      const r = event.result;
      process.stdout.write(
        `  ${r.database}: ${r.indexes} indexes and ${r.foreignKeys} foreign keys created, ${r.present} already there\n`,
      );
    }
  });
  const result = await provision(catalog, routing, {
    secretsDir,
    withIndexes: options.withIndexes === true,
    jobs,
    onEvent: hub.emitter('provision'),
  });
  if (options.json) {
    process.stdout.write(jsonLine({ ok: true, ...result }));
    return;
  }
  for (const f of result.passwordFiles) process.stdout.write(`New role password file (mode 0600): ${f}\n`);
  process.stdout.write(
    result.created.length === 0
      ? `Nothing to do: all ${result.present} objects already exist as planned (grants re-applied).\n`
      : `Provisioned ${routing.services.length} databases: ${result.created.length} objects created, ${result.present} already present.\n`,
  );
}
