import { columnCodec, type ColumnCodec, type ConnectSchema, type EventColumnType } from './column-codec.js';

/** One published column. */
export interface EventColumn {
  name: string;
  type: EventColumnType;
  /** Nullable in the source (Debezium: `optional`). */
  optional: boolean;
}

/** What every event of a connector-equivalent shares. */
export interface EnvelopeSettings {
  /** Debezium's topic.prefix: `source.name`, the first part of topic and schema names. */
  prefix: string;
  /** JsonConverter schemas.enable: `{"schema": …, "payload": …}` instead of the bare payload. */
  schemas: boolean;
  /** The monolith's database name (`source.db`). */
  database: string;
  /** `source.version`. */
  version: string;
}

/**
 * A value row aligned with the table's columns: text as PostgreSQL prints it, null for SQL NULL,
 * undefined for an unchanged TOAST value that was not sent (published as Debezium's placeholder).
 */
export type EventRow = readonly (string | null | undefined)[];

/** The `source` block of one event. */
export interface EventSource {
  /** Source commit time, microseconds since the epoch. */
  commitMicros: bigint;
  /** 'false' for streamed changes; 'true' / 'first' / 'last' for snapshot reads. */
  snapshot: string;
  txId: number | null;
  /** LSN as a decimal integer (Debezium publishes LSNs as int64). */
  lsn: bigint | null;
  /** Debezium's `sequence`: [last committed LSN, this LSN] as decimal strings. */
  sequence: readonly [bigint | null, bigint | null] | null;
  /** Replication origin of the source transaction, when it has one. */
  origin: string | null;
  originLsn: bigint | null;
}

export interface EventTransaction {
  id: string;
  totalOrder: number;
  dataCollectionOrder: number;
}

export interface ChangeEvent {
  op: 'c' | 'u' | 'd' | 't' | 'r';
  before: EventRow | null;
  after: EventRow | null;
  source: EventSource;
  transaction: EventTransaction | null;
  /** Processing time, microseconds since the epoch (`ts_ms`/`ts_us`/`ts_ns`). */
  nowMicros: bigint;
}

/** Kafka Connect's schema of Debezium's PostgreSQL `source` block (Debezium 3.x). */
const SOURCE_SCHEMA: ConnectSchema = {
  type: 'struct',
  fields: [
    { type: 'string', optional: false, field: 'version' },
    { type: 'string', optional: false, field: 'connector' },
    { type: 'string', optional: false, field: 'name' },
    { type: 'int64', optional: false, field: 'ts_ms' },
    {
      type: 'string',
      optional: true,
      name: 'io.debezium.data.Enum',
      version: 1,
      parameters: {
        allowed: 'true,first,first_in_data_collection,last_in_data_collection,last,false,incremental',
      },
      default: 'false',
      field: 'snapshot',
    },
    { type: 'string', optional: false, field: 'db' },
    { type: 'string', optional: true, field: 'sequence' },
    { type: 'int64', optional: true, field: 'ts_us' },
    { type: 'int64', optional: true, field: 'ts_ns' },
    { type: 'string', optional: false, field: 'schema' },
    { type: 'string', optional: false, field: 'table' },
    { type: 'int64', optional: true, field: 'txId' },
    { type: 'int64', optional: true, field: 'lsn' },
    { type: 'int64', optional: true, field: 'xmin' },
    { type: 'string', optional: true, field: 'origin' },
    { type: 'int64', optional: true, field: 'origin_lsn' },
  ],
  optional: false,
  name: 'io.debezium.connector.postgresql.Source',
  version: 1,
  field: 'source',
};

const TRANSACTION_SCHEMA: ConnectSchema = {
  type: 'struct',
  fields: [
    { type: 'string', optional: false, field: 'id' },
    { type: 'int64', optional: false, field: 'total_order' },
    { type: 'int64', optional: false, field: 'data_collection_order' },
  ],
  optional: true,
  name: 'event.block',
  version: 1,
  field: 'transaction',
};

/**
 * Debezium's PostgreSQL change-event envelope for one table, as Kafka Connect's JsonConverter
 * writes it: key = the primary-key columns; value = { before, after, source, transaction, op,
 * ts_ms, ts_us, ts_ns }. Schemas are rendered once per table; each event is one string build (no
 * intermediate objects), and integers are copied from PostgreSQL's text, so int64 stays exact.
 */
export class TableEnvelope {
  readonly codecs: ColumnCodec[];
  private readonly keyPrefix: string;
  private readonly valuePrefix: string;
  private readonly names: string[];
  private readonly sourceHead: string;
  private readonly sourceTail: string;
  private readonly sourceNames: string;

  constructor(
    readonly settings: EnvelopeSettings,
    readonly schema: string,
    readonly table: string,
    readonly columns: readonly EventColumn[],
    /** Positions in `columns` of the primary key, in key order. */
    readonly key: readonly number[],
  ) {
    this.codecs = columns.map((c) => columnCodec(c.type));
    this.names = columns.map((c) => `${JSON.stringify(c.name)}:`);
    const base = `${settings.prefix}.${schema}.${table}`;
    const field = (i: number, optional = this.columns[i]!.optional) => ({
      ...this.codecs[i]!.schema,
      optional,
      field: this.columns[i]!.name,
    });
    const keySchema = {
      type: 'struct',
      fields: key.map((i) => field(i, false)),
      optional: false,
      name: `${base}.Key`,
    };
    const row = (name: string) => ({
      type: 'struct',
      fields: columns.map((_, i) => field(i)),
      optional: true,
      name: `${base}.Value`,
      field: name,
    });
    const valueSchema = {
      type: 'struct',
      fields: [
        row('before'),
        row('after'),
        SOURCE_SCHEMA,
        TRANSACTION_SCHEMA,
        { type: 'string', optional: false, field: 'op' },
        { type: 'int64', optional: true, field: 'ts_ms' },
        { type: 'int64', optional: true, field: 'ts_us' },
        { type: 'int64', optional: true, field: 'ts_ns' },
      ],
      optional: false,
      name: `${base}.Envelope`,
      version: 2,
    };
    this.keyPrefix = settings.schemas ? `{"schema":${JSON.stringify(keySchema)},"payload":` : '';
    this.valuePrefix = settings.schemas ? `{"schema":${JSON.stringify(valueSchema)},"payload":` : '';
    this.sourceHead = `{"version":${JSON.stringify(settings.version)},"connector":"postgresql","name":${JSON.stringify(settings.prefix)},`;
    this.sourceTail = `,"db":${JSON.stringify(settings.database)}`;
    this.sourceNames = `,"schema":${JSON.stringify(schema)},"table":${JSON.stringify(table)}`;
  }

  /** The key message for key column values (in key order). */
  keyJson(keyValues: readonly (string | null)[]): string {
    let payload = '{';
    for (let k = 0; k < this.key.length; k++) {
      const i = this.key[k]!;
      const value = keyValues[k];
      if (k > 0) payload += ',';
      payload +=
        this.names[i]! + (value === null || value === undefined ? 'null' : this.codecs[i]!.json(value));
    }
    payload += '}';
    return this.settings.schemas ? `${this.keyPrefix}${payload}}` : payload;
  }

  valueJson(event: ChangeEvent): string {
    let s = `{"before":${this.rowJson(event.before)},"after":${this.rowJson(event.after)},"source":${this.sourceJson(event.source)}`;
    const t = event.transaction;
    s += `,"transaction":${t ? `{"id":${JSON.stringify(t.id)},"total_order":${t.totalOrder},"data_collection_order":${t.dataCollectionOrder}}` : 'null'}`;
    s += `,"op":"${event.op}"${this.nowJson(event.nowMicros)}}`;
    return this.settings.schemas ? `${this.valuePrefix}${s}}` : s;
  }

  // The source block is the same for every event of a source transaction and the processing time
  // for every event of a millisecond: the sink passes one EventSource object per transaction, so
  // both are rendered once (BigInt arithmetic and JSON.stringify per event cost more than the row).
  private lastSource: EventSource | undefined;
  private lastSourceJson = '';
  private lastNow = -1n;
  private lastNowJson = '';

  private sourceJson(source: EventSource): string {
    if (source === this.lastSource) return this.lastSourceJson;
    const commitMs = source.commitMicros / 1000n;
    let s = `${this.sourceHead}"ts_ms":${commitMs},"snapshot":"${source.snapshot}"${this.sourceTail}`;
    s += `,"sequence":${source.sequence ? JSON.stringify(`[${seq(source.sequence[0])},${seq(source.sequence[1])}]`) : 'null'}`;
    s += `,"ts_us":${source.commitMicros},"ts_ns":${source.commitMicros * 1000n}${this.sourceNames}`;
    s += `,"txId":${source.txId ?? 'null'},"lsn":${source.lsn ?? 'null'},"xmin":null`;
    s += `,"origin":${source.origin === null ? 'null' : JSON.stringify(source.origin)},"origin_lsn":${source.originLsn ?? 'null'}}`;
    this.lastSource = source;
    this.lastSourceJson = s;
    return s;
  }

  private nowJson(nowMicros: bigint): string {
    if (nowMicros !== this.lastNow) {
      this.lastNow = nowMicros;
      this.lastNowJson = `,"ts_ms":${nowMicros / 1000n},"ts_us":${nowMicros},"ts_ns":${nowMicros * 1000n}`;
    }
    return this.lastNowJson;
  }

  private rowJson(row: EventRow | null): string {
    if (row === null) return 'null';
    let s = '{';
    for (let i = 0; i < this.columns.length; i++) {
      if (i > 0) s += ',';
      const value = row[i];
      s +=
        this.names[i]! +
        (value === undefined
          ? this.codecs[i]!.unavailable
          : value === null
            ? 'null'
            : this.codecs[i]!.json(value));
    }
    return s + '}';
  }
}

function seq(lsn: bigint | null): string {
  return lsn === null ? 'null' : `"${lsn}"`;
}
