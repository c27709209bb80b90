import { CarveError, isCarveError } from '../errors.js';
import { openSession, type Client } from '../pg/connect.js';
import { quoteQualified } from '../pg/quote.js';
import { SqlState, sqlStateOf } from '../pg/sqlstate.js';
import { columnSequences } from '../pg/sequences.js';
import type { Routing, ServiceRoute } from '../routing/model.js';
import { describeSyncError } from './errors.js';
import type { SyncEvent } from './events.js';
import { sourceSessionUrl } from './source-session.js';

/** One target sequence and the monolith sequence whose value it follows. */
interface SequencePair {
  /** The monolith's sequence, schema-qualified and quoted. */
  source: string;
  /** The target's sequence as regclass renders it with search_path = pg_catalog (qualified). */
  target: string;
}

/** A target sequence moved forward by one pass. */
export interface CarriedSequence {
  database: string;
  sequence: string;
  /** Its last value before the pass (null: never used). */
  from: string | null;
  /** Its last value now: the monolith's. */
  to: string;
}

/** Carve's sessions name every object qualified: nothing a service can create shadows what they call. */
const PINNED = '-c search_path=pg_catalog';

/**
 * Moves every target sequence forward to the value of the monolith sequence it was created from
 * (identity, serial and nextval() defaults of owned tables, found through pg_depend on the target
 * and the catalog's column → sequence on the monolith, so renamed tables and columns match).
 *
 * Forward only, in one statement per database that compares and sets: sequences are not
 * transactional (setval cannot be rolled back) and a service that already writes its database
 * (after cutover) may be ahead of the monolith — moving it back would hand out its ids twice.
 * The monolith's value is read after the targets applied what they hold, and every row they hold
 * was committed on the monolith before, with an id drawn from that sequence: so after a pass no
 * target sequence is behind a streamed row. No margin is added: carve moves sequences again when
 * streaming stops, and cutover freezes the monolith's writes before its own sequence step, so a
 * target never needs to run ahead (a margin would only burn ids and make the two sides differ).
 */
export class SequenceCarrier {
  private pairs: Map<string, SequencePair[]> | undefined;
  private readonly clients = new Map<string, Client>();
  private running: Promise<CarriedSequence[]> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly routing: Routing,
    private readonly applicationName: string,
    private readonly emit: (event: SyncEvent) => void,
  ) {}

  /** A pass every `intervalMs` (0: none) while streaming; a failed pass is reported, the next retries. */
  start(intervalMs: number): void {
    if (intervalMs > 0) this.timer = setInterval(() => void this.report(false), intervalMs);
  }

  /**
   * Stop the periodic passes; with `final` (streaming ended cleanly: stopped or caught up), one
   * last pass, so that what the targets hold now verifies clean. Closes carve's sessions.
   */
  async stop(final: boolean): Promise<void> {
    clearInterval(this.timer);
    if (final) await this.report(true);
    await this.close();
  }

  private async report(final: boolean): Promise<void> {
    try {
      const moved = await this.carry();
      if (moved.length || final) this.emit({ type: 'sequences-carried', final, moved });
    } catch (error) {
      this.emit({ type: 'sequences-failed', final, error: describeSyncError(error) });
    }
  }

  /** One pass over every target database; passes never overlap (a second caller waits for its own). */
  async carry(): Promise<CarriedSequence[]> {
    while (this.running) await this.running.catch(() => undefined);
    this.running = this.pass();
    try {
      return await this.running;
    } finally {
      this.running = undefined;
    }
  }

  async close(): Promise<void> {
    await this.running?.catch(() => undefined);
    const clients = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(clients.map((c) => c.end().catch(() => {})));
  }

  private async pass(): Promise<CarriedSequence[]> {
    try {
      const pairs = (this.pairs ??= await this.discover());
      const sources = [...new Set([...pairs.values()].flat().map((p) => p.source))];
      if (!sources.length) return [];
      // Read after the targets applied what they hold (see the class comment).
      const { rows } = await this.query(
        'the monolith',
        this.routing.sourceUrl,
        `SELECT u.name, pg_catalog.pg_sequence_last_value(c.oid)::text AS value
           FROM unnest($1::text[]) AS u(name)
           LEFT JOIN pg_catalog.pg_class c ON c.oid = pg_catalog.to_regclass(u.name)`,
        [sources],
      );
      const values = new Map<string, string | null>(rows.map((r) => [r.name as string, r.value]));
      const moved: CarriedSequence[] = [];
      for (const service of this.routing.services) {
        const wanted = (pairs.get(service.database) ?? [])
          .map((p) => ({ target: p.target, value: values.get(p.source) ?? null }))
          .filter((p): p is { target: string; value: string } => p.value !== null);
        if (wanted.length) moved.push(...(await this.forward(service, wanted)));
      }
      return moved;
    } catch (error) {
      // A table re-created or a connection lost: look everything up again next time.
      this.pairs = undefined;
      throw error;
    }
  }

  /** Set each sequence to `value` where it is behind it; report the ones moved. */
  private async forward(
    service: ServiceRoute,
    wanted: { target: string; value: string }[],
  ): Promise<CarriedSequence[]> {
    const { rows } = await this.query(
      service.database,
      service.url,
      `WITH cur AS MATERIALIZED (
         SELECT c.oid, u.name, u.value::bigint AS value, q.seqincrement AS increment,
                pg_catalog.pg_sequence_last_value(c.oid) AS last
           FROM unnest($1::text[], $2::text[]) AS u(name, value)
           JOIN pg_catalog.pg_class c ON c.oid = pg_catalog.to_regclass(u.name)
           JOIN pg_catalog.pg_sequence q ON q.seqrelid = c.oid)
       SELECT name, last::text AS before, pg_catalog.setval(oid, value, true)::text AS after
         FROM cur
        WHERE last IS NULL OR (increment > 0 AND last < value) OR (increment < 0 AND last > value)`,
      [wanted.map((w) => w.target), wanted.map((w) => w.value)],
    );
    return rows.map((r) => ({ database: service.database, sequence: r.name, from: r.before, to: r.after }));
  }

  /** Per database, the sequences feeding owned tables' columns and their monolith counterparts. */
  private async discover(): Promise<Map<string, SequencePair[]>> {
    const result = new Map<string, SequencePair[]>();
    for (const service of this.routing.services) {
      const owned = service.tables.filter((r) => r.kind === 'owned');
      const pairs = new Map<string, SequencePair>();
      for (const route of owned) {
        const rows = await this.run(service.database, service.url, (client) =>
          columnSequences(client, route.target),
        );
        for (const { column, sequence } of rows) {
          const sourceColumn = route.columns.find((c) => c.target === column)?.source;
          const ref = route.sourceTable.columns.find((c) => c.name === sourceColumn)?.sequence;
          if (ref) pairs.set(sequence, { source: quoteQualified(ref.schema, ref.name), target: sequence });
        }
      }
      result.set(service.database, [...pairs.values()]);
    }
    return result;
  }

  private query(database: string, url: string, text: string, values: unknown[]) {
    return this.run(database, url, (client) => client.query(text, values));
  }

  /** On carve's own session to `url` (opened on first use, dropped after an error). */
  private async run<T>(database: string, url: string, fn: (client: Client) => Promise<T>): Promise<T> {
    try {
      return await this.session(url, fn);
    } catch (error) {
      throw sequenceFailure(database, error);
    }
  }

  private async session<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
    let client = this.clients.get(url);
    if (!client) {
      const withOptions = url === this.routing.sourceUrl ? sourceSessionUrl(url) : url;
      const parsed = new URL(withOptions);
      const existing = parsed.searchParams.get('options');
      parsed.searchParams.set('options', existing ? `${existing} ${PINNED}` : PINNED);
      client = await openSession(parsed.toString(), {
        applicationName: `${this.applicationName} sequences`,
        connectTimeoutMs: 5000,
        statementTimeoutMs: 10_000, // a pass must not hang on a locked sequence
      });
      this.clients.set(url, client);
    }
    try {
      return await fn(client);
    } catch (error) {
      this.clients.delete(url);
      await client.end().catch(() => {});
      throw error;
    }
  }
}

function sequenceFailure(database: string, error: unknown): CarveError {
  if (isCarveError(error)) return error;
  const sqlState = sqlStateOf(error) ?? null;
  const denied = sqlState === SqlState.insufficientPrivilege;
  return new CarveError(
    'SYNC_SEQUENCES_FAILED',
    `Moving sequences forward failed in ${database}: ${error instanceof Error ? error.message : String(error)}`,
    {
      details: { database, sqlState },
      hint: denied
        ? `Let carve's user read and set the sequences (GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA … TO it in ${database}); carve sync moves them on its next pass and when it stops.`
        : 'carve sync moves sequences again on its next pass and when it stops; carve verify names any sequence still behind, with the statement that moves it.',
      cause: error,
    },
  );
}
