import {
  byteaToBase64,
  dateToEpochDays,
  decimalToBase64,
  intervalToMicros,
  moneyToBase64,
  timestampToEpochMicros,
  timestampToEpochMillis,
  timestamptzToIso,
  timetzToIso,
  timeToMicros,
  variableDecimal,
} from './pg-text-values.js';

/** A column type as the encoder needs it: domains resolved to their base type, enums with labels. */
export interface EventColumnType {
  /** format_type of the (base) type, e.g. `numeric(12,2)`, `timestamp with time zone`, `text[]`. */
  base: string;
  /** The type is an enum with these labels (in sort order). */
  enumLabels?: readonly string[];
  /** For an array type: its element type. */
  element?: EventColumnType;
}

/** A Kafka Connect schema fragment (JsonConverter's rendering), without `field`. */
export type ConnectSchema = Record<string, unknown>;

/**
 * How one column's values are published: the Connect schema Debezium's PostgreSQL connector gives
 * the type (default settings: decimal.handling.mode=precise, time.precision.mode=adaptive,
 * binary.handling.mode=bytes, interval.handling.mode=numeric) and the conversion of PostgreSQL's
 * text output to the JSON value.
 */
export interface ColumnCodec {
  schema: ConnectSchema;
  /** JSON text of the value; a value the type cannot represent is published as a JSON string. */
  json(text: string): string;
  /** JSON text for an unchanged TOAST value that was not sent (Debezium's placeholder, or null). */
  unavailable: string;
}

export const UNAVAILABLE_PLACEHOLDER = '__debezium_unavailable_value';

const PLACEHOLDER_STRING = JSON.stringify(UNAVAILABLE_PLACEHOLDER);
const PLACEHOLDER_BYTES = JSON.stringify(Buffer.from(UNAVAILABLE_PLACEHOLDER).toString('base64'));

const named = (type: string, name: string, extra: ConnectSchema = {}): ConnectSchema => ({
  type,
  name,
  version: 1,
  ...extra,
});

/** A JSON number from PostgreSQL's text (integers, floats); NaN and infinities become strings. */
function number(text: string): string {
  return /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(text) ? text : JSON.stringify(text);
}

const orText = (value: string | null, text: string): string => value ?? JSON.stringify(text);
const quoted = (value: string | null, text: string): string => JSON.stringify(value ?? text);

export function columnCodec(type: EventColumnType): ColumnCodec {
  if (type.element) return arrayCodec(type.element);
  if (type.enumLabels) {
    return {
      schema: named('string', 'io.debezium.data.Enum', {
        parameters: { allowed: type.enumLabels.join(',') },
      }),
      json: (text) => JSON.stringify(text),
      unavailable: PLACEHOLDER_STRING,
    };
  }
  const base = type.base;
  const precision = /\((\d+)\)/.exec(base);
  switch (base.replace(/\(\d+(,\d+)?\)/, '')) {
    case 'boolean':
      return {
        schema: { type: 'boolean' },
        json: (t) => (t === 't' ? 'true' : 'false'),
        unavailable: 'null',
      };
    case 'smallint':
      return { schema: { type: 'int16' }, json: number, unavailable: 'null' };
    case 'integer':
      return { schema: { type: 'int32' }, json: number, unavailable: 'null' };
    case 'bigint':
    case 'oid':
      return { schema: { type: 'int64' }, json: number, unavailable: 'null' };
    case 'real':
      return { schema: { type: 'float' }, json: number, unavailable: 'null' };
    case 'double precision':
      return { schema: { type: 'double' }, json: number, unavailable: 'null' };
    case 'numeric': {
      const typmod = /^numeric\((\d+)(?:,(\d+))?\)$/.exec(base);
      if (typmod) {
        const scale = Number(typmod[2] ?? 0);
        return {
          schema: named('bytes', 'org.apache.kafka.connect.data.Decimal', {
            parameters: { scale: String(scale), 'connect.decimal.precision': typmod[1] },
          }),
          json: (t) => quoted(decimalToBase64(t, scale), t),
          unavailable: PLACEHOLDER_BYTES,
        };
      }
      return {
        schema: {
          type: 'struct',
          fields: [
            { type: 'int32', optional: false, field: 'scale' },
            { type: 'bytes', optional: false, field: 'value' },
          ],
          name: 'io.debezium.data.VariableScaleDecimal',
          version: 1,
          doc: 'Variable scaled decimal',
        },
        json: (t) => {
          const v = variableDecimal(t);
          return v ? `{"scale":${v.scale},"value":"${v.value}"}` : JSON.stringify(t);
        },
        unavailable: 'null',
      };
    }
    case 'money':
      return {
        schema: named('bytes', 'org.apache.kafka.connect.data.Decimal', {
          parameters: { scale: '2', 'connect.decimal.precision': '19' },
        }),
        json: (t) => quoted(moneyToBase64(t), t),
        unavailable: PLACEHOLDER_BYTES,
      };
    case 'uuid':
      return {
        schema: named('string', 'io.debezium.data.Uuid'),
        json: JSON.stringify,
        unavailable: PLACEHOLDER_STRING,
      };
    case 'json':
    case 'jsonb':
      return {
        schema: named('string', 'io.debezium.data.Json'),
        json: JSON.stringify,
        unavailable: PLACEHOLDER_STRING,
      };
    case 'xml':
      return {
        schema: named('string', 'io.debezium.data.Xml'),
        json: JSON.stringify,
        unavailable: PLACEHOLDER_STRING,
      };
    case 'date':
      return {
        schema: named('int32', 'io.debezium.time.Date'),
        json: (t) => orText(dateToEpochDays(t), t),
        unavailable: 'null',
      };
    case 'time without time zone': {
      // Adaptive precision: time(0..3) in milliseconds, time(4..6) and time in microseconds.
      if (precision && Number(precision[1]) <= 3) {
        return {
          schema: named('int32', 'io.debezium.time.Time'),
          json: (t) => {
            const micros = timeToMicros(t);
            return micros === null ? JSON.stringify(t) : String(Math.floor(micros / 1000));
          },
          unavailable: 'null',
        };
      }
      return {
        schema: named('int64', 'io.debezium.time.MicroTime'),
        json: (t) => {
          const micros = timeToMicros(t);
          return micros === null ? JSON.stringify(t) : String(micros);
        },
        unavailable: 'null',
      };
    }
    case 'time with time zone':
      return {
        schema: named('string', 'io.debezium.time.ZonedTime'),
        json: (t) => quoted(timetzToIso(t), t),
        unavailable: 'null',
      };
    case 'timestamp without time zone':
      if (precision && Number(precision[1]) <= 3) {
        return {
          schema: named('int64', 'io.debezium.time.Timestamp'),
          json: (t) => orText(timestampToEpochMillis(t), t),
          unavailable: 'null',
        };
      }
      return {
        schema: named('int64', 'io.debezium.time.MicroTimestamp'),
        json: (t) => orText(timestampToEpochMicros(t), t),
        unavailable: 'null',
      };
    case 'timestamp with time zone': {
      const digits = precision ? Number(precision[1]) : 6;
      // Rows written together often share a timestamp (now() is the transaction's start): the
      // last conversion is kept and reused for the same text.
      let lastText = '';
      let lastJson = '';
      return {
        schema: named('string', 'io.debezium.time.ZonedTimestamp'),
        json: (t) => {
          if (t !== lastText) {
            lastJson = quoted(timestamptzToIso(t, digits), t);
            lastText = t;
          }
          return lastJson;
        },
        unavailable: 'null',
      };
    }
    case 'interval':
      return {
        schema: named('int64', 'io.debezium.time.MicroDuration'),
        json: (t) => orText(intervalToMicros(t), t),
        unavailable: 'null',
      };
    case 'bytea':
      return {
        schema: { type: 'bytes' },
        json: (t) => JSON.stringify(byteaToBase64(t)),
        unavailable: PLACEHOLDER_BYTES,
      };
    default:
      // text, varchar, char, inet, cidr, macaddr, citext, and every type Debezium has no mapping
      // for: the text PostgreSQL prints.
      return { schema: { type: 'string' }, json: JSON.stringify, unavailable: PLACEHOLDER_STRING };
  }
}

function arrayCodec(element: EventColumnType): ColumnCodec {
  const inner = columnCodec(element);
  const encode = (value: ArrayValue): string =>
    value === null ? 'null' : Array.isArray(value) ? `[${value.map(encode).join(',')}]` : inner.json(value);
  return {
    schema: { type: 'array', items: { ...inner.schema, optional: true } },
    json: (text) => encode(parseArray(text)),
    unavailable: `[${PLACEHOLDER_STRING}]`,
  };
}

type ArrayValue = string | null | ArrayValue[];

/**
 * A PostgreSQL array literal (`{a,"b c",NULL,"d\"e"}`, nested for more dimensions, with an
 * optional `[1:2]=` bounds prefix) → nested arrays of element texts.
 */
export function parseArray(text: string): ArrayValue[] {
  let i = text.startsWith('[') ? text.indexOf('=') + 1 : 0;
  const parseLevel = (): ArrayValue[] => {
    const out: ArrayValue[] = [];
    i++; // {
    if (text[i] === '}') {
      i++;
      return out;
    }
    for (;;) {
      if (text[i] === '{') out.push(parseLevel());
      else if (text[i] === '"') {
        let value = '';
        i++;
        while (text[i] !== '"') {
          if (text[i] === '\\') i++;
          value += text[i++];
        }
        i++;
        out.push(value);
      } else {
        let end = i;
        while (text[end] !== ',' && text[end] !== '}') end++;
        const raw = text.slice(i, end).trim();
        out.push(raw === 'NULL' ? null : raw);
        i = end;
      }
      if (text[i] === ',') i++;
      else {
        i++; // }
        return out;
      }
    }
  };
  return parseLevel();
}
