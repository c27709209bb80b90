import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { startCluster, type LocalCluster } from '../cluster/local-cluster.js';
import type { IndexBuilder } from '../copy/post-load.js';
import type { MigrateEvent, MigrateReport } from '../migrate/events.js';
import { migrate } from '../migrate/index.js';
import { withClient } from '../pg/connect.js';
import { prepareRouting } from '../routing/prepare-routing.js';
import type { LoadReport } from './load/load-types.js';
import { startLoad } from './load/start-load.js';
import { runDemoCutover, type DemoCutoverEvent, type DemoCutoverReport } from './demo-cutover.js';
import type { SeedEvent, SeedReport } from './seed/seed-types.js';
import { seedMonolith } from './seed/seed-monolith.js';

/** The CareSync plan shipped with carve. */
export const CARESYNC_PLAN = fileURLToPath(new URL('../../plans/caresync.yaml', import.meta.url));

export interface DemoOptions {
  /** CareSync scale (1 = 10M+ rows). Default sized to finish in about a minute on 2 cores. */
  scale?: number;
  seed?: number;
  /** Write transactions per second on the monolith during the whole migration. */
  loadRate?: number;
  /** Leave both clusters running at the end. */
  keep?: boolean;
  jobs?: number;
  /** Stop after migrate (no cutover, rollback or complete). */
  noCutover?: boolean;
  /** The service rolled back and cut over again (default patient). */
  rollbackService?: string;
  buildIndexes: IndexBuilder;
  onEvent?: (event: DemoEvent) => void;
  signal?: AbortSignal;
}

export const DEFAULT_DEMO_SCALE = 0.01;
export const DEFAULT_DEMO_RATE = 50;

export type DemoEvent =
  | { type: 'clusters-started'; monolithUrl: string; targetUrl: string; binaries: string }
  | { type: 'seed'; event: SeedEvent }
  | { type: 'seeded'; report: SeedReport }
  | { type: 'load-started'; rate: number }
  | { type: 'load-stopped'; report: LoadReport }
  | { type: 'migrate'; event: MigrateEvent }
  | { type: 'cutover-phase'; event: DemoCutoverEvent }
  | { type: 'cleaned-up' };

export interface DemoResult {
  report: MigrateReport;
  seed: SeedReport;
  load: LoadReport | null;
  /** The cutover phase (null with noCutover, or when migrate did not verify clean). */
  cutover: DemoCutoverReport | null;
  /** Migrate verified, and (unless noCutover) every service completed with no lost write and no unexpected load error. */
  ok: boolean;
  /** With keep: where the clusters are and how to reach them. */
  kept?: {
    monolithUrl: string;
    targetUrl: string;
    monolithDir: string;
    targetDir: string;
    secretsDir: string;
  };
}

/**
 * The demo: a throwaway monolith and target server, CareSync seeded, a write load running for the
 * whole migration, `migrate` with the shipped plan into nine databases, the load stopped, a final
 * catch-up and verify; then (unless noCutover) the cutover phase of demo-cutover.ts under a
 * service-routed load: every service cut over, one rolled back and cut over again, verified and
 * completed — then everything removed (or kept with `keep`).
 */
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const emit = options.onEvent ?? (() => {});
  const scale = options.scale ?? DEFAULT_DEMO_SCALE;
  const rate = options.loadRate ?? DEFAULT_DEMO_RATE;
  let monolith: LocalCluster | undefined;
  let target: LocalCluster | undefined;
  let load: ReturnType<typeof startLoad> | undefined;
  let loadReport: LoadReport | null = null;
  try {
    // fsync off: these clusters live for one demo; durability is not what it shows.
    [monolith, target] = await Promise.all([
      startCluster({ name: 'demo-monolith', fsync: false, keep: options.keep }),
      startCluster({ name: 'demo-services', fsync: false, keep: options.keep }),
    ]);
    const monolithUrl = monolith.url('caresync');
    const targetUrl = target.url();
    emit({
      type: 'clusters-started',
      monolithUrl,
      targetUrl,
      binaries: `${monolith.binaries.source} PostgreSQL ${monolith.binaries.major}`,
    });

    await withClient(monolith.url(), (c) => c.query('CREATE DATABASE caresync'));
    const seed = await seedMonolith({
      url: monolithUrl,
      scale,
      seed: options.seed ?? 1,
      onEvent: (event) => emit({ type: 'seed', event }),
    });
    emit({ type: 'seeded', report: seed });

    load = startLoad({
      url: monolithUrl,
      rate,
      durationMs: 24 * 3600_000,
      connections: 2,
      seed: options.seed ?? 1,
    });
    emit({ type: 'load-started', rate });
    const stopLoad = async () => {
      if (!load || loadReport) return;
      loadReport = await load.stop();
      emit({ type: 'load-stopped', report: loadReport });
    };

    const secretsDir = join(target.rootDir, 'secrets');
    const env = { MONOLITH_URL: monolithUrl, TARGET_URL: targetUrl };
    const prepared = await prepareRouting(CARESYNC_PLAN, { env });
    const report = await migrate({
      prepared,
      buildIndexes: options.buildIndexes,
      jobs: options.jobs,
      secretsDir,
      env,
      beforeVerify: stopLoad,
      onEvent: (event) => emit({ type: 'migrate', event }),
      signal: options.signal,
    });
    await stopLoad();
    let cutoverReport: DemoCutoverReport | null = null;
    if (!options.noCutover && report.ok && !options.signal?.aborted) {
      const { routing } = await prepareRouting(CARESYNC_PLAN, { env, logins: { secretsDir } });
      cutoverReport = await runDemoCutover({
        routing,
        monolithUrl,
        rate,
        seed: options.seed ?? 1,
        jobs: options.jobs,
        rollbackService: options.rollbackService,
        onEvent: (event) => emit({ type: 'cutover-phase', event }),
        signal: options.signal,
      });
    }
    const ok =
      report.ok &&
      (options.noCutover === true ||
        (cutoverReport !== null &&
          cutoverReport.verify.ok &&
          cutoverReport.failedOther === 0 &&
          cutoverReport.completed.length === prepared.routing.services.length));
    return {
      report,
      seed,
      load: loadReport,
      cutover: cutoverReport,
      ok,
      ...(options.keep
        ? {
            kept: {
              monolithUrl,
              targetUrl,
              monolithDir: monolith.rootDir,
              targetDir: target.rootDir,
              secretsDir,
            },
          }
        : {}),
    };
  } finally {
    if (load && !loadReport) await load.stop().catch(() => undefined);
    if (!options.keep) {
      await Promise.all([monolith?.destroy(), target?.destroy()]);
      emit({ type: 'cleaned-up' });
    }
  }
}
