import { beforeAll, describe, expect, it } from 'vitest';
import { CARESYNC_TABLES } from '../../src/demo/caresync-tables.js';
import { createMonolithSchema } from '../../src/demo/create-monolith-schema.js';
import { findOrphans } from '../../src/demo/find-orphans.js';
import { seedMonolith, type SeedEvent, type SeedReport } from '../../src/demo/seed/seed-monolith.js';
import { isScaledTable, seedVolumes } from '../../src/demo/seed/volumes.js';
import { withClient } from '../../src/pg/connect.js';
import { quoteQualified } from '../../src/pg/quote.js';
import { createDatabase, useCluster } from '../support/cluster.js';

const cluster = await useCluster({ name: 'demo-seed' });

async function counts(url: string): Promise<Record<string, number>> {
  return withClient(url, async (c) => {
    const out: Record<string, number> = {};
    for (const t of CARESYNC_TABLES) {
      const r = await c.query(`SELECT count(*)::int AS n FROM ${quoteQualified('public', t.name)}`);
      out[t.name] = r.rows[0].n;
    }
    return out;
  });
}

/** md5 of each table's rows in text form, sorted: equal iff the data is identical. */
async function checksums(url: string): Promise<Record<string, string>> {
  return withClient(url, async (c) => {
    const out: Record<string, string> = {};
    for (const t of CARESYNC_TABLES) {
      const table = quoteQualified('public', t.name);
      const r = await c.query(
        `SELECT md5(string_agg(t::text, E'\\n' ORDER BY t::text)) AS h FROM ${table} AS t`,
      );
      out[t.name] = r.rows[0].h;
    }
    return out;
  });
}

let small: string;
let smallReport: SeedReport;
const events: SeedEvent[] = [];

beforeAll(async () => {
  small = await createDatabase(cluster, 'seed_small');
  smallReport = await seedMonolith({ url: small, scale: 0.001, seed: 7, onEvent: (e) => events.push(e) });
});

describe('demo seed', () => {
  it('generates exactly the planned rows in every table, and reports them', async () => {
    const actual = await counts(small);
    const planned = seedVolumes(0.001);
    for (const t of CARESYNC_TABLES) expect(actual[t.name], t.name).toBe(planned[t.name]);
    expect(actual.patients).toBe(1000);
    expect(actual.consultations).toBe(5000);
    expect(smallReport.tables.map((t) => t.table).sort()).toEqual(CARESYNC_TABLES.map((t) => t.name).sort());
    expect(smallReport.totalRows).toBe(Object.values(actual).reduce((a, b) => a + b, 0));
    expect(smallReport.databaseBytes).toBeGreaterThan(1_000_000);
    expect(events.find((e) => e.type === 'schema')).toMatchObject({ tables: 58, partitions: 25 });
    expect(events.at(-1)).toMatchObject({ type: 'done' });
    expect(Object.keys(smallReport.phases)).toEqual([
      'schema',
      'load',
      'indexes',
      'foreign-keys',
      'sequences',
      'analyze',
    ]);
    const progress = events.filter((e) => e.type === 'progress');
    expect(progress.at(-1)).toMatchObject({
      overallDone: smallReport.totalRows,
      overallTotal: smallReport.totalRows,
    });
  });

  it('leaves only the CareSync tables: no scratch schema or functions, sequences past the keys', async () => {
    await withClient(small, async (c) => {
      const schemas = await c.query(`SELECT nspname FROM pg_namespace WHERE nspname LIKE 'carve%'`);
      expect(schemas.rows).toEqual([]);
      const functions = await c.query(
        `SELECT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace`,
      );
      expect(functions.rows).toEqual([]);
      // The database picks the next ids itself without colliding with the generated ones.
      await c.query('BEGIN');
      const p = await c.query(
        `INSERT INTO patients (mrn, first_name, last_name, date_of_birth, sex) VALUES ('X1', 'A', 'B', '2000-01-01', 'female') RETURNING id`,
      );
      expect(Number(p.rows[0].id)).toBe(1001);
      const r = await c.query(
        `INSERT INTO reports (title, report_type, created_by) SELECT 'r', 'custom', id FROM profiles LIMIT 1 RETURNING id`,
      );
      expect(Number(r.rows[0].id)).toBe(seedVolumes(0.001).reports! + 1);
      await c.query('ROLLBACK');
    });
  });

  it('ends with exactly the schema createMonolithSchema makes: every index and validated key back', async () => {
    const fresh = await createDatabase(cluster, 'schema_only');
    await withClient(fresh, (c) => createMonolithSchema(c));
    const shape = (url: string) =>
      withClient(url, async (c) => ({
        constraints: (
          await c.query(
            `SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid) || ' ' || convalidated AS d
               FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1`,
          )
        ).rows.map((r) => r.d),
        indexes: (
          await c.query(`SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1`)
        ).rows.map((r) => r.indexdef),
      }));
    const [seeded, expected] = await Promise.all([shape(small), shape(fresh)]);
    expect(seeded.constraints.length).toBeGreaterThan(200);
    expect(seeded).toEqual(expected);
  });

  it('keeps every foreign key valid (checked generically over pg_constraint)', async () => {
    const results = await withClient(small, (c) => findOrphans(c));
    expect(results.length).toBeGreaterThan(100);
    expect(results.filter((r) => r.orphans > 0)).toEqual([]);
  });

  it('loads tables in an order where every parent precedes its children', async () => {
    const order = smallReport.tables.map((t) => t.table);
    const edges = await withClient(
      small,
      async (c) =>
        (
          await c.query<{ child: string; parent: string }>(
            `SELECT conrelid::regclass::text AS child, confrelid::regclass::text AS parent FROM pg_constraint
            WHERE contype = 'f' AND conparentid = 0 AND connamespace = 'public'::regnamespace`,
          )
        ).rows,
    );
    for (const { child, parent } of edges) {
      if (child !== parent)
        expect(order.indexOf(parent), `${parent} before ${child}`).toBeLessThan(order.indexOf(child));
    }
  });

  it('keeps derived values consistent across tables', async () => {
    await withClient(small, async (c) => {
      const q = async (sql: string) => Number((await c.query(sql)).rows[0].n);
      // A prescription's patient is its consultation's patient; so for claims and lab orders.
      expect(
        await q(
          `SELECT count(*) AS n FROM prescriptions p JOIN consultations c ON c.id = p.consultation_id WHERE p.patient_id <> c.patient_id`,
        ),
      ).toBe(0);
      expect(
        await q(
          `SELECT count(*) AS n FROM claims k JOIN consultations c ON c.id = k.consultation_id WHERE k.patient_id <> c.patient_id`,
        ),
      ).toBe(0);
      expect(
        await q(
          `SELECT count(*) AS n FROM claims k JOIN insurance_info i ON i.id = k.insurance_info_id WHERE i.patient_id <> k.patient_id OR i.payer_id <> k.payer_id`,
        ),
      ).toBe(0);
      expect(
        await q(
          `SELECT count(*) AS n FROM lab_results r JOIN specimens s ON s.id = r.specimen_id WHERE s.lab_order_id <> r.lab_order_id`,
        ),
      ).toBe(0);
      expect(
        await q(
          `SELECT count(*) AS n FROM appointments a JOIN availability_slots s ON s.id = a.slot_id WHERE s.staff_id <> a.staff_id OR s.starts_at <> a.scheduled_at OR NOT s.is_booked`,
        ),
      ).toBe(0);
      expect(
        await q(
          `SELECT count(*) AS n FROM hospital_staff s JOIN departments d ON d.id = s.department_id WHERE d.hospital_id <> s.hospital_id`,
        ),
      ).toBe(0);
      // An invoice's total is the sum of its lines; claims bill the invoice total.
      expect(
        await q(
          `SELECT count(*) AS n FROM invoices i WHERE total_amount <> (SELECT sum(line_total) FROM invoice_items t WHERE t.invoice_id = i.id)`,
        ),
      ).toBe(0);
      expect(
        await q(
          `SELECT count(*) AS n FROM claims k JOIN invoices i ON i.id = k.invoice_id WHERE k.amount_claimed <> i.total_amount`,
        ),
      ).toBe(0);
      expect(
        await q(
          `SELECT count(*) AS n FROM payments p JOIN claims k ON k.id = p.claim_id WHERE p.amount <> k.amount_approved OR k.status NOT IN ('paid', 'partially_paid')`,
        ),
      ).toBe(0);
      expect(
        await q(
          `SELECT count(*) AS n FROM claims WHERE status IN ('paid', 'partially_paid') AND id NOT IN (SELECT claim_id FROM payments)`,
        ),
      ).toBe(0);
      // Consultations are skewed: the busiest patient has many more than the average of 5.
      expect(
        await q(`SELECT max(n) AS n FROM (SELECT count(*) AS n FROM consultations GROUP BY patient_id) x`),
      ).toBeGreaterThan(20);
      // Every analytics row found a partition; a few are older than the monthly ones.
      expect(await q(`SELECT count(*) AS n FROM analytics_data_default`)).toBeGreaterThan(0);
      expect(await q(`SELECT count(*) AS n FROM ONLY analytics_data`)).toBe(0);
      // Realistic NULLs.
      expect(await q(`SELECT count(*) AS n FROM patients WHERE email IS NULL`)).toBeGreaterThan(300);
      expect(
        await q(`SELECT count(*) AS n FROM profiles WHERE legacy_password_md5 IS NOT NULL`),
      ).toBeGreaterThan(10);
    });
  });

  it('writes some clinical notes large enough to be TOASTed, and document attachments', async () => {
    await withClient(small, async (c) => {
      const notes = await c.query(
        `SELECT count(*) FILTER (WHERE octet_length(body) > 4000)::int AS long,
                max(octet_length(body))::int AS longest,
                pg_relation_size((SELECT reltoastrelid FROM pg_class WHERE oid = 'clinical_notes'::regclass))::int AS toast
           FROM clinical_notes`,
      );
      expect(notes.rows[0].long).toBeGreaterThan(20);
      expect(notes.rows[0].longest).toBeGreaterThan(10_000);
      expect(notes.rows[0].toast).toBeGreaterThan(0);
      const docs =
        await c.query(`SELECT min(octet_length(content))::int AS lo, max(octet_length(content))::int AS hi,
                                         bool_and(octet_length(content) = byte_size) AS sized FROM patient_documents`);
      expect(docs.rows[0].lo).toBeGreaterThanOrEqual(2048);
      expect(docs.rows[0].hi).toBeLessThanOrEqual(102_400);
      expect(docs.rows[0].sized).toBe(true);
    });
  });

  it('is deterministic: the same seed gives identical data, another seed different data', async () => {
    const again = await createDatabase(cluster, 'seed_again');
    const other = await createDatabase(cluster, 'seed_other');
    await seedMonolith({ url: again, scale: 0.001, seed: 7 });
    await seedMonolith({ url: other, scale: 0.001, seed: 8 });
    const [a, b, o] = await Promise.all([checksums(small), checksums(again), checksums(other)]);
    expect(b).toEqual(a);
    const differing = CARESYNC_TABLES.filter((t) => o[t.name] !== a[t.name]).map((t) => t.name);
    // Fixed enumerations (roles, permissions …) may coincide; generated tables must not.
    for (const table of [
      'patients',
      'profiles',
      'consultations',
      'clinical_notes',
      'patient_documents',
      'claims',
    ]) {
      expect(differing).toContain(table);
    }
  });

  it('scales proportionally: scale 0.003 has three times the rows of scale 0.001', async () => {
    const bigger = await createDatabase(cluster, 'seed_bigger');
    await seedMonolith({ url: bigger, scale: 0.003 });
    const [c1, c3] = await Promise.all([counts(small), counts(bigger)]);
    for (const t of CARESYNC_TABLES) {
      if (isScaledTable(t.name))
        expect(Math.abs(c3[t.name]! - 3 * c1[t.name]!), t.name).toBeLessThanOrEqual(3);
      else expect(c3[t.name], t.name).toBe(c1[t.name]);
    }
    const orphans = await withClient(bigger, (c) => findOrphans(c));
    expect(orphans.filter((r) => r.orphans > 0)).toEqual([]);
  });
});
