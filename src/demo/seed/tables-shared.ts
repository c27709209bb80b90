import { HOSPITAL_KINDS, LAB_UNITS, SPECIMEN_TYPES } from './word-lists.js';
import { textArray, type TableSeed } from './table-seed.js';

const DAY = 86_400;

/** [shared] reference data: fixed size at every scale. */
export function sharedSeeds(): TableSeed[] {
  return [
    {
      table: 'hospitals',
      derive: [{ ci: `sd.city_index('hospital.city', n)` }],
      columns: {
        id: 'n',
        code: `'H' || lpad(n::text, 4, '0')`,
        name: `sd.city(ci) || ' ' || sd.choose('hospital.kind', n, ${textArray(HOSPITAL_KINDS)})`,
        city: 'sd.city(ci)',
        state: 'sd.state(ci)',
        country: `'US'`,
        phone: `sd.phone('hospital.phone', n)`,
        bed_capacity: `sd.between('hospital.beds', n, 50, 1200)::int`,
        // 1950 … 2015
        opened_on: `sd.day(sd.between('hospital.opened', n, -631152000, 1420070400))`,
        is_active: `NOT sd.chance('hospital.closed', n, 0.03)`,
        created_at: `sd.ts(sd.t0() - 400 * ${DAY} + n * 3600)`,
      },
    },
    {
      table: 'system_codes',
      columns: {
        id: 'n',
        code_system: `(CASE WHEN n <= 1800 THEN 'ICD-10' WHEN n <= 2700 THEN 'CPT' ELSE 'LOINC' END)::code_system`,
        code: `CASE WHEN n <= 1800
                    THEN chr(65 + ((n - 1) % 26)::int) || lpad(((n - 1) / 26)::text, 2, '0') || '.' || (sd.h('icd.sub', n) % 10)::text
                  WHEN n <= 2700 THEN (10000 + (n - 1801) * 7)::text
                  ELSE (1000 + (n - 2701) * 13)::text || '-' || (n % 10)::text END`,
        description: 'sd.code_description(n)',
        is_active: `NOT sd.chance('code.retired', n, 0.02)`,
        effective_from: `sd.day(sd.t0() - sd.between('code.effective', n, 0, 3650) * ${DAY})`,
      },
    },
    {
      table: 'medication_master',
      columns: {
        id: 'n',
        ndc_code: `lpad(n::text, 5, '0') || '-' || lpad((sd.h('ndc.product', n) % 1000)::text, 3, '0') || '-' || lpad((sd.h('ndc.package', n) % 100)::text, 2, '0')`,
        generic_name: 'sd.med_generic(n)',
        brand_name: `CASE WHEN sd.chance('med.brand', n, 0.6) THEN initcap(reverse(lower(sd.med_generic(n)))) END`,
        form: 'sd.med_form(n)',
        strength: 'sd.med_strength(n)',
        atc_code: `chr(65 + (sd.h('atc.group', n) % 14)::int) || lpad((sd.h('atc.sub', n) % 100)::text, 2, '0') || chr(65 + (sd.h('atc.a', n) % 26)::int) || chr(65 + (sd.h('atc.b', n) % 26)::int)`,
        is_controlled: `sd.chance('med.controlled', n, 0.08)`,
      },
    },
    {
      table: 'lab_test_master',
      derive: [{ lo: `round((sd.u('lab.low', n) * 50)::numeric, 3)` }],
      columns: {
        id: 'n',
        loinc_code: `(20000 + n * 11)::text || '-' || (n % 10)::text`,
        name: 'sd.lab_test_name(n)',
        specimen_type: `sd.choose('lab.specimen', n, ${textArray(SPECIMEN_TYPES)})`,
        unit: `CASE WHEN sd.chance('lab.unit?', n, 0.9) THEN sd.choose('lab.unit', n, ${textArray(LAB_UNITS)}) END`,
        reference_low: 'lo',
        reference_high: `lo + round((1 + sd.u('lab.high', n) * 100)::numeric, 3)`,
      },
    },
    {
      table: 'insurance_payers',
      derive: [{ ci: `sd.city_index('payer.city', n)`, kind: `sd.u('payer.type', n)` }],
      columns: {
        id: 'n',
        payer_code: `'PAY' || lpad(n::text, 4, '0')`,
        name: `sd.choose('payer.a', n, ${textArray(['Blue', 'United', 'Atlantic', 'Pacific', 'Summit', 'Liberty', 'Heritage', 'Evergreen', 'Keystone', 'Frontier', 'Unity', 'Guardian'])}) || ' ' ||
               sd.choose('payer.b', n, ${textArray(['Health', 'Care', 'Health Plan', 'Insurance', 'Mutual', 'Benefits'])})`,
        payer_type: `CASE WHEN kind < 0.6 THEN 'commercial' WHEN kind < 0.75 THEN 'medicare' WHEN kind < 0.9 THEN 'medicaid'
                          WHEN kind < 0.95 THEN 'self_pay' ELSE 'other' END`,
        phone: `'+1-800-555-' || lpad(n::text, 4, '0')`,
        address: `jsonb_build_object('line1', (1 + sd.h('payer.street', n) % 9000)::text || ' Insurance Plaza',
                                     'city', sd.city(ci), 'state', sd.state(ci),
                                     'postal_code', lpad((sd.h('payer.zip', n) % 100000)::text, 5, '0'))`,
      },
    },
  ];
}
