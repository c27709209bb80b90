import type { Client } from '../src/pg/connect.js';

/**
 * The monolith of bench/sync.ts: four CareSync-like tables (patients, appointments, observations,
 * invoices) with secondary indexes, a seed, and a server-side procedure that writes the backlog as
 * a realistic mix of transaction sizes (it COMMITs inside its loop, so 100k small transactions take
 * seconds, not minutes of client round trips).
 */
export const TABLES = ['patients', 'appointments', 'observations', 'invoices', 'bench_marker'] as const;

export const TABLES_SQL = `
  CREATE TABLE patients (id bigint PRIMARY KEY, mrn text NOT NULL, first_name text NOT NULL, last_name text NOT NULL,
    birth_date date, sex text, phone text, email text, address jsonb, version int NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now());
  CREATE TABLE appointments (id bigint PRIMARY KEY, patient_id bigint NOT NULL, provider_id int NOT NULL,
    starts_at timestamptz NOT NULL, ends_at timestamptz NOT NULL, status text NOT NULL, reason text,
    created_at timestamptz NOT NULL DEFAULT now());
  CREATE TABLE observations (id bigint PRIMARY KEY, patient_id bigint NOT NULL, code text NOT NULL,
    value numeric(10,2), unit text, observed_at timestamptz NOT NULL, note text);
  CREATE TABLE invoices (id bigint PRIMARY KEY, patient_id bigint NOT NULL, amount numeric(12,2) NOT NULL,
    status text NOT NULL, issued_at timestamptz NOT NULL, paid_at timestamptz, lines jsonb);
  CREATE TABLE bench_marker (id int PRIMARY KEY, at timestamptz NOT NULL);
  CREATE INDEX ON appointments (patient_id);
  CREATE INDEX ON observations (patient_id);
  CREATE INDEX ON invoices (patient_id);
`;

export const SEED = { patients: 100_000, appointments: 200_000, observations: 300_000, invoices: 100_000 };

export async function seed(client: Client): Promise<void> {
  await client.query(`TRUNCATE ${TABLES.join(', ')}`);
  await client.query(
    `INSERT INTO patients SELECT g, 'MRN' || lpad(g::text, 8, '0'), 'First' || (g % 977), 'Last' || (g % 1877),
       date '1940-01-01' + (g % 25000), CASE WHEN g % 2 = 0 THEN 'F' ELSE 'M' END, '+1-555-' || lpad((g % 10000)::text, 4, '0'),
       'p' || g || '@example.org', jsonb_build_object('street', g || ' Main St', 'city', 'City' || (g % 300), 'zip', lpad((g % 99999)::text, 5, '0')),
       0, timestamptz '2024-01-01' + g * interval '1 minute'
     FROM generate_series(1, $1::int) g`,
    [SEED.patients],
  );
  await client.query(
    `INSERT INTO appointments SELECT g, g % $2::int + 1, g % 400, timestamptz '2024-01-01' + g * interval '17 minutes',
       timestamptz '2024-01-01' + g * interval '17 minutes' + interval '30 minutes', 'booked', 'reason ' || (g % 50),
       timestamptz '2023-12-01' + g * interval '1 minute'
     FROM generate_series(1, $1::int) g`,
    [SEED.appointments, SEED.patients],
  );
  await client.query(
    `INSERT INTO observations SELECT g, g % $2::int + 1, 'LOINC-' || (g % 300), (g % 1000) / 10.0, 'mg/dL',
       timestamptz '2024-01-01' + g * interval '3 minutes', CASE WHEN g % 4 = 0 THEN NULL ELSE 'obs note ' || g END
     FROM generate_series(1, $1::int) g`,
    [SEED.observations, SEED.patients],
  );
  await client.query(
    `INSERT INTO invoices SELECT g, g % $2::int + 1, (g % 50000) / 100.0 + 10, 'open', timestamptz '2024-01-01' + g * interval '5 minutes',
       NULL, jsonb_build_array(jsonb_build_object('code', 'C' || (g % 90), 'qty', g % 5 + 1))
     FROM generate_series(1, $1::int) g`,
    [SEED.invoices, SEED.patients],
  );
  await client.query('ANALYZE');
}

/**
 * backlog(small, mediumEvery, largeEvery, withSmall): `small` transactions of 4 changes (new
 * appointment, patient update, new observation, invoice paid; skipped without withSmall); every
 * `mediumEvery` of them a 300-change transaction (200 appointment updates, 100 observation
 * deletes); every `largeEvery` a 100,000-row update. Returns (in bench_count) the rows changed.
 */
export const BACKLOG_SQL = `
  CREATE TABLE IF NOT EXISTS bench_count (changes bigint);
  CREATE OR REPLACE PROCEDURE backlog(small int, medium_every int, large_every int, with_small boolean)
  LANGUAGE plpgsql AS $$
  DECLARE
    i int; n bigint := 0; rows int;
    next_appt bigint := (SELECT coalesce(max(id), 0) + 1 FROM appointments);
    next_obs bigint := (SELECT coalesce(max(id), 0) + 1 FROM observations);
    del_from bigint := 1; upd_from bigint := 1; large_from bigint := 1;
  BEGIN
    FOR i IN 1..small LOOP
      IF with_small THEN
      INSERT INTO appointments VALUES (next_appt, (i::bigint * 7919) % 100000 + 1, i % 400, now() + i * interval '1 minute',
        now() + i * interval '1 minute' + interval '30 minutes', 'booked', 'follow-up ' || i, now());
      next_appt := next_appt + 1;
      UPDATE patients SET phone = '+1-555-' || lpad((i % 10000)::text, 4, '0'), version = version + 1, updated_at = now()
       WHERE id = (i::bigint * 104729) % 100000 + 1;
      INSERT INTO observations VALUES (next_obs, (i::bigint * 15485863) % 100000 + 1, 'LOINC-' || (i % 300), (i % 1000) / 10.0, 'mg/dL', now(), NULL);
      next_obs := next_obs + 1;
      UPDATE invoices SET status = 'paid', paid_at = now() WHERE id = (i::bigint * 32452843) % 100000 + 1;
      n := n + 4;
      COMMIT;
      END IF;
      IF i % medium_every = 0 THEN
        UPDATE appointments SET status = 'done' WHERE id >= upd_from AND id < upd_from + 200;
        GET DIAGNOSTICS rows = ROW_COUNT; n := n + rows;
        DELETE FROM observations WHERE id >= del_from AND id < del_from + 100;
        GET DIAGNOSTICS rows = ROW_COUNT; n := n + rows;
        upd_from := upd_from + 200; del_from := del_from + 100;
        COMMIT;
      END IF;
      IF i % large_every = 0 THEN
        UPDATE observations SET note = 'reviewed ' || i, value = value + 1 WHERE id >= large_from AND id < large_from + 100000;
        GET DIAGNOSTICS rows = ROW_COUNT; n := n + rows;
        large_from := large_from + 100000;
        COMMIT;
      END IF;
    END LOOP;
    INSERT INTO bench_count VALUES (n);
    COMMIT;
  END $$;
`;

/**
 * Sizes of the backlog for about `changes` changes. mixed: 40% in small, 30% in medium, 30% in
 * large transactions; oltp: small transactions only; batch: medium and large ones only.
 */
export function backlogShape(
  changes: number,
  mix: 'mixed' | 'oltp' | 'batch' = 'mixed',
): { small: number; mediumEvery: number; largeEvery: number; withSmall: boolean } {
  const share =
    mix === 'mixed'
      ? { small: 0.4, medium: 0.3, large: 0.3 }
      : mix === 'oltp'
        ? { small: 1, medium: 0, large: 0 }
        : { small: 0.4, medium: 0.4, large: 0.3 };
  const small = Math.max(100, Math.round((changes * share.small) / 4));
  const mediums = Math.round((changes * share.medium) / 300);
  const larges = Math.min(3, Math.round((changes * share.large) / 100_000)); // 3 x 100k: the seeded observations
  return {
    small,
    mediumEvery: mediums ? Math.max(1, Math.floor(small / mediums)) : 2 ** 30,
    largeEvery: larges ? Math.max(1, Math.floor(small / larges)) : 2 ** 30,
    withSmall: mix !== 'batch',
  };
}

/** One small transaction of the steady load (4 changes), as one round trip. */
export function steadyTransaction(i: number, nextId: number): string {
  const p = ((i * 104729) % 100000) + 1;
  return `BEGIN;
    INSERT INTO appointments VALUES (${nextId}, ${((i * 7919) % 100000) + 1}, ${i % 400}, now(), now() + interval '30 minutes', 'booked', 'steady', now());
    UPDATE patients SET version = version + 1, updated_at = now() WHERE id = ${p};
    INSERT INTO observations VALUES (${nextId}, ${p}, 'LOINC-1', 1.5, 'mg/dL', now(), NULL);
    UPDATE invoices SET status = 'paid', paid_at = now() WHERE id = ${((i * 32452843) % 100000) + 1};
    COMMIT;`;
}
