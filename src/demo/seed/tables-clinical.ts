import { COMPLAINTS, NOTE_SECTIONS, PROCEDURES } from './word-lists.js';
import { TEXT_POOL, TEXT_POOL_LENGTH, textArray, type TableSeed } from './table-seed.js';
import { BEDS_PER_WARD } from './volumes.js';

const DAY = 86_400;
const END = `(sd.t0() + sd.span())`;

/** A child of consultations, spread over them in time order, with its consultation's time. */
function perConsultation(
  tag: string,
  table: string,
  extra: Record<string, string> = {},
): Record<string, string>[] {
  return [
    { c: `sd.spread('${tag}.consultation', n, sd.n('${table}'), sd.n('consultations'))` },
    { st: 'sd.cons_at(c)', ...extra },
  ];
}

/**
 * [clinical]. Consultations are the hub: their patient (skewed), physician, hospital and time are
 * functions of their id, so every child derives the same values without a join.
 */
export function clinicalSeeds(): TableSeed[] {
  return [
    {
      table: 'wards',
      columns: {
        id: 'n',
        department_id: `sd.pick('ward.department', n, sd.n('departments'))`,
        name: `'Ward ' || chr(65 + (n % 26)::int) || (n / 26)::text`,
        ward_type: `sd.choose('ward.type', n, ${textArray(['general', 'general', 'general', 'icu', 'maternity', 'pediatric', 'surgical', 'psychiatric'])})`,
        floor: `sd.between('ward.floor', n, 0, 12)::smallint`,
        capacity: `sd.between('ward.capacity', n, 10, 40)::int`,
      },
    },
    {
      table: 'beds',
      columns: {
        id: 'n',
        ward_id: 'sd.bed_ward(n)',
        bed_number: `lpad(((n - 1) % ${BEDS_PER_WARD} + 1)::text, 2, '0')`,
        bed_type: `sd.choose('bed.type', n, ${textArray(['standard', 'standard', 'standard', 'standard', 'icu', 'bariatric', 'pediatric', 'isolation'])})`,
        is_available: `sd.chance('bed.available', n, 0.7)`,
        updated_at: `sd.ts(sd.at('bed.updated', n))`,
      },
    },
    {
      table: 'consultations',
      slice: 250_000,
      derive: [{ st: 'sd.cons_at(n)', doc: 'sd.cons_staff(n)' }],
      columns: {
        id: 'n',
        patient_id: 'sd.cons_patient(n)',
        staff_id: 'doc',
        hospital_id: 'sd.staff_hospital(doc)',
        department_id: `CASE WHEN sd.chance('cons.nodept', n, 0.05) THEN NULL ELSE sd.staff_department(doc) END`,
        // An earlier consultation (a lower id: already inserted).
        follow_up_of: `CASE WHEN n > 1 AND sd.chance('cons.followup?', n, 0.12) THEN n - sd.pick('cons.followup', n, least(n - 1, 5000)) END`,
        consultation_type: `sd.choose('cons.type', n, ${textArray(['outpatient', 'outpatient', 'outpatient', 'follow_up', 'follow_up', 'emergency', 'telehealth', 'inpatient'])})`,
        status: `CASE WHEN st > ${END} - 7 * ${DAY} THEN 'open' WHEN sd.chance('cons.cancelled', n, 0.02) THEN 'cancelled' ELSE 'closed' END`,
        chief_complaint: `CASE WHEN sd.chance('cons.complaint?', n, 0.9) THEN sd.choose('cons.complaint', n, ${textArray(COMPLAINTS)}) END`,
        started_at: 'sd.ts(st)',
        ended_at: `CASE WHEN st > ${END} - 7 * ${DAY} THEN NULL ELSE sd.ts(st + sd.between('cons.length', n, 600, 5400)) END`,
        created_at: 'sd.ts(st)',
        updated_at: `sd.ts(st + sd.between('cons.updated', n, 5400, ${DAY}))`,
      },
    },
    {
      table: 'diagnoses',
      derive: [...perConsultation('diag', 'diagnoses'), { code: `sd.icd('diag.code', n)` }],
      columns: {
        id: 'n',
        consultation_id: 'c',
        system_code_id: 'code',
        is_primary: `sd.chance('diag.primary', n, 0.8)`,
        certainty: `sd.choose('diag.certainty', n, ${textArray(['confirmed', 'confirmed', 'confirmed', 'provisional', 'suspected'])})`,
        diagnosed_at: `sd.ts(st + sd.between('diag.at', n, 60, 3600))`,
        notes: `CASE WHEN sd.chance('diag.notes', n, 0.3) THEN 'Assessed for ' || lower(sd.code_description(code)) END`,
      },
    },
    {
      table: 'treatment_plans',
      derive: perConsultation('plan', 'treatment_plans', { p: 'sd.cons_patient(c)' }),
      columns: {
        id: 'n',
        consultation_id: 'c',
        patient_id: 'p',
        title: `sd.choose('plan.title', n, ${textArray(['Blood pressure control', 'Glycemic control', 'Post-operative recovery', 'Physical rehabilitation', 'Smoking cessation', 'Weight management', 'Pain management', 'Antibiotic course', 'Prenatal care', 'Cardiac rehabilitation'])})`,
        goals: `jsonb_build_array(jsonb_build_object('goal', sd.choose('plan.goal1', n, ${textArray(['reduce symptoms', 'improve mobility', 'normalize lab values', 'return to work', 'prevent readmission'])}),
                                                     'target_date', sd.day(st + 90 * ${DAY})::text, 'met', sd.chance('plan.met', n, 0.4)))
                || CASE WHEN sd.chance('plan.goal2?', n, 0.5)
                        THEN jsonb_build_array(jsonb_build_object('goal', 'follow-up visit', 'target_date', sd.day(st + 30 * ${DAY})::text, 'met', false))
                        ELSE '[]'::jsonb END`,
        start_date: 'sd.day(st)',
        end_date: `CASE WHEN sd.chance('plan.end?', n, 0.6) THEN sd.day(st + sd.between('plan.length', n, 14 * ${DAY}, 365 * ${DAY})) END`,
        status: `sd.choose('plan.status', n, ${textArray(['active', 'completed', 'completed', 'abandoned', 'draft'])})`,
        updated_at: `sd.ts(st + sd.between('plan.updated', n, 0, 60 * ${DAY}))`,
      },
    },
    {
      table: 'clinical_notes',
      slice: 100_000,
      derive: [
        {
          c: `sd.spread('note.consultation', n, sd.n('clinical_notes'), sd.n('consultations'))`,
          // 3% are long dictations (4–40 KB) that PostgreSQL stores out of line (TOAST).
          sz: `CASE WHEN sd.chance('note.long', n, 0.03) THEN sd.between('note.long.size', n, 4096, 40960)
                    ELSE sd.between('note.size', n, 200, 1500) END`,
        },
        {
          st: 'sd.cons_at(c)',
          author: `CASE WHEN sd.chance('note.nurse', n, 0.3) THEN sd.nurse('note.author', n) ELSE sd.cons_staff(c) END`,
        },
      ],
      columns: {
        id: 'n',
        consultation_id: 'c',
        author_id: 'author',
        note_type: `sd.choose('note.type', n, ${textArray(['progress', 'progress', 'soap', 'soap', 'discharge', 'operative', 'nursing'])})`,
        body: `sd.choose('note.section', n, ${textArray(NOTE_SECTIONS)}) ||
               convert_from(substring(${TEXT_POOL} FROM (1 + sd.h('note.offset', n) % (${TEXT_POOL_LENGTH} - sz))::int FOR sz::int), 'UTF8')`,
        metadata: `jsonb_build_object('template', sd.choose('note.template', n, ${textArray(['soap-v2', 'progress-v1', 'discharge-v3', 'nursing-v1'])}),
                                      'signed', sd.chance('note.signed', n, 0.9), 'dictated', sz > 4000,
                                      'word_count', sz / 7, 'codes', jsonb_build_array(sd.icd('note.code', n)))`,
        created_at: `sd.ts(st + sd.between('note.created', n, 300, 7200))`,
        updated_at: `sd.ts(st + sd.between('note.updated', n, 7200, 2 * ${DAY}))`,
      },
    },
    {
      table: 'vital_signs',
      derive: perConsultation('vitals', 'vital_signs', { p: 'sd.cons_patient(c)' }),
      columns: {
        id: 'n',
        consultation_id: 'c',
        patient_id: 'p',
        readings: `jsonb_build_object(
                     'systolic', 95 + sd.h('vitals.bp', n) % 75, 'diastolic', 55 + (sd.h('vitals.bp', n) >> 8) % 45,
                     'heart_rate', 50 + sd.h('vitals.hr', n) % 70, 'respiratory_rate', 12 + sd.h('vitals.rr', n) % 10,
                     'temperature_c', round((36.0 + 2.5 * sd.u('vitals.temp', n) ^ 3)::numeric, 1),
                     'spo2', 88 + sd.h('vitals.spo2', n) % 13)
                   || CASE WHEN sd.chance('vitals.weight?', n, 0.5)
                           THEN jsonb_build_object('weight_kg', round((3 + 120 * sd.u('vitals.weight', n))::numeric, 1))
                           ELSE '{}'::jsonb END`,
        recorded_by: `CASE WHEN sd.chance('vitals.by?', n, 0.9) THEN sd.nurse('vitals.by', n) END`,
        recorded_at: `sd.ts(st + sd.between('vitals.at', n, 60, 1800))`,
      },
    },
    {
      table: 'referrals',
      derive: perConsultation('referral', 'referrals', { p: 'sd.cons_patient(c)', doc: 'sd.cons_staff(c)' }),
      columns: {
        id: 'n',
        patient_id: 'p',
        consultation_id: `CASE WHEN sd.chance('referral.external', n, 0.15) THEN NULL ELSE c END`,
        from_staff_id: 'doc',
        to_department_id: `sd.pick('referral.department', n, sd.n('departments'))`,
        parent_referral_id: `CASE WHEN n > 1 AND sd.chance('referral.parent?', n, 0.1) THEN n - sd.pick('referral.parent', n, least(n - 1, 500)) END`,
        reason: `sd.choose('referral.reason', n, ${textArray(COMPLAINTS)})`,
        status: `sd.choose('referral.status', n, ${textArray(['completed', 'completed', 'accepted', 'pending', 'declined'])})`,
        referred_at: `sd.ts(st + sd.between('referral.at', n, 600, 7200))`,
        updated_at: `sd.ts(st + sd.between('referral.updated', n, 7200, 30 * ${DAY}))`,
      },
    },
    {
      table: 'procedures',
      derive: perConsultation('procedure', 'procedures', { doc: 'sd.cons_staff(c)' }),
      columns: {
        id: 'n',
        consultation_id: 'c',
        system_code_id: `sd.cpt('procedure.code', n)`,
        performed_by: 'doc',
        performed_at: `sd.ts(st + sd.between('procedure.at', n, 600, 7200))`,
        duration_minutes: `(5 + sd.h('procedure.minutes', n) % 236)::int`,
        outcome: `CASE WHEN sd.chance('procedure.outcome?', n, 0.7)
                       THEN sd.choose('procedure.outcome', n, ${textArray(['successful', 'successful', 'successful', 'complicated', 'aborted', 'inconclusive'])}) END`,
      },
    },
    {
      table: 'admissions',
      derive: [
        ...perConsultation('admission', 'admissions', { p: 'sd.cons_patient(c)' }),
        {
          stat: `CASE WHEN st > ${END} - 20 * ${DAY} THEN 'admitted'
                      WHEN sd.chance('admission.transfer', n, 0.03) THEN 'transferred' ELSE 'discharged' END`,
        },
      ],
      columns: {
        id: 'n',
        patient_id: 'p',
        consultation_id: `CASE WHEN sd.chance('admission.direct', n, 0.2) THEN NULL ELSE c END`,
        bed_id: `CASE WHEN sd.chance('admission.bed?', n, 0.95) THEN sd.pick('admission.bed', n, sd.n('beds')) END`,
        status: 'stat::admission_status',
        reason: `sd.choose('admission.reason', n, ${textArray([...COMPLAINTS.slice(0, 12), ...PROCEDURES.slice(20)])})`,
        admitted_at: 'sd.ts(st + 3600)',
        discharged_at: `CASE WHEN stat = 'admitted' THEN NULL ELSE sd.ts(st + 3600 + sd.between('admission.stay', n, ${DAY}, 20 * ${DAY})) END`,
        updated_at: `sd.ts(st + 7200)`,
      },
    },
  ];
}
