import { textArray, invoiceTotal, type TableSeed } from './table-seed.js';

const DAY = 86_400;
const END = `(sd.t0() + sd.span())`;

/**
 * [billing]. Invoice i's lines are a dense block of invoice_items and its total is their sum;
 * claim k bills invoice k (or, for 15%, a prescription), is made against the patient's primary
 * insurance (insurance_info id = patient id), and is paid when k ends in 1 … 7.
 */
export function billingSeeds(): TableSeed[] {
  return [
    {
      table: 'billing_codes',
      derive: [{ sc: `CASE WHEN sd.chance('bc.cpt', n, 0.7) THEN 1800 + 1 + (n - 1) % 900 END` }],
      columns: {
        id: 'n',
        code: `'BC' || lpad(n::text, 5, '0')`,
        description: `coalesce(sd.code_description(sc), sd.choose('bc.fee', n, ${textArray(['Facility fee', 'Room and board, semi-private', 'Medical supplies', 'Pharmacy dispensing fee', 'Observation, per hour', 'Ambulance transport', 'Interpreter services'])}))`,
        system_code_id: 'sc',
        base_price: 'sd.bc_price(n)',
      },
    },
    {
      table: 'invoices',
      derive: [{ c: 'sd.inv_cons(n)' }, { st: 'sd.cons_at(c)', p: 'sd.cons_patient(c)' }],
      columns: {
        id: 'n',
        invoice_number: `'INV-' || lpad(n::text, 10, '0')`,
        patient_id: 'p',
        consultation_id: `CASE WHEN sd.chance('invoice.nocons', n, 0.05) THEN NULL ELSE c END`,
        status: `(CASE WHEN st > ${END} - 30 * ${DAY} THEN 'open'
                       ELSE sd.choose('invoice.status', n, ${textArray(['paid', 'paid', 'paid', 'paid', 'paid', 'paid', 'open', 'overdue', 'void'])}) END)::invoice_status`,
        total_amount: invoiceTotal('n'),
        issued_at: `sd.ts(st + sd.between('invoice.issued', n, 3600, 3 * ${DAY}))`,
        due_on: `sd.day(st + 33 * ${DAY})`,
        updated_at: `sd.ts(st + sd.between('invoice.updated', n, 3 * ${DAY}, 60 * ${DAY}))`,
      },
    },
    {
      table: 'invoice_items',
      derive: [{ inv: 'sd.item_invoice(n)', code: 'sd.item_code(n)' }],
      columns: {
        id: 'n',
        invoice_id: 'inv',
        billing_code_id: 'code',
        description: `'Line ' || (n - sd.item_start(inv) + 1)::text || ': code BC' || lpad(code::text, 5, '0')`,
        quantity: 'sd.item_qty(n)',
        unit_price: 'sd.item_price(n)',
      },
    },
    {
      table: 'claims',
      derive: [
        { rx: 'sd.claim_rx(n)' },
        { pr: 'CASE WHEN rx THEN sd.claim_presc(n) END' },
        { c: 'CASE WHEN rx THEN sd.presc_cons(pr) ELSE sd.inv_cons(n) END' },
        {
          st: 'sd.cons_at(c)',
          p: 'sd.cons_patient(c)',
          stat: 'sd.claim_status(n)',
          claimed: `CASE WHEN rx THEN sd.rx_amount(n) ELSE ${invoiceTotal('n')} END`,
        },
      ],
      columns: {
        id: 'n',
        claim_number: `'CLM-' || lpad(n::text, 10, '0')`,
        patient_id: 'p',
        consultation_id: 'c',
        prescription_id: 'pr',
        invoice_id: 'CASE WHEN rx THEN NULL ELSE n END',
        insurance_info_id: 'p',
        payer_id: 'sd.ins_payer(p)',
        status: 'stat::claim_status',
        amount_claimed: 'claimed',
        amount_approved: `CASE WHEN stat IN ('paid', 'partially_paid', 'accepted') THEN round(claimed * sd.claim_ratio(n), 2) END`,
        submitted_at: `CASE WHEN stat = 'draft' THEN NULL ELSE sd.ts(st + sd.between('claim.submitted', n, ${DAY}, 10 * ${DAY})) END`,
        adjudicated_at: `CASE WHEN stat IN ('draft', 'submitted') THEN NULL ELSE sd.ts(st + sd.between('claim.adjudicated', n, 15 * ${DAY}, 60 * ${DAY})) END`,
        updated_at: `sd.ts(st + sd.between('claim.updated', n, 15 * ${DAY}, 90 * ${DAY}))`,
      },
    },
    {
      table: 'payments',
      derive: [
        { k: 'sd.payment_claim(n)' },
        { rx: 'sd.claim_rx(k)' },
        { pr: 'CASE WHEN rx THEN sd.claim_presc(k) END' },
        { c: 'CASE WHEN rx THEN sd.presc_cons(pr) ELSE sd.inv_cons(k) END' },
        { st: 'sd.cons_at(c)', claimed: `CASE WHEN rx THEN sd.rx_amount(k) ELSE ${invoiceTotal('k')} END` },
      ],
      columns: {
        id: 'n',
        claim_id: 'k',
        invoice_id: 'CASE WHEN rx THEN NULL ELSE k END',
        amount: 'round(claimed * sd.claim_ratio(k), 2)',
        method: `'insurance'`,
        reference: `'PMT-' || lpad(n::text, 10, '0')`,
        paid_at: `sd.ts(st + sd.between('payment.at', n, 61 * ${DAY}, 120 * ${DAY}))`,
      },
    },
  ];
}
