import { CarveError } from '../../errors.js';
import { atMonolith, atService, type Client, connect } from '../../pg/connect.js';
import { isTransientError, SqlState, sqlStateOf } from '../../pg/sqlstate.js';
import { LoadStatsCollector } from './load-stats.js';
import type { LoadHandle, LoadOptions, LoadReport, LoadStats, OperationKind } from './load-types.js';
import { OPERATIONS, operationChooser } from './operation-mix.js';
import { Prng } from './prng.js';
import { readReferenceData, type ReferenceData } from './reference-data.js';
import { rewriteForDestination, type TableDestination } from './routed-tables.js';
import { TxContext, type TxRoute } from './tx-context.js';

export type { LoadHandle, LoadOptions, LoadReport, LoadStats } from './load-types.js';

interface Arrival {
  index: number;
  /** performance.now() at which it was due. */
  due: number;
}

/**
 * Run a realistic OLTP write mix against the CareSync monolith, in process, until the duration or
 * count is reached or `stop()` is called. Scheduling is open-loop: transaction k is due at
 * start + k / rate whatever happened before, and its latency is measured from that moment — a
 * slow server shows up as latency and queueing, not as a silently lower rate. Each transaction
 * draws its operation and values from its own stream of the seed.
 */
export function startLoad(options: LoadOptions): LoadHandle {
  const run = new LoadRun(validate(options));
  const done = run.start();
  done.catch(() => {}); // callers that only use stop() must not see an unhandled rejection
  return {
    done,
    stop: () => run.stop(done),
    stats: () => run.stats(),
  };
}

/** Above this a single generator process only drops what it cannot run (and the cap keeps it responsive). */
export const MAX_LOAD_RATE = 100_000;
/** Arrivals waiting for a connection, at most: beyond, they are dropped (counted), not kept in memory. */
const MAX_QUEUE = 100_000;
/**
 * After the duration, transactions still waiting for a connection get this long to start; then
 * they are dropped, so an overloaded run ends on time (transactions in flight finish).
 */
const DEADLINE_GRACE_MS = 1000;
/**
 * Service-routed mode without `awaitReverse`: runs again of an operation a monolith foreign key
 * rejected (23503), and the wait between (the reverse stream runs in another process, unobserved).
 */
const ROUTED_FK_RETRIES = 20;
const ROUTED_FK_RETRY_MS = 250;
/**
 * Service-routed mode with `awaitReverse`: how long one operation may wait in all for the reverse
 * streams (a busy machine lags seconds; the demo's budget is generous, and a wait ends as soon as
 * the streams pass the point), and how many waits it gets. Each wait proves that every service
 * row committed before the rejection is in the monolith and the operation runs again on the same
 * draws, so a second rejection means a newer parent at most (a row picked after one it found was
 * deleted meanwhile); a third is not replication lag and fails the write.
 */
export const REVERSE_WAIT_BUDGET_MS = 60_000;
export const REVERSE_WAITS = 3;
/**
 * Service-routed mode with `awaitReverse`: how long an operation whose parent is its own write in
 * a service database (a consultation in clinical_db, its prescription in the monolith while
 * pharmacy has not moved) may wait for the child's table to move (the next cutover's switch; a
 * cutover on a busy machine takes tens of seconds).
 */
export const ROUTE_WAIT_BUDGET_MS = 120_000;

interface WaitStats {
  count: number;
  timedOut: number;
  maxMs: number;
  totalMs: number;
}

function validate(
  options: LoadOptions,
): Required<Omit<LoadOptions, 'durationMs' | 'maxTransactions' | 'mix' | 'router' | 'awaitReverse'>> &
  LoadOptions {
  const problems: string[] = [];
  if (!(options.rate > 0 && options.rate <= MAX_LOAD_RATE))
    problems.push(`rate must be above 0 and at most ${MAX_LOAD_RATE} transactions/s`);
  if (options.durationMs === undefined && options.maxTransactions === undefined)
    problems.push('give a duration or a maximum count');
  if (options.durationMs !== undefined && !(options.durationMs > 0)) problems.push('duration must be > 0');
  if (options.maxTransactions !== undefined && !(options.maxTransactions > 0))
    problems.push('maximum count must be > 0');
  const connections = options.connections ?? 4;
  if (!Number.isInteger(connections) || connections < 1)
    problems.push('connections must be a positive integer');
  if (problems.length > 0) {
    throw new CarveError('DEMO_LOAD_BAD_OPTIONS', `Invalid load options: ${problems.join('; ')}`, {
      details: { problems },
      hint: 'E.g. --rate 100 --duration 60s --connections 4',
    });
  }
  return { seed: 1, statementTimeoutMs: 30_000, ...options, connections };
}

class LoadRun {
  private readonly collector = new LoadStatsCollector();
  private readonly choose;
  private readonly tag = Date.now().toString(36);
  private readonly queue: Arrival[] = [];
  private readonly idle: Client[] = [];
  private readonly clients = new Set<Client>();
  private ref: ReferenceData | undefined;
  private startedAt = 0;
  private finishedAt: number | undefined;
  private scheduled = 0;
  private dropped = 0;
  private inFlight = 0;
  private stopping = false;
  private reason: LoadReport['reason'] = 'duration';
  private timer: NodeJS.Timeout | undefined;
  private finish: (() => void) | undefined;
  private readonly maxQueue: number;
  /** Service-routed mode: idle connections per service database URL, and commits per database. */
  private readonly serviceIdle = new Map<string, Client[]>();
  private readonly byDatabase: Record<string, number> = {};
  /** Service-routed mode: operations run again, by the SQLSTATE that rejected the earlier run. */
  private readonly retries: Record<string, number> = {};
  private readonly reverseWaits: WaitStats = { count: 0, timedOut: 0, maxMs: 0, totalMs: 0 };
  private readonly routeWaits: WaitStats = { count: 0, timedOut: 0, maxMs: 0, totalMs: 0 };

  constructor(private readonly options: ReturnType<typeof validate>) {
    this.choose = operationChooser(options.mix);
    this.maxQueue = Math.min(MAX_QUEUE, Math.max(1000, Math.ceil(options.rate * 10)));
  }

  async start(): Promise<LoadReport> {
    try {
      for (let i = 0; i < this.options.connections; i++) this.idle.push(await this.open());
      this.ref = await readReferenceData(this.idle[0]!).catch((cause: unknown) => {
        if (cause instanceof CarveError) throw cause;
        throw new CarveError(
          'DEMO_LOAD_NOT_SEEDED',
          `Cannot read the CareSync reference data: ${String(cause)}`,
          {
            details: { sqlstate: sqlStateOf(cause) },
            hint: 'Seed the monolith first: carve demo seed --source URL --scale 0.01',
            cause,
          },
        );
      });
      if (this.stopping) return this.report();
      this.startedAt = performance.now();
      await new Promise<void>((resolve) => {
        this.finish = resolve;
        this.tick();
      });
      return this.report();
    } finally {
      if (this.timer) clearTimeout(this.timer);
      await Promise.all([...this.clients].map((c) => c.end().catch(() => {})));
    }
  }

  async stop(done: Promise<LoadReport>): Promise<LoadReport> {
    if (!this.stopping && this.finishedAt === undefined) {
      this.stopping = true;
      this.reason = 'stopped';
      this.dropped += this.queue.length;
      this.queue.length = 0;
      if (this.timer) clearTimeout(this.timer);
      this.maybeFinish();
    }
    return done;
  }

  stats(): LoadStats {
    const end = this.finishedAt ?? performance.now();
    const snapshot = this.collector.snapshot({
      targetRate: this.options.rate,
      elapsedSeconds: this.startedAt === 0 ? 0 : (end - this.startedAt) / 1000,
      scheduled: this.scheduled,
      dropped: this.dropped,
      inFlight: this.inFlight,
      queued: this.queue.length,
    });
    return this.options.router
      ? {
          ...snapshot,
          databases: { ...this.byDatabase },
          retries: { ...this.retries },
          ...(this.options.awaitReverse
            ? { reverseWaits: { ...this.reverseWaits }, routeWaits: { ...this.routeWaits } }
            : {}),
        }
      : snapshot;
  }

  private report(): LoadReport {
    return { ...this.stats(), reason: this.reason };
  }

  /** How many transactions are due by `now`, within the duration and count limits. */
  private dueBy(now: number): number {
    const { rate, durationMs, maxTransactions } = this.options;
    let due = Math.floor(((now - this.startedAt) / 1000) * rate) + 1;
    if (durationMs !== undefined) due = Math.min(due, Math.ceil((durationMs / 1000) * rate));
    if (maxTransactions !== undefined) due = Math.min(due, maxTransactions);
    return due;
  }

  private allScheduled(): boolean {
    return this.scheduled >= this.dueBy(Number.POSITIVE_INFINITY);
  }

  private tick(): void {
    this.timer = undefined;
    if (this.stopping) return;
    const now = performance.now();
    const target = this.dueBy(now);
    // Only as many as fit are materialised; the rest are counted as dropped in one step, so an
    // absurd backlog costs neither memory nor a long loop (which would also delay SIGINT).
    const fit = Math.max(0, Math.min(target - this.scheduled, this.maxQueue - this.queue.length));
    for (let i = 0; i < fit; i++, this.scheduled++) {
      this.queue.push({
        index: this.scheduled,
        due: this.startedAt + (this.scheduled / this.options.rate) * 1000,
      });
    }
    if (target > this.scheduled) {
      this.dropped += target - this.scheduled;
      this.scheduled = target;
    }
    this.dispatch();
    if (this.allScheduled()) {
      this.reason =
        this.options.maxTransactions !== undefined && this.scheduled >= this.options.maxTransactions
          ? 'count'
          : 'duration';
      const deadline = this.deadline();
      if (deadline !== undefined && this.queue.length > 0) {
        this.timer = setTimeout(() => this.dispatch(), Math.max(0, deadline - performance.now()));
      }
      this.maybeFinish();
      return;
    }
    const next = this.startedAt + (this.scheduled / this.options.rate) * 1000;
    this.timer = setTimeout(() => this.tick(), Math.max(1, Math.min(50, next - performance.now())));
  }

  /** When waiting transactions are dropped (with a duration): the run ends on time. */
  private deadline(): number | undefined {
    const { durationMs } = this.options;
    return durationMs === undefined ? undefined : this.startedAt + durationMs + DEADLINE_GRACE_MS;
  }

  private dispatch(): void {
    const deadline = this.deadline();
    if (deadline !== undefined && this.queue.length > 0 && performance.now() >= deadline) {
      this.dropped += this.queue.length;
      this.queue.length = 0;
      this.maybeFinish();
    }
    while (!this.stopping && this.queue.length > 0 && this.idle.length > 0) {
      const client = this.idle.pop()!;
      const arrival = this.queue.shift()!;
      this.inFlight++;
      void this.execute(client, arrival).then((next) => {
        this.inFlight--;
        if (next) this.idle.push(next);
        this.dispatch();
        this.maybeFinish();
      });
    }
  }

  private maybeFinish(): void {
    if (this.inFlight > 0 || !this.finish) return;
    if (this.stopping || (this.allScheduled() && this.queue.length === 0)) {
      this.finishedAt ??= performance.now();
      this.finish();
    }
  }

  /** Run one transaction; returns the client to reuse (a new one if the old connection broke). */
  private async execute(client: Client, arrival: Arrival): Promise<Client | undefined> {
    if (this.options.router) return this.executeRouted(client, arrival);
    const rng = new Prng(this.options.seed, arrival.index);
    const kind = this.choose(rng);
    const tx = new TxContext(client, rng, this.ref!, this.tag);
    try {
      await client.query('BEGIN');
      await OPERATIONS[kind](tx);
      await client.query('COMMIT');
      this.collector.commit(kind, tx.changes, performance.now() - arrival.due);
      for (const [table, id] of tx.newIds) {
        const range = this.ref!.ranges[table];
        range.hi = Math.max(range.hi, id);
        if (range.lo === 0) range.lo = id;
      }
      return client;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      this.collector.fail(kind, sqlStateOf(error) ?? 'client');
      if (!isTransientError(error) || sqlStateOf(error) === '40001' || sqlStateOf(error) === '40P01')
        return client;
      return this.replace(client);
    }
  }

  /**
   * Service-routed mode: each database the operation touches gets its own transaction, begun at its
   * first statement (the monolith's on `client`, a service database's on a pooled connection) and
   * committed at the end in the order first used — the transaction of an application whose
   * services own their data. If one commit fails after another succeeded, the run counts the
   * transaction as failed (its earlier part stays committed, as it would for that application).
   */
  private async executeRouted(client: Client, arrival: Arrival): Promise<Client | undefined> {
    // A row written a moment ago in a service database reaches the monolith through the reverse
    // stream (about a second later on a quiet machine, longer on a busy one): until then a monolith
    // foreign key to it rejects a write there (23503). Nothing was committed yet (the check runs at
    // the statement), so the operation is run again, as an application retrying its transaction
    // would: with `awaitReverse`, once the reverse streams have passed the moment of the rejection
    // (and on the same draws, so the same parent rows), which bounds the wait by the real lag and
    // leaves a rejection that lag does not explain failing; without it, after a short fixed wait.
    // Each run again is counted; a write still rejected at the end fails as before.
    const awaitReverse = this.options.awaitReverse;
    const draws = awaitReverse ? this.frozenRanges() : this.ref!;
    const started = performance.now();
    let reverseWaits = 0;
    for (let attempt = 1; ; attempt++) {
      const last = awaitReverse ? reverseWaits >= REVERSE_WAITS : attempt > ROUTED_FK_RETRIES;
      const outcome = await this.attemptRouted(client, arrival, draws, last, !!awaitReverse);
      if (!outcome.retry || outcome.client === undefined) return outcome.client;
      client = outcome.client;
      this.retries[SqlState.foreignKeyViolation] = (this.retries[SqlState.foreignKeyViolation] ?? 0) + 1;
      if (!awaitReverse) {
        await new Promise((resolve) => setTimeout(resolve, ROUTED_FK_RETRY_MS));
        continue;
      }
      const waitStart = performance.now();
      let passed: boolean;
      let stats: WaitStats;
      if (outcome.split !== undefined) {
        // The parent is this operation's own uncommitted write in a service database: no stream
        // can bring it; the child's table moving to its service's database (its cutover's switch)
        // can. Wait for that, within its own budget.
        stats = this.routeWaits;
        passed = await this.routeChanged(outcome.split, started + ROUTE_WAIT_BUDGET_MS);
      } else {
        stats = this.reverseWaits;
        reverseWaits++;
        passed = await awaitReverse(Math.max(0, started + REVERSE_WAIT_BUDGET_MS - waitStart)).catch(
          () => false,
        );
      }
      const waited = performance.now() - waitStart;
      stats.count++;
      stats.totalMs += waited;
      stats.maxMs = Math.max(stats.maxMs, waited);
      if (!passed) {
        stats.timedOut++;
        // The parent did not arrive in time: the write fails with its rejection.
        this.collector.fail(outcome.kind, SqlState.foreignKeyViolation);
        return client;
      }
    }
  }

  /** Whether `table` is written somewhere else than the monolith by `deadline` (performance.now()). */
  private async routeChanged(table: string, deadline: number): Promise<boolean> {
    const router = this.options.router!;
    while (router(table) === undefined) {
      if (performance.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return true;
  }

  /** The id ranges as they are now: a run again of an operation draws the same rows. */
  private frozenRanges(): ReferenceData {
    const ranges = {} as ReferenceData['ranges'];
    for (const [table, range] of Object.entries(this.ref!.ranges))
      ranges[table as keyof typeof ranges] = { ...range };
    return { ...this.ref!, ranges };
  }

  private async attemptRouted(
    client: Client,
    arrival: Arrival,
    ref: ReferenceData,
    last: boolean,
    waitsForReverse: boolean,
  ): Promise<{ client: Client | undefined; retry: boolean; kind: OperationKind; split?: string }> {
    const router = this.options.router!;
    const rng = new Prng(this.options.seed, arrival.index);
    const kind = this.choose(rng);
    const opened: { key: string; database: string; client: Client; url?: string }[] = [];
    // Where each table went in this run, and the table of the latest statement (the failing one).
    const routedTo = new Map<string, string>();
    let lastTable = '';
    const route: TxRoute = async (table, sql) => {
      const destination = router(table);
      const key = destination ? destination.url : '';
      routedTo.set(table, key);
      lastTable = table;
      let entry = opened.find((o) => o.key === key);
      if (!entry) {
        const connection = destination ? await this.serviceClient(destination) : client;
        entry = destination
          ? { key, database: destination.database, client: connection, url: destination.url }
          : { key, database: 'monolith', client: connection };
        opened.push(entry);
        await connection.query('BEGIN');
      }
      return {
        client: entry.client,
        sql: destination ? rewriteForDestination(sql, table, destination) : sql,
      };
    };
    const tx = new TxContext(client, rng, ref, this.tag, route);
    let committed = 0;
    let failure: unknown;
    try {
      await OPERATIONS[kind](tx);
      for (const entry of opened) {
        await entry.client.query('COMMIT');
        committed++;
      }
    } catch (error) {
      failure = error;
    }
    const broken = new Set<Client>();
    for (const entry of opened.slice(committed)) {
      await entry.client.query('ROLLBACK').catch(() => broken.add(entry.client));
    }
    for (const entry of opened.slice(0, committed))
      this.byDatabase[entry.database] = (this.byDatabase[entry.database] ?? 0) + 1;
    const retry =
      failure !== undefined &&
      !last &&
      committed === 0 &&
      // A wait for the reverse streams is bounded by them (they run until the load has stopped).
      (waitsForReverse || !this.stopping) &&
      sqlStateOf(failure) === SqlState.foreignKeyViolation;
    if (failure === undefined) {
      this.collector.commit(kind, tx.changes, performance.now() - arrival.due);
      for (const [table, id] of tx.newIds) {
        const range = this.ref!.ranges[table];
        range.hi = Math.max(range.hi, id);
        if (range.lo === 0) range.lo = id;
      }
    } else if (!retry) {
      this.collector.fail(kind, sqlStateOf(failure) ?? 'client');
      if (isTransientError(failure) && sqlStateOf(failure) !== '40001' && sqlStateOf(failure) !== '40P01')
        for (const entry of opened) broken.add(entry.client);
    }
    // Service connections go back to their pool (a broken one is closed; the pool reopens on demand).
    for (const entry of opened) {
      if (entry.url === undefined) continue;
      if (broken.has(entry.client)) {
        this.clients.delete(entry.client);
        await entry.client.end().catch(() => {});
      } else this.serviceIdle.get(entry.url)!.push(entry.client);
    }
    // Rejected in the monolith after this run wrote in a service database: the parent may be
    // that uncommitted write, which only the child's table moving can satisfy.
    const split =
      retry && routedTo.get(lastTable) === '' && [...tx.changes.keys()].some((t) => routedTo.get(t) !== '')
        ? lastTable
        : undefined;
    return { client: broken.has(client) ? await this.replace(client) : client, retry, kind, split };
  }

  private async serviceClient(destination: TableDestination): Promise<Client> {
    let idle = this.serviceIdle.get(destination.url);
    if (!idle) this.serviceIdle.set(destination.url, (idle = []));
    const free = idle.pop();
    if (free) return free;
    const client = await connect(atService(destination.url), {
      applicationName: 'carve demo load',
      statementTimeoutMs: this.options.statementTimeoutMs,
    });
    this.clients.add(client);
    return client;
  }

  private async replace(broken: Client): Promise<Client | undefined> {
    this.clients.delete(broken);
    await broken.end().catch(() => {});
    while (!this.stopping && this.finishedAt === undefined) {
      try {
        return await this.open();
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
    return undefined;
  }

  private async open(): Promise<Client> {
    const client = await connect(atMonolith(this.options.url), {
      applicationName: 'carve demo load',
      statementTimeoutMs: this.options.statementTimeoutMs,
    });
    this.clients.add(client);
    return client;
  }
}
