import {
  DOSAGES,
  EMAIL_DOMAINS,
  FREQUENCIES,
  REACTIONS,
  RELATIONSHIPS,
  SEVERITIES,
  STREETS,
} from './word-lists.js';
import { BYTE_POOL, BYTE_POOL_LENGTH, textArray, type TableSeed } from './table-seed.js';

const DAY = 86_400;
const YEAR = 365 * DAY;

const DOCUMENT_TYPES = [
  'referral_letter',
  'discharge_summary',
  'scan',
  'consent_form',
  'lab_report',
  'id_card',
];

/**
 * [patient]. Patient n's primary insurance is insurance_info n (claims rely on it); patients
 * 1 … (profiles − staff) have a portal profile.
 */
export function patientSeeds(): TableSeed[] {
  return [
    {
      table: 'patients',
      derive: [
        {
          fem: 'sd.patient_female(n)',
          // Registrations run from four years before the first visit to the end of the data.
          cre: `sd.spread_at('patient.created', n, sd.n('patients')) - 4 * ${YEAR}`,
          ci: `sd.city_index('patient.city', n)`,
        },
        { first: `sd.first_name('patient.first', n, fem)`, last: `sd.last_name('patient.last', n)` },
      ],
      columns: {
        id: 'n',
        mrn: `'MRN' || lpad(n::text, 9, '0')`,
        profile_id: `CASE WHEN n <= sd.n('profiles') - sd.n('hospital_staff') THEN sd.uid('profile', sd.n('hospital_staff') + n) END`,
        first_name: 'first',
        last_name: 'last',
        date_of_birth: `DATE '2024-12-31' - (floor(95 * sd.u('patient.age', n) ^ 1.15 * 365.25) + sd.h('patient.dob', n) % 365)::int`,
        sex: 'sd.patient_sex(n)::sex',
        email: `CASE WHEN sd.chance('patient.email?', n, 0.55)
                     THEN sd.email_local(first, last) || n::text || '@' || sd.choose('patient.domain', n, ${textArray(EMAIL_DOMAINS)}) END`,
        phone: `CASE WHEN sd.chance('patient.phone?', n, 0.85) THEN sd.phone('patient.phone', n) END`,
        address: `CASE WHEN sd.chance('patient.address?', n, 0.95) THEN jsonb_build_object(
                    'line1', (1 + sd.h('patient.street_no', n) % 9999)::text || ' ' || sd.choose('patient.street', n, ${textArray(STREETS)}),
                    'city', sd.city(ci), 'state', sd.state(ci),
                    'postal_code', lpad((sd.h('patient.zip', n) % 100000)::text, 5, '0')) END`,
        primary_hospital_id: `CASE WHEN sd.chance('patient.hospital?', n, 0.9) THEN sd.pick('patient.hospital', n, sd.n('hospitals')) END`,
        tags: `array_remove(ARRAY[
                 CASE WHEN sd.chance('tag.diabetic', n, 0.09) THEN 'diabetic' END,
                 CASE WHEN sd.chance('tag.hypertension', n, 0.15) THEN 'hypertension' END,
                 CASE WHEN sd.chance('tag.fall', n, 0.04) THEN 'fall-risk' END,
                 CASE WHEN sd.chance('tag.vip', n, 0.005) THEN 'vip' END,
                 CASE WHEN sd.chance('tag.interpreter', n, 0.06) THEN 'needs-interpreter' END,
                 CASE WHEN sd.chance('tag.oncology', n, 0.02) THEN 'oncology' END], NULL)`,
        deceased_at: `CASE WHEN sd.chance('patient.deceased', n, 0.015)
                           THEN sd.ts(least(sd.t0() + sd.span() - 1, cre + sd.between('patient.death', n, ${DAY}, 5 * ${YEAR}))) END`,
        created_at: 'sd.ts(cre)',
        updated_at: `sd.ts(cre + sd.between('patient.updated', n, 0, 2 * ${YEAR}))`,
      },
    },
    {
      table: 'patient_history',
      derive: [
        {
          code: `sd.icd('history.code', n)`,
          onset: `CASE WHEN sd.chance('history.onset?', n, 0.8) THEN sd.at('history.onset', n) - 5 * ${YEAR} END`,
        },
      ],
      columns: {
        id: 'n',
        patient_id: `sd.pick('history.patient', n, sd.n('patients'))`,
        system_code_id: 'code',
        description: 'sd.code_description(code)',
        onset_date: 'sd.day(onset)',
        resolved_date: `CASE WHEN onset IS NOT NULL AND sd.chance('history.resolved', n, 0.4)
                             THEN sd.day(onset + sd.between('history.duration', n, ${DAY}, 3 * ${YEAR})) END`,
        recorded_by: `CASE WHEN sd.chance('history.by?', n, 0.7) THEN sd.physician('history.by', n) END`,
        recorded_at: `sd.ts(sd.spread_at('history.at', n, sd.n('patient_history')))`,
      },
    },
    {
      table: 'patient_allergies',
      derive: [{ ai: `sd.allergen_index('allergy.allergen', n)`, noted: `sd.at('allergy.noted', n)` }],
      columns: {
        id: 'n',
        patient_id: `sd.pick('allergy.patient', n, sd.n('patients'))`,
        allergen: 'sd.allergen(ai)',
        allergen_type: 'sd.allergen_type(ai)',
        reaction: `CASE WHEN sd.chance('allergy.reaction?', n, 0.8) THEN sd.choose('allergy.reaction', n, ${textArray(REACTIONS)}) END`,
        reaction_severity: `sd.choose('allergy.severity', n, ${textArray(SEVERITIES)})`,
        noted_on: 'sd.day(noted)',
        is_active: `NOT sd.chance('allergy.inactive', n, 0.1)`,
        updated_at: `sd.ts(noted + sd.between('allergy.updated', n, 0, ${YEAR}))`,
      },
    },
    {
      table: 'patient_medications',
      derive: [{ st: `sd.at('pmed.start', n)`, stopped: `sd.chance('pmed.stopped', n, 0.45)` }],
      columns: {
        id: 'n',
        patient_id: `sd.pick('pmed.patient', n, sd.n('patients'))`,
        medication_master_id: `sd.pick('pmed.medication', n, sd.n('medication_master'))`,
        dose: `sd.choose('pmed.dose', n, ${textArray(DOSAGES)})`,
        frequency: `sd.choose('pmed.frequency', n, ${textArray(FREQUENCIES)})`,
        started_on: 'sd.day(st)',
        stopped_on: `CASE WHEN stopped THEN sd.day(st + sd.between('pmed.duration', n, 7 * ${DAY}, 2 * ${YEAR})) END`,
        is_active: 'NOT stopped',
        updated_at: `sd.ts(st + sd.between('pmed.updated', n, 0, 30 * ${DAY}))`,
      },
    },
    {
      table: 'emergency_contacts',
      derive: [
        { fem: `sd.chance('contact.female', n, 0.5)` },
        { first: `sd.first_name('contact.first', n, fem)`, last: `sd.last_name('contact.last', n)` },
      ],
      columns: {
        id: 'n',
        patient_id: `sd.pick('contact.patient', n, sd.n('patients'))`,
        name: `first || ' ' || last`,
        relationship: `sd.choose('contact.relationship', n, ${textArray(RELATIONSHIPS)})`,
        phone: `sd.phone('contact.phone', n)`,
        email: `CASE WHEN sd.chance('contact.email?', n, 0.3) THEN sd.email_local(first, last) || '@' || sd.choose('contact.domain', n, ${textArray(EMAIL_DOMAINS)}) END`,
        is_primary: `sd.chance('contact.primary', n, 0.7)`,
      },
    },
    {
      table: 'insurance_info',
      derive: [
        {
          p: `CASE WHEN n <= sd.n('patients') THEN n ELSE sd.pick('insurance.patient', n, sd.n('patients')) END`,
          st: `sd.at('insurance.start', n) - 3 * ${YEAR}`,
        },
      ],
      columns: {
        id: 'n',
        patient_id: 'p',
        payer_id: 'sd.ins_payer(n)',
        policy_number: `'POL' || lpad(n::text, 10, '0')`,
        group_number: `CASE WHEN sd.chance('insurance.group?', n, 0.7) THEN 'GRP-' || lpad((sd.h('insurance.group', n) % 100000)::text, 5, '0') END`,
        coverage_start: 'sd.day(st)',
        coverage_end: `CASE WHEN sd.chance('insurance.ended', n, 0.25) THEN sd.day(st + sd.between('insurance.length', n, 180 * ${DAY}, 4 * ${YEAR})) END`,
        is_primary: `n <= sd.n('patients')`,
        copay: `(5 * (sd.h('insurance.copay', n) % 16))::numeric`,
        updated_at: `sd.ts(st + sd.between('insurance.updated', n, 0, ${YEAR}))`,
      },
    },
    {
      table: 'patient_documents',
      slice: 4_000,
      derive: [
        {
          sz: 'sd.doc_size(n)',
          kind: `sd.choose('doc.type', n, ${textArray(DOCUMENT_TYPES)})`,
          up: `sd.spread_at('doc.uploaded', n, sd.n('patient_documents'))`,
        },
      ],
      columns: {
        id: `sd.uid('doc', n)`,
        patient_id: 'sd.doc_patient(n)',
        document_type: 'kind',
        file_name: `kind || '-' || n::text || CASE kind WHEN 'scan' THEN '.png' WHEN 'id_card' THEN '.jpg' ELSE '.pdf' END`,
        mime_type: `CASE kind WHEN 'scan' THEN 'image/png' WHEN 'id_card' THEN 'image/jpeg' ELSE 'application/pdf' END`,
        content: `substring(${BYTE_POOL} FROM (1 + sd.h('doc.offset', n) % (${BYTE_POOL_LENGTH} - sz))::int FOR sz)`,
        byte_size: 'sz',
        uploaded_by: `CASE WHEN sd.chance('doc.by?', n, 0.8) THEN sd.nurse('doc.by', n) END`,
        uploaded_at: 'sd.ts(up)',
        updated_at: `sd.ts(up + sd.between('doc.updated', n, 0, 30 * ${DAY}))`,
      },
    },
    {
      table: 'immunizations',
      derive: [{ vi: `sd.vaccine_index('imm.vaccine', n)` }],
      columns: {
        id: 'n',
        patient_id: `sd.pick('imm.patient', n, sd.n('patients'))`,
        vaccine_code: 'sd.vaccine_code(vi)',
        vaccine_name: 'sd.vaccine_name(vi)',
        dose_number: `(1 + sd.h('imm.dose', n) % 3)::smallint`,
        administered_on: `sd.day(sd.at('imm.at', n))`,
        lot_number: `CASE WHEN sd.chance('imm.lot?', n, 0.9) THEN upper(substr(sd.hex('imm.lot', n), 1, 8)) END`,
        site: `sd.choose('imm.site', n, ${textArray(['left deltoid', 'right deltoid', 'left thigh', 'right thigh', 'oral', 'intranasal'])})`,
        administered_by: `CASE WHEN sd.chance('imm.by?', n, 0.85) THEN sd.nurse('imm.by', n) END`,
      },
    },
    {
      table: 'consents',
      derive: [
        {
          doc: `CASE WHEN sd.chance('consent.doc?', n, 0.2) THEN sd.pick('consent.doc', n, sd.n('patient_documents')) END`,
          signed: `sd.spread_at('consent.signed', n, sd.n('consents'))`,
        },
        // A consent with a scanned form belongs to that document's patient.
        {
          p: `CASE WHEN doc IS NULL THEN sd.pick('consent.patient', n, sd.n('patients')) ELSE sd.doc_patient(doc) END`,
        },
      ],
      columns: {
        id: 'n',
        patient_id: 'p',
        consent_type: `sd.choose('consent.type', n, ${textArray(['treatment', 'treatment', 'data_sharing', 'research', 'telehealth', 'marketing'])})`,
        granted: `NOT sd.chance('consent.refused', n, 0.08)`,
        signed_at: 'sd.ts(signed)',
        revoked_at: `CASE WHEN sd.chance('consent.revoked', n, 0.05) THEN sd.ts(signed + sd.between('consent.revoke', n, ${DAY}, 2 * ${YEAR})) END`,
        document_id: `CASE WHEN doc IS NOT NULL THEN sd.uid('doc', doc) END`,
      },
    },
  ];
}
