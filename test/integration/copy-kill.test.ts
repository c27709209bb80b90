import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { LocalCluster } from '../../src/cluster/local-cluster.js';
import { connect, withClient } from '../../src/pg/connect.js';
import { CopyLog } from '../../src/state/copy-log.js';
import { spawnCarve, runCarve, seededRandom } from '../support/carve-cli.js';
import { createDatabase, useCluster } from '../support/cluster.js';
import { provisionMigration } from '../support/copy-fixture.js';
import { differingRoutes } from '../support/route-checksums.js';

/**
 * kill -9 of `carve copy` at random moments, then `carve copy --resume`: every trial must end with
 * the targets equal to the monolith (counts and checksums), nothing lost and nothing doubled.
 */
const MONOLITH = String.raw`
CREATE TABLE accounts (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL, email text, balance numeric(12,2), opened_at timestamptz);
CREATE TABLE line_items (account_id bigint NOT NULL REFERENCES accounts, n integer NOT NULL, sku text, qty integer, PRIMARY KEY (account_id, n));
CREATE TABLE notes (id uuid PRIMARY KEY, account_id bigint REFERENCES accounts, body text);
INSERT INTO accounts (name, email, balance, opened_at)
  SELECT 'account ' || g, 'a' || g || '@example.com', (g % 10000) / 3.0, timestamptz '2020-01-01' + (g || ' minutes')::interval
    FROM generate_series(1, 40000) g;
INSERT INTO line_items SELECT 1 + g / 3, g % 3, 'sku-' || (g % 977), 1 + g % 5 FROM generate_series(0, 29999) g;
INSERT INTO notes SELECT md5(g::text)::uuid, 1 + g % 40000, repeat(md5(g::text) || ' ', 20 + g % 200) FROM generate_series(1, 3000) g;
ALTER TABLE accounts ADD CONSTRAINT accounts_email_key UNIQUE (email);
ANALYZE;
`;

function plan(sourceUrl: string, targetUrl: string, trial: number): string {
  return stringify({
    name: `kill${trial}`,
    source: sourceUrl,
    target: targetUrl,
    services: {
      ledger: {
        database: `kill${trial}_ledger`,
        tables: { accounts: {}, line_items: { columns: { quantity: { from: 'qty' } } } },
      },
      notes: { database: `kill${trial}_notes`, tables: { notes: {} } },
    },
    projections: [{ from: 'accounts', to: 'notes.account_names', columns: ['id', 'name'] }],
  });
}

let source: LocalCluster;
let target: LocalCluster;
let sourceUrl: string;
const dir = mkdtempSync(join(tmpdir(), 'carve-kill-'));

beforeAll(async () => {
  [source, target] = await Promise.all([useCluster({ name: 'kill-src' }), useCluster({ name: 'kill-dst' })]);
  sourceUrl = await createDatabase(source, 'mono');
  await withClient(sourceUrl, (c) => c.query(MONOLITH));
});

describe('carve copy killed with SIGKILL', () => {
  it('resumes to an exact copy after kill -9 at 10 random moments', async () => {
    const random = seededRandom(20261125);
    // A first, uninterrupted run tells how many events a copy emits here; each trial is killed at
    // a random one of them (or, for a few, at a random time, which can land before any event).
    let fullEvents = 0;
    {
      const { routing } = await provisionMigration(sourceUrl, plan(sourceUrl, target.url(), 0));
      const file = join(dir, 'plan0.yaml');
      writeFileSync(file, plan(sourceUrl, target.url(), 0));
      const run = await runCarve(['copy', '--plan', file, '--json', '--chunk-size', '0.05', '--jobs', '2']);
      expect(run.code, run.stderr).toBe(0);
      expect(await differingRoutes(routing)).toEqual([]);
      fullEvents = run.stdout.split('\n').filter(Boolean).length;
    }

    const phases: string[] = [];
    for (let trial = 1; trial <= 10; trial++) {
      const text = plan(sourceUrl, target.url(), trial);
      const file = join(dir, `plan${trial}.yaml`);
      writeFileSync(file, text);
      const { routing } = await provisionMigration(sourceUrl, text);
      const byTime = trial % 4 === 0;
      const killAt = byTime ? Math.round(200 + random() * 3000) : 1 + Math.floor(random() * (fullEvents - 1));
      const { child, done } = spawnCarve([
        'copy',
        '--plan',
        file,
        '--json',
        '--chunk-size',
        '0.05',
        '--jobs',
        '2',
      ]);
      let lines = 0;
      child.stdout!.on('data', (d: Buffer) => {
        lines += d.toString().split('\n').length - 1;
        if (!byTime && lines >= killAt) child.kill('SIGKILL');
      });
      const timer = byTime ? setTimeout(() => child.kill('SIGKILL'), killAt) : undefined;
      const killed = await done;
      clearTimeout(timer);
      const killAfter = byTime ? `${killAt}ms` : `event ${killAt}/${fullEvents}`;

      // What the kill left behind, as the targets record it.
      const ledger = routing.services.find((s) => s.name === 'ledger')!;
      const state = await withClient(ledger.url, async (c) => {
        const exists = (await c.query(`SELECT to_regclass('carve.copy_chunks') AS t`)).rows[0].t;
        if (!exists) return 'before-plan';
        const chunks = await new CopyLog('carve', routing.names.migration).chunks(c);
        const done = chunks.filter((x) => x.status === 'done').length;
        return done === 0 ? 'planned' : done < chunks.length ? 'mid-copy' : 'copied';
      });
      phases.push(`${killAfter}:${killed.signal ?? `exit ${killed.code}`}:${state}`);

      const resumed = await runCarve(['copy', '--plan', file, '--json', '--resume', '--jobs', '2']);
      expect(resumed.code, `trial ${trial} (${phases.at(-1)}): ${resumed.stderr}`).toBe(0);
      expect(await differingRoutes(routing), `trial ${trial} (${phases.at(-1)})`).toEqual([]);
    }
    // The kills must have hit the copy itself, not only its edges.
    expect(
      phases.filter((p) => p.includes('SIGKILL:mid-copy')).length,
      phases.join(', '),
    ).toBeGreaterThanOrEqual(3);
  }, 600_000);

  it('converges after kill -9 at 10 random moments while the monolith takes writes', async () => {
    // Writes that matter for a copy resumed under a new snapshot: unique values moving between
    // rows, parents deleted with their children, TOASTed updates, inserts. The resumed copy must
    // always finish (its unique keys and foreign keys are built on rows that agree), and the
    // stream, from the slot's start, must bring every trial to the monolith's state.
    const random = seededRandom(20261201);
    let writes = 0;
    const startLoad = () => {
      let stop = false;
      const done = (async () => {
        const c = await connect(sourceUrl);
        try {
          while (!stop) {
            const [a, b] = [1 + Math.floor(random() * 40000), 1 + Math.floor(random() * 40000)];
            const r = random();
            if (r < 0.3) {
              // Move a's email to b.
              const old = (await c.query('SELECT email FROM accounts WHERE id = $1', [a])).rows[0]?.email;
              await c.query('BEGIN');
              await c.query(`UPDATE accounts SET email = 'moved-' || gen_random_uuid() WHERE id = $1`, [a]);
              await c.query('UPDATE accounts SET email = $2 WHERE id = $1', [b, old ?? null]);
              await c.query('COMMIT');
            } else if (r < 0.5) await c.query('UPDATE accounts SET balance = balance + 1 WHERE id = $1', [a]);
            else if (r < 0.65)
              await c.query(`INSERT INTO accounts (name, email) VALUES ('new', 'new-' || gen_random_uuid())`);
            else if (r < 0.8) {
              await c.query('BEGIN');
              await c.query('DELETE FROM line_items WHERE account_id = $1', [a]);
              await c.query('DELETE FROM notes WHERE account_id = $1', [a]);
              await c.query('DELETE FROM accounts WHERE id = $1', [a]);
              await c.query('COMMIT');
            } else await c.query(`UPDATE notes SET body = body || 'more' WHERE account_id = $1`, [a % 3000]);
            writes++;
          }
        } finally {
          await c.end();
        }
      })();
      return async () => {
        stop = true;
        await done;
      };
    };

    const phases: string[] = [];
    let caughtUp = 0;
    for (let trial = 1; trial <= 10; trial++) {
      const text = plan(sourceUrl, target.url(), 100 + trial);
      const file = join(dir, `wplan${trial}.yaml`);
      writeFileSync(file, text);
      const { routing } = await provisionMigration(sourceUrl, text);
      const stopLoad = startLoad();
      try {
        const args = ['copy', '--plan', file, '--json', '--chunk-size', '0.05', '--jobs', '2'];
        const { child, done } = spawnCarve(args);
        const killAt = 2 + Math.floor(random() * 40);
        let lines = 0;
        child.stdout!.on('data', (d: Buffer) => {
          lines += d.toString().split('\n').length - 1;
          if (lines >= killAt) child.kill('SIGKILL');
        });
        const killed = await done;
        phases.push(`event ${killAt}:${killed.signal ?? `exit ${killed.code}`}`);
        // Every third trial also kills the first resume (it may be streaming up to its snapshot).
        if (trial % 3 === 0) {
          const again = spawnCarve([...args, '--resume']);
          const timer = setTimeout(() => again.child.kill('SIGKILL'), 300 + Math.floor(random() * 1500));
          const second = await again.done;
          clearTimeout(timer);
          phases[phases.length - 1] += `, resume ${second.signal ?? `exit ${second.code}`}`;
        }
        const resumed = await runCarve([...args, '--resume']);
        expect(resumed.code, `trial ${trial} (${phases.at(-1)}): ${resumed.stderr}`).toBe(0);
        if (resumed.stdout.includes('"type":"catch-up-started"')) caughtUp++;
        const before = writes;
        while (writes < before + 20) await new Promise((r) => setTimeout(r, 20)); // writes after it too
      } finally {
        await stopLoad();
      }
      const synced = await runCarve(['sync', '--plan', file, '--until-caught-up', '--json']);
      expect(synced.code, synced.stderr).toBe(0);
      expect(await differingRoutes(routing), `trial ${trial} (${phases.at(-1)})`).toEqual([]);
      const gone = await runCarve(['teardown', '--plan', file, '--yes']);
      expect(gone.code, gone.stderr).toBe(0);
    }
    expect(writes).toBeGreaterThan(200);
    // The kills hit running copies, and resumed copies had to stream up to their own snapshot.
    expect(phases.filter((p) => p.includes('SIGKILL')).length, phases.join('; ')).toBeGreaterThanOrEqual(8);
    expect(caughtUp, phases.join('; ')).toBeGreaterThanOrEqual(3);
  }, 600_000);
});
