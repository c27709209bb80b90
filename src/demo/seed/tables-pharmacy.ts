import { DOSAGES, FREQUENCIES } from './word-lists.js';
import { textArray, type TableSeed } from './table-seed.js';
import { INVENTORY_LOTS_PER_HOSPITAL } from './volumes.js';

const DAY = 86_400;
const END = `(sd.t0() + sd.span())`;

const SUPPLIER_PREFIXES = [
  'Apex',
  'Meridian',
  'Northstar',
  'Cardinal',
  'Pinnacle',
  'Harbor',
  'Vertex',
  'Sterling',
  'Crescent',
  'Beacon',
];
const SUPPLIER_SUFFIXES = [
  'Pharma',
  'Medical Supply',
  'Distribution',
  'Labs',
  'Healthcare',
  'Biologics',
  'Wholesale',
  'Scientific',
];

/** [pharmacy]. Prescriptions hang off consultations (same patient and prescriber). */
export function pharmacySeeds(): TableSeed[] {
  return [
    {
      table: 'suppliers',
      derive: [
        {
          pre: `(${textArray(SUPPLIER_PREFIXES)})[(1 + (n - 1) % ${SUPPLIER_PREFIXES.length})::int]`,
          suf: `(${textArray(SUPPLIER_SUFFIXES)})[(1 + ((n - 1) / ${SUPPLIER_PREFIXES.length}) % ${SUPPLIER_SUFFIXES.length})::int]`,
        },
      ],
      columns: {
        id: 'n',
        // prefix × suffix pairs are distinct for the first 80; beyond, the id keeps names unique.
        name: `pre || ' ' || suf || CASE WHEN n > ${SUPPLIER_PREFIXES.length * SUPPLIER_SUFFIXES.length} THEN ' ' || n::text ELSE '' END`,
        contact_email: `'orders' || n::text || '@' || lower(pre) || '.example.com'`,
        phone: `sd.phone('supplier.phone', n)`,
        country: `CASE WHEN sd.chance('supplier.us', n, 0.85) THEN 'US' ELSE sd.choose('supplier.country', n, ${textArray(['CA', 'MX', 'DE', 'IN', 'IE'])}) END`,
      },
    },
    {
      table: 'medications',
      derive: [{ m: `1 + (n - 1) % sd.n('medication_master')` }],
      columns: {
        id: 'n',
        medication_master_id: 'm',
        name: `sd.med_generic(m) || ' ' || sd.med_strength(m) || ' ' || sd.med_form(m)`,
        form: 'sd.med_form(m)',
        strength: 'sd.med_strength(m)',
        unit_price: `sd.money('medication.price', n, 0.05, 45)`,
        is_formulary: `sd.chance('medication.formulary', n, 0.9)`,
        updated_at: `sd.ts(sd.at('medication.updated', n))`,
      },
    },
    {
      table: 'prescriptions',
      slice: 250_000,
      derive: [
        { c: 'sd.presc_cons(n)' },
        { st: 'sd.cons_at(c)', p: 'sd.cons_patient(c)', doc: 'sd.cons_staff(c)' },
      ],
      columns: {
        id: 'n',
        consultation_id: 'c',
        patient_id: 'p',
        prescriber_id: 'doc',
        medication_id: `sd.pick('rx.medication', n, sd.n('medications'))`,
        dosage: `sd.choose('rx.dosage', n, ${textArray(DOSAGES)})`,
        frequency: `sd.choose('rx.frequency', n, ${textArray(FREQUENCIES)})`,
        quantity: `(7 + sd.h('rx.quantity', n) % 84)::int`,
        refills: `(sd.h('rx.refills', n) % 6)::smallint`,
        status: `(CASE WHEN st > ${END} - 30 * ${DAY} THEN 'active'
                       ELSE sd.choose('rx.status', n, ${textArray(['completed', 'completed', 'completed', 'active', 'cancelled', 'on_hold'])}) END)::prescription_status`,
        prescribed_at: `sd.ts(st + sd.between('rx.at', n, 300, 3600))`,
        valid_until: `sd.day(st + sd.between('rx.valid', n, 30 * ${DAY}, 365 * ${DAY}))`,
        updated_at: `sd.ts(st + sd.between('rx.updated', n, 3600, 90 * ${DAY}))`,
      },
    },
    {
      table: 'pharmacy_inventory',
      derive: [
        {
          hosp: `(n - 1) / ${INVENTORY_LOTS_PER_HOSPITAL} + 1`,
          j: `(n - 1) % ${INVENTORY_LOTS_PER_HOSPITAL}`,
        },
      ],
      columns: {
        id: 'n',
        hospital_id: 'hosp',
        medication_id: `(hosp * 13 + j) % sd.n('medications') + 1`,
        supplier_id: `CASE WHEN sd.chance('stock.supplier?', n, 0.95) THEN sd.pick('stock.supplier', n, sd.n('suppliers')) END`,
        lot_number: `'LOT-' || lpad(n::text, 6, '0')`,
        quantity_on_hand: `(sd.h('stock.quantity', n) % 2000)::int`,
        reorder_level: `(50 + sd.h('stock.reorder', n) % 200)::int`,
        unit_cost: `sd.money('stock.cost', n, 0.02, 30)`,
        expires_on: `sd.day(${END} + sd.between('stock.expires', n, 30 * ${DAY}, 3 * 365 * ${DAY}))`,
        updated_at: `sd.ts(${END} - sd.between('stock.updated', n, 0, 90 * ${DAY}))`,
      },
    },
    {
      table: 'prescription_fills',
      derive: [
        { rx: `sd.spread('fill.prescription', n, sd.n('prescription_fills'), sd.n('prescriptions'))` },
        { c: 'sd.presc_cons(rx)' },
        { st: 'sd.cons_at(c)' },
      ],
      columns: {
        id: 'n',
        prescription_id: 'rx',
        inventory_id: `CASE WHEN sd.chance('fill.stock?', n, 0.8) THEN sd.pick('fill.stock', n, sd.n('pharmacy_inventory')) END`,
        pharmacist_id: `CASE WHEN sd.chance('fill.by?', n, 0.9) THEN sd.pharmacist('fill.by', n) END`,
        quantity: `(7 + sd.h('fill.quantity', n) % 84)::int`,
        copay: `(5 * (sd.h('fill.copay', n) % 5))::numeric`,
        filled_at: `sd.ts(st + sd.between('fill.at', n, 3600, 60 * ${DAY}))`,
      },
    },
    {
      table: 'drug_interactions',
      // Pair (a, a + 1 + 31k), k < 8: distinct pairs with a < b ≤ 500.
      derive: [{ a: '(n - 1) / 8 + 1' }, { b: 'a + 1 + ((n - 1) % 8) * 31' }],
      columns: {
        id: 'n',
        medication_a_id: 'a',
        medication_b_id: 'b',
        severity: `sd.choose('interaction.severity', n, ${textArray(['minor', 'minor', 'moderate', 'moderate', 'major', 'contraindicated'])})`,
        description: `'Concomitant use of ' || sd.med_generic(a) || ' and ' || sd.med_generic(b) || ' may ' ||
                      sd.choose('interaction.effect', n, ${textArray(['increase bleeding risk', 'prolong the QT interval', 'raise serum levels', 'reduce efficacy', 'cause hypotension', 'cause serotonin syndrome'])})`,
      },
    },
  ];
}
