import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../src/pg/connect.js';
import { minLsn, parseLsn } from '../../src/pg/lsn.js';
import { slotInfo } from '../../src/pg/replication/slot.js';
import { SyncState } from '../../src/sync/state.js';
import { waitFor } from '../support/cluster.js';
import {
  applyLogSql,
  COUNTER_MONOLITH,
  COUNTER_PLAN,
  doubleApplied,
  startCounterLoad,
} from '../support/counter-load.js';
import {
  mismatchedRoutes,
  prepareMigration,
  runCopy,
  useMigrationClusters,
  type Migration,
} from '../support/migration.js';

const repoRoot = join(new URL('.', import.meta.url).pathname, '..', '..');
const TRIALS = 12;

let m: Migration;
let planFile: string;

function startCarveSync(args: string[] = []): {
  child: ChildProcess;
  events: Record<string, unknown>[];
  exited: Promise<number | null>;
} {
  const child = spawn(
    process.execPath,
    [join(repoRoot, 'bin/carve.js'), 'sync', '--plan', planFile, '--json', ...args],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const events: Record<string, unknown>[] = [];
  let buffer = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    let at: number;
    while ((at = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, at);
      buffer = buffer.slice(at + 1);
      if (line.trim()) events.push(JSON.parse(line));
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      if (code !== null && code !== 0) process.stderr.write(`carve sync exited ${code}: ${stderr}\n`);
      resolve(code);
    }),
  );
  return { child, events, exited };
}

/** Durable positions of every target, and the slot's acknowledged position. */
async function positions(): Promise<{ min: bigint; confirmed: bigint | null }> {
  const state = new SyncState(m.routing.names.stateSchema, m.routing.names.migration);
  const lsns = await Promise.all(
    m.routing.services.map((s) => withClient(s.url, (c) => state.readPosition(c))),
  );
  const slot = await slotInfo(m.sourceUrl, m.routing.names.slot);
  return {
    min: minLsn(lsns[0]!.lsn, ...lsns.map((p) => p.lsn)),
    confirmed: slot.exists ? slot.confirmedFlushLsn : null,
  };
}

beforeAll(async () => {
  const clusters = await useMigrationClusters('sync-crash');
  m = await prepareMigration(clusters, {
    name: 'crash',
    monolithSql: COUNTER_MONOLITH,
    planBody: COUNTER_PLAN,
  });
  planFile = join(mkdtempSync(join(tmpdir(), 'carve-sync-crash-')), 'plan.yaml');
  writeFileSync(planFile, m.planText);
  for (const service of m.routing.services) {
    const tables = service.tables.filter(
      (t) => t.target.name === 'accounts' || t.target.name === 'account_owners',
    );
    await withClient(service.adminUrl, async (c) => {
      for (const t of tables) await c.query(applyLogSql(`public.${t.target.name}`));
    });
  }
});

describe('carve sync under kill -9', () => {
  it(`converges exactly, applies nothing twice and never acknowledges beyond what is durable (${TRIALS} kills)`, async () => {
    // Writes run during the copy and during every sync run and kill.
    const load = startCounterLoad(m.sourceUrl, { largeEvery: 150 });
    try {
      await runCopy(m.routing);
      for (let trial = 0; trial < TRIALS; trial++) {
        const run = startCarveSync();
        if (trial % 2 === 0) {
          await waitFor(() => run.events.some((e) => e.type === 'batch-applied' || e.type === 'lag'), {
            what: 'sync to stream',
            timeoutMs: 30_000,
          });
        }
        await new Promise((r) => setTimeout(r, 100 + Math.random() * 1500));
        run.child.kill('SIGKILL');
        await run.exited;
        const { min, confirmed } = await positions();
        // The slot may lag the targets, never lead them.
        expect(confirmed === null || confirmed <= min).toBe(true);
      }
      const before = load.committed;
      await waitFor(() => load.committed > before + 20, { what: 'more writes' });
    } finally {
      await load.stop();
    }
    expect(load.committed).toBeGreaterThan(100);
    const final = startCarveSync(['--until-caught-up']);
    expect(await final.exited).toBe(0);
    expect(final.events.some((e) => e.type === 'caught-up')).toBe(true);
    expect(await mismatchedRoutes(m.routing)).toEqual([]);
    for (const service of m.routing.services) expect(await doubleApplied(service.adminUrl)).toEqual([]);
    const { min, confirmed } = await positions();
    expect(confirmed).not.toBeNull();
    expect(confirmed! <= min).toBe(true);
    expect(parseLsn(final.events.find((e) => e.type === 'caught-up')!.lsn as string) <= min).toBe(true);
  }, 180_000);
});
