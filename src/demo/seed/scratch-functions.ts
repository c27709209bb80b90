import { quoteLiteral } from '../../pg/quote.js';
import { CARESYNC_ACTIVITY_END, CARESYNC_ACTIVITY_START, epochSeconds } from '../date-range.js';
import { textArray } from './sql-literals.js';
import {
  BEDS_PER_WARD,
  DEPARTMENTS_PER_HOSPITAL,
  PAID_CLAIM_DIGITS,
  SYSTEM_CODE_SPLIT,
  type Volumes,
} from './volumes.js';
import * as words from './word-lists.js';

/**
 * The generator's vocabulary of SQL functions, created in a scratch schema for the run and
 * dropped at the end. Every pseudo-random value is a pure function of (seed, tag, row number):
 * no random(), so the order rows are produced in never changes the data. The functions are
 * single-expression IMMUTABLE SQL functions, which PostgreSQL inlines into the INSERT … SELECT
 * (and constant-folds the per-tag hash), so they cost no more than writing the expressions out.
 * Derived parents (a prescription's consultation, that consultation's patient …) are functions
 * too, so every foreign key is valid by construction without joining to the parent table.
 */

export const SCRATCH_SCHEMA = 'carve_demo_seed';

/** Appointments and slots run half a year past the activity end: some are still upcoming. */
export const APPOINTMENTS_END = '2025-07-01 00:00:00+00';

const epoch = epochSeconds;

function fn(signature: string, returns: string, body: string): string {
  return `CREATE FUNCTION sd.${signature} RETURNS ${returns} LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$ SELECT ${body} $fn$`;
}

/** Numbers the SQL reads through sd.n(key): table sizes plus a few derived constants. */
export function scratchConstants(volumes: Volumes): Record<string, number> {
  const apptSpan = epoch(APPOINTMENTS_END) - epoch(CARESYNC_ACTIVITY_START);
  const perSlot = Math.floor(apptSpan / volumes.availability_slots!);
  return {
    ...volumes,
    // Slots of one staff member must not share a start: one distinct start per slot.
    slot_step: perSlot >= 60 ? Math.floor(perSlot / 60) * 60 : Math.max(1, perSlot),
    // Appointments book the latest slots, so that some are still upcoming.
    appt_span: apptSpan,
    slot_offset: Math.max(0, volumes.availability_slots! - volumes.appointments!),
  };
}

export function scratchFunctionsDdl(seed: number, volumes: Volumes): string[] {
  const constants = scratchConstants(volumes);
  const seedSql = `${BigInt(seed)}::bigint`;
  const seedText = quoteLiteral(`${seed}`);
  const t0 = epoch(CARESYNC_ACTIVITY_START);
  const span = epoch(CARESYNC_ACTIVITY_END) - t0;
  const cases = Object.entries(constants)
    .map(([key, value]) => `WHEN ${quoteLiteral(key)} THEN ${Math.trunc(value)}::bigint`)
    .join(' ');
  const allergens = words.ALLERGENS.map((a) => a.split(':'));
  const vaccines = words.VACCINES.map((v) => v.split(':'));
  const { icd10, cpt } = SYSTEM_CODE_SPLIT;
  return [
    `CREATE SCHEMA sd`,
    fn('n(key text)', 'bigint', `CASE key ${cases} END`),
    // 63-bit hash and [0,1) uniform of (seed, tag, n); the tag's hash folds to a constant.
    fn(
      'h(tag text, n bigint)',
      'bigint',
      `hashint8extended(n, hashtextextended(tag, ${seedSql})) & 9223372036854775807`,
    ),
    fn(
      'u(tag text, n bigint)',
      'double precision',
      `((hashint8extended(n, hashtextextended(tag, ${seedSql})) >> 11) & 9007199254740991)::float8 / 9007199254740992.0`,
    ),
    fn('pick(tag text, n bigint, cnt bigint)', 'bigint', `1 + sd.h(tag, n) % cnt`),
    fn('between(tag text, n bigint, lo bigint, hi bigint)', 'bigint', `lo + sd.h(tag, n) % (hi - lo + 1)`),
    fn('chance(tag text, n bigint, p double precision)', 'boolean', `sd.u(tag, n) < p`),
    fn('choose(tag text, n bigint, arr text[])', 'text', `arr[(1 + sd.h(tag, n) % cardinality(arr))::int]`),
    fn('hex(tag text, n bigint)', 'text', `md5(${seedText} || ':' || tag || ':' || n::text)`),
    fn(
      'uid(tag text, n bigint)',
      'uuid',
      `overlay(overlay(sd.hex(tag, n) placing '4' from 13) placing '8' from 17)::uuid`,
    ),
    fn(
      'money(tag text, n bigint, lo numeric, hi numeric)',
      'numeric',
      `round(lo + (hi - lo) * sd.u(tag, n)::numeric, 2)`,
    ),
    fn(
      'phone(tag text, n bigint)',
      'text',
      `'+1-' || (200 + sd.h(tag, n) % 790)::text || '-555-' || lpad(((sd.h(tag, n) >> 16) % 10000)::text, 4, '0')`,
    ),
    // Time: epoch seconds (bigint) until the last step, which makes a timestamptz or a date.
    fn('t0()', 'bigint', `${t0}::bigint`),
    fn('span()', 'bigint', `${span}::bigint`),
    fn('ts(e bigint)', 'timestamptz', `to_timestamp(e::float8)`),
    fn('day(e bigint)', 'date', `DATE '1970-01-01' + (e / 86400)::int`),
    fn('at(tag text, n bigint)', 'bigint', `sd.t0() + (sd.u(tag, n) * sd.span())::bigint`),
    // The n-th of cnt events in time order: later rows are later in time, as in real tables.
    fn(
      'spread_at(tag text, n bigint, cnt bigint)',
      'bigint',
      `sd.t0() + floor((n - 1 + sd.u(tag, n)) * sd.span() / cnt)::bigint`,
    ),
    // The parent of child n of cnt children spread over parents 1..parents, in the same order.
    fn(
      'spread(tag text, n bigint, cnt bigint, parents bigint)',
      'bigint',
      `least(parents, 1 + floor((n - 1 + 4 * sd.u(tag, n)) * parents / cnt)::bigint)`,
    ),
    fn(
      'first_name(tag text, n bigint, female boolean)',
      'text',
      `CASE WHEN female THEN (${textArray(words.FEMALE_FIRST_NAMES)})[(1 + sd.h(tag, n) % ${words.FEMALE_FIRST_NAMES.length})::int]
            ELSE (${textArray(words.MALE_FIRST_NAMES)})[(1 + sd.h(tag, n) % ${words.MALE_FIRST_NAMES.length})::int] END`,
    ),
    fn('last_name(tag text, n bigint)', 'text', `sd.choose(tag, n, ${textArray(words.LAST_NAMES)})`),
    fn('city_index(tag text, n bigint)', 'int', `(1 + sd.h(tag, n) % ${words.CITIES.length})::int`),
    fn('city(i int)', 'text', `(${textArray(words.CITIES)})[i]`),
    fn('state(i int)', 'text', `(${textArray(words.STATES)})[i]`),
    fn('email_local(a text, b text)', 'text', `lower(regexp_replace(a || '.' || b, '[^A-Za-z.]', '', 'g'))`),
    // Staff ids encode their type in the last digit (see word-lists STAFF_TYPES): picking a
    // physician is picking an id ending in 1..3, with no lookup.
    fn(
      'staff(tag text, n bigint, r0 int, nres int)',
      'bigint',
      `10 * ((sd.h(tag, n) >> 8) % ((sd.n('hospital_staff') - (r0 + nres - 1)) / 10 + 1)) + r0 + sd.h(tag, n) % nres`,
    ),
    fn('physician(tag text, n bigint)', 'bigint', `sd.staff(tag, n, 1, 3)`),
    fn('nurse(tag text, n bigint)', 'bigint', `sd.staff(tag, n, 4, 3)`),
    fn('pharmacist(tag text, n bigint)', 'bigint', `sd.staff(tag, n, 7, 1)`),
    fn('lab_technician(tag text, n bigint)', 'bigint', `sd.staff(tag, n, 8, 1)`),
    fn('staff_type(s bigint)', 'text', `(${textArray(words.STAFF_TYPES)})[(1 + (s - 1) % 10)::int]`),
    fn('staff_hospital(s bigint)', 'bigint', `sd.pick('staff.hospital', s, sd.n('hospitals'))`),
    fn(
      'staff_department(s bigint)',
      'bigint',
      `(sd.staff_hospital(s) - 1) * ${DEPARTMENTS_PER_HOSPITAL} + sd.pick('staff.department', s, ${DEPARTMENTS_PER_HOSPITAL})`,
    ),
    fn('department_hospital(d bigint)', 'bigint', `(d - 1) / ${DEPARTMENTS_PER_HOSPITAL} + 1`),
    fn('patient_female(p bigint)', 'boolean', `sd.u('patient.sex', p) < 0.505`),
    fn(
      'patient_sex(p bigint)',
      'text',
      `CASE WHEN sd.u('patient.sex', p) < 0.505 THEN 'female' WHEN sd.u('patient.sex', p) < 0.99 THEN 'male'
            WHEN sd.u('patient.sex', p) < 0.993 THEN 'intersex' ELSE 'unknown' END`,
    ),
    // Visits are skewed: 40% go to the 10% chronic patients (ids ending in 0), themselves
    // skewed so that some have dozens of visits; the rest are spread evenly.
    fn(
      'skewed_patient(tag text, n bigint)',
      'bigint',
      `CASE WHEN sd.n('patients') >= 10 AND sd.u(tag || '.tier', n) < 0.4
            THEN 10 * (1 + floor((sd.n('patients') / 10) * sd.u(tag, n) ^ 2)::bigint)
            ELSE 1 + floor(sd.n('patients') * sd.u(tag, n))::bigint END`,
    ),
    fn('cons_patient(c bigint)', 'bigint', `sd.skewed_patient('cons.patient', c)`),
    fn('cons_staff(c bigint)', 'bigint', `sd.physician('cons.staff', c)`),
    fn('cons_at(c bigint)', 'bigint', `sd.spread_at('cons.at', c, sd.n('consultations'))`),
    fn(
      'presc_cons(p bigint)',
      'bigint',
      `sd.spread('presc.cons', p, sd.n('prescriptions'), sd.n('consultations'))`,
    ),
    fn(
      'order_cons(o bigint)',
      'bigint',
      `sd.spread('order.cons', o, sd.n('lab_orders'), sd.n('consultations'))`,
    ),
    fn('inv_cons(i bigint)', 'bigint', `sd.spread('inv.cons', i, sd.n('invoices'), sd.n('consultations'))`),
    fn('spec_order(s bigint)', 'bigint', `sd.spread('spec.order', s, sd.n('specimens'), sd.n('lab_orders'))`),
    fn('icd(tag text, n bigint)', 'bigint', `sd.pick(tag, n, ${icd10})`),
    fn('cpt(tag text, n bigint)', 'bigint', `${icd10} + sd.pick(tag, n, ${cpt})`),
    fn(
      'code_description(id bigint)',
      'text',
      `CASE WHEN id <= ${icd10}
              THEN (${textArray(words.CONDITIONS)})[(1 + (id - 1) % ${words.CONDITIONS.length})::int] ||
                   (${textArray(words.CONDITION_QUALIFIERS)})[(1 + ((id - 1) / ${words.CONDITIONS.length}) % ${words.CONDITION_QUALIFIERS.length})::int]
            WHEN id <= ${icd10 + cpt}
              THEN (${textArray(words.PROCEDURES)})[(1 + (id - 1) % ${words.PROCEDURES.length})::int]
            ELSE (${textArray(words.LAB_TESTS)})[(1 + (id - 1) % ${words.LAB_TESTS.length})::int] END`,
    ),
    fn(
      'med_generic(m bigint)',
      'text',
      `(${textArray(words.MEDICATIONS)})[(1 + (m - 1) % ${words.MEDICATIONS.length})::int]`,
    ),
    fn('med_form(m bigint)', 'text', `sd.choose('med.form', m, ${textArray(words.MEDICATION_FORMS)})`),
    fn(
      'med_strength(m bigint)',
      'text',
      `sd.choose('med.strength', m, ${textArray(words.MEDICATION_STRENGTHS)})`,
    ),
    fn(
      'lab_test_name(t bigint)',
      'text',
      `(${textArray(words.LAB_TESTS)})[(1 + (t - 1) % ${words.LAB_TESTS.length})::int] ||
       CASE WHEN t > ${words.LAB_TESTS.length} THEN ' (method ' || ((t - 1) / ${words.LAB_TESTS.length} + 1)::text || ')' ELSE '' END`,
    ),
    fn('allergen_index(tag text, n bigint)', 'int', `(1 + sd.h(tag, n) % ${allergens.length})::int`),
    fn('allergen(i int)', 'text', `(${textArray(allergens.map((a) => a[0]!))})[i]`),
    fn('allergen_type(i int)', 'text', `(${textArray(allergens.map((a) => a[1]!))})[i]`),
    fn('vaccine_index(tag text, n bigint)', 'int', `(1 + sd.h(tag, n) % ${vaccines.length})::int`),
    fn('vaccine_code(i int)', 'text', `(${textArray(vaccines.map((v) => v[0]!))})[i]`),
    fn('vaccine_name(i int)', 'text', `(${textArray(vaccines.map((v) => v[1]!))})[i]`),
    fn('ins_payer(i bigint)', 'bigint', `sd.pick('ins.payer', i, sd.n('insurance_payers'))`),
    fn('doc_patient(d bigint)', 'bigint', `sd.pick('doc.patient', d, sd.n('patients'))`),
    fn('doc_size(d bigint)', 'int', `2048 + floor(100352 * sd.u('doc.size', d) ^ 3)::int`),
    fn(
      'appt_type_minutes(t bigint)',
      'int',
      `(ARRAY[15, 30, 45, 60, 20, 30, 90, 30, 15, 60])[(1 + (t - 1) % 10)::int]`,
    ),
    fn('slot_staff(s bigint)', 'bigint', `sd.physician('slot.staff', s)`),
    fn('slot_at(s bigint)', 'bigint', `sd.t0() + (s - 1) * sd.n('slot_step')`),
    fn(
      'appt_slot(a bigint)',
      'bigint',
      `CASE WHEN a + sd.n('slot_offset') <= sd.n('availability_slots') AND sd.u('appt.slot', a) < 0.85
            THEN a + sd.n('slot_offset') END`,
    ),
    fn('bed_ward(b bigint)', 'bigint', `(b - 1) / ${BEDS_PER_WARD} + 1`),
    // Invoice i's lines are items item_start(i) .. item_start(i + 1) - 1: 1 to 3 lines, 2 on
    // average, so that items are dense and an item's invoice is computable in both directions.
    fn(
      'item_d(i bigint)',
      'bigint',
      `CASE WHEN i <= 1 OR i > sd.n('invoices') THEN 0 ELSE sd.h('item.d', i) % 2 END`,
    ),
    fn('item_start(i bigint)', 'bigint', `2 * (i - 1) + sd.item_d(i) + 1`),
    fn(
      'item_invoice(j bigint)',
      'bigint',
      `(j + 1) / 2 - CASE WHEN j % 2 = 1 AND sd.item_d((j + 1) / 2) = 1 THEN 1 ELSE 0 END`,
    ),
    fn('item_code(j bigint)', 'bigint', `sd.pick('item.code', j, sd.n('billing_codes'))`),
    fn(
      'item_qty(j bigint)',
      'int',
      `CASE WHEN sd.u('item.qty1', j) < 0.8 THEN 1 ELSE 1 + (sd.h('item.qty', j) % 4)::int END`,
    ),
    fn('bc_price(b bigint)', 'numeric', `round((15 + 2000 * sd.u('bc.price', b) ^ 3)::numeric, 2)`),
    fn('item_price(j bigint)', 'numeric', `sd.bc_price(sd.item_code(j))`),
    fn('claim_rx(k bigint)', 'boolean', `sd.u('claim.rx', k) < 0.15`),
    fn(
      'claim_presc(k bigint)',
      'bigint',
      `sd.spread('claim.presc', k, sd.n('claims'), sd.n('prescriptions'))`,
    ),
    fn(
      'claim_status(k bigint)',
      'text',
      `CASE WHEN k % 10 BETWEEN 1 AND ${PAID_CLAIM_DIGITS - 1} THEN 'paid'
            WHEN k % 10 = ${PAID_CLAIM_DIGITS} THEN 'partially_paid'
            ELSE sd.choose('claim.status', k, ARRAY['draft', 'submitted', 'submitted', 'accepted', 'rejected', 'appealed']) END`,
    ),
    fn(
      'claim_ratio(k bigint)',
      'numeric',
      `CASE WHEN k % 10 = ${PAID_CLAIM_DIGITS} THEN 0.3 + 0.4 * sd.u('claim.ratio', k)::numeric
            ELSE 0.8 + 0.2 * sd.u('claim.ratio', k)::numeric END`,
    ),
    fn('rx_amount(k bigint)', 'numeric', `sd.money('claim.rx.amount', k, 5, 800)`),
    fn(
      'payment_claim(n bigint)',
      'bigint',
      `10 * ((n - 1) / ${PAID_CLAIM_DIGITS}) + (n - 1) % ${PAID_CLAIM_DIGITS} + 1`,
    ),
    `CREATE TABLE sd.pool (name text PRIMARY KEY, content bytea NOT NULL)`,
    // 256 KiB of incompressible bytes: document contents are slices of it (TOASTed, not compressed).
    `INSERT INTO sd.pool
       SELECT 'bytes', string_agg(decode(sd.hex('pool.bytes', i), 'hex'), ''::bytea ORDER BY i)
         FROM generate_series(1, 16384) AS i`,
    // ~190 KiB of clinical prose: note bodies are slices of it.
    `INSERT INTO sd.pool
       SELECT 'text', convert_to(string_agg(
                CASE WHEN sd.h('pool.num', i) % 9 = 0 THEN (40 + sd.h('pool.value', i) % 160)::text
                     ELSE sd.choose('pool.word', i, ${textArray(words.NOTE_WORDS)}) END ||
                CASE WHEN sd.h('pool.stop', i) % 14 = 0 THEN '.' ELSE '' END, ' ' ORDER BY i), 'UTF8')
         FROM generate_series(1, 26000) AS i`,
  ];
}

/** SQL text of the seed: `sd.` names the scratch schema. */
export function resolveScratch(sql: string): string {
  return sql
    .replaceAll(/\bsd\./g, `${SCRATCH_SCHEMA}.`)
    .replace(/^CREATE SCHEMA sd$/, `CREATE SCHEMA ${SCRATCH_SCHEMA}`);
}
