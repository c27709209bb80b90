import { LAB_UNITS, SPECIMEN_TYPES } from './word-lists.js';
import { textArray, type TableSeed } from './table-seed.js';
import { LAB_ITEMS_PER_HOSPITAL } from './volumes.js';

const DAY = 86_400;
const END = `(sd.t0() + sd.span())`;

/** [laboratory]. Orders hang off consultations; results come via a specimen (60%) or directly. */
export function laboratorySeeds(): TableSeed[] {
  return [
    {
      table: 'test_definitions',
      columns: {
        id: 'n',
        lab_test_master_id: "1 + (n - 1) % sd.n('lab_test_master')",
        code: `'LT' || lpad(n::text, 4, '0')`,
        name: `sd.lab_test_name(1 + (n - 1) % sd.n('lab_test_master'))`,
        turnaround_hours: `(ARRAY[1, 2, 4, 6, 12, 24, 48, 72])[(1 + sd.h('test.turnaround', n) % 8)::int]`,
        price: `sd.money('test.price', n, 8, 450)`,
        is_active: `NOT sd.chance('test.retired', n, 0.04)`,
      },
    },
    {
      table: 'lab_orders',
      slice: 250_000,
      derive: [
        { c: 'sd.order_cons(n)' },
        { st: 'sd.cons_at(c)', p: 'sd.cons_patient(c)', doc: 'sd.cons_staff(c)' },
      ],
      columns: {
        id: 'n',
        consultation_id: 'c',
        patient_id: 'p',
        ordered_by: 'doc',
        test_definition_id: `sd.pick('order.test', n, sd.n('test_definitions'))`,
        priority: `sd.choose('order.priority', n, ${textArray(['routine', 'routine', 'routine', 'routine', 'routine', 'routine', 'urgent', 'stat'])})`,
        status: `(CASE WHEN st > ${END} - 3 * ${DAY} THEN sd.choose('order.open', n, ${textArray(['ordered', 'collected', 'in_progress'])})
                       ELSE sd.choose('order.status', n, ${textArray([...Array(17).fill('resulted'), 'cancelled', 'collected', 'in_progress'])}) END)::lab_order_status`,
        ordered_at: `sd.ts(st + sd.between('order.at', n, 300, 3600))`,
        updated_at: `sd.ts(st + sd.between('order.updated', n, 3600, 3 * ${DAY}))`,
      },
    },
    {
      table: 'specimens',
      derive: [{ o: 'sd.spec_order(n)' }, { c: 'sd.order_cons(o)' }, { st: 'sd.cons_at(c)' }],
      columns: {
        id: 'n',
        lab_order_id: 'o',
        barcode: `'SP' || lpad(n::text, 10, '0')`,
        specimen_type: `sd.choose('specimen.type', n, ${textArray(SPECIMEN_TYPES)})`,
        collected_at: `sd.ts(st + sd.between('specimen.at', n, 3600, 7200))`,
        collected_by: `CASE WHEN NOT sd.chance('specimen.by?', n, 0.9) THEN NULL
                            WHEN sd.chance('specimen.nurse', n, 0.5) THEN sd.nurse('specimen.by', n)
                            ELSE sd.lab_technician('specimen.by', n) END`,
        condition: `CASE WHEN sd.chance('specimen.condition?', n, 0.1)
                         THEN sd.choose('specimen.condition', n, ${textArray(['hemolyzed', 'clotted', 'insufficient volume', 'lipemic'])}) END`,
      },
    },
    {
      table: 'lab_results',
      derive: [
        { via: `sd.chance('result.via_specimen', n, 0.6)` },
        {
          s: `CASE WHEN via THEN sd.spread('result.specimen', n, sd.n('lab_results'), sd.n('specimens')) END`,
          o0: `CASE WHEN NOT via THEN sd.spread('result.order', n, sd.n('lab_results'), sd.n('lab_orders')) END`,
        },
        // (least() ignores NULLs, so pick the branch explicitly.)
        { o: 'CASE WHEN via THEN sd.spec_order(s) ELSE o0 END' },
        { c: 'sd.order_cons(o)' },
        { st: 'sd.cons_at(c)', textual: `sd.chance('result.text', n, 0.12)` },
      ],
      columns: {
        id: 'n',
        lab_order_id: 'o',
        specimen_id: 's',
        value_numeric: `CASE WHEN textual THEN NULL ELSE round((sd.u('result.value', n) * 200)::numeric, 3) END`,
        value_text: `CASE WHEN textual THEN sd.choose('result.word', n, ${textArray(['negative', 'positive', 'not detected', 'detected', 'see comment', 'trace'])}) END`,
        unit: `CASE WHEN textual THEN NULL ELSE sd.choose('result.unit', n, ${textArray(LAB_UNITS)}) END`,
        reference_range: `CASE WHEN textual THEN NULL ELSE (sd.h('result.low', n) % 50)::text || '-' || (50 + sd.h('result.high', n) % 150)::text END`,
        abnormal_flag: `CASE WHEN sd.chance('result.abnormal', n, 0.2) THEN sd.choose('result.flag', n, ${textArray(['L', 'H', 'H', 'LL', 'HH', 'A'])}) END`,
        resulted_at: `sd.ts(st + sd.between('result.at', n, 7200, 3 * ${DAY}))`,
        verified_by: `CASE WHEN sd.chance('result.verified', n, 0.8) THEN sd.lab_technician('result.by', n) END`,
        updated_at: `sd.ts(st + 3 * ${DAY} + sd.between('result.updated', n, 0, ${DAY}))`,
      },
    },
    {
      table: 'lab_inventory',
      columns: {
        id: 'n',
        hospital_id: `(n - 1) / ${LAB_ITEMS_PER_HOSPITAL} + 1`,
        supplier_id: `CASE WHEN sd.chance('labstock.supplier?', n, 0.9) THEN sd.pick('labstock.supplier', n, sd.n('suppliers')) END`,
        item_name: `sd.choose('labstock.item', n, ${textArray(['Vacutainer tubes', 'Reagent kit', 'Pipette tips', 'Culture media', 'Specimen cups', 'Microscope slides', 'Nitrile gloves', 'Centrifuge tubes', 'Swabs', 'Test strips'])})`,
        quantity: `(sd.h('labstock.quantity', n) % 5000)::int`,
        reorder_level: `(100 + sd.h('labstock.reorder', n) % 400)::int`,
        updated_at: `sd.ts(${END} - sd.between('labstock.updated', n, 0, 90 * ${DAY}))`,
      },
    },
  ];
}
