import { COMPLAINTS } from './word-lists.js';
import { textArray, type TableSeed } from './table-seed.js';

const DAY = 86_400;
const END = `(sd.t0() + sd.span())`;
/** Appointments run until APPOINTMENTS_END, half a year past the other activity. */
const APPT_SPAN = `sd.n('appt_span')`;

const TYPES = [
  'New patient visit',
  'Follow-up',
  'Annual physical',
  'Telehealth consult',
  'Vaccination',
  'Lab draw',
  'Procedure',
  'Post-op check',
  'Medication review',
  'Specialist consult',
  'Physical therapy',
  'Prenatal visit',
  'Well child visit',
  'Urgent care',
  'Imaging',
  'Counseling',
  'Nutrition consult',
  'Pre-op assessment',
  'Wound care',
  'Second opinion',
];

/** [appointment]. Appointments book the latest availability slots (same staff, same start). */
export function appointmentSeeds(): TableSeed[] {
  return [
    {
      table: 'appointment_types',
      columns: {
        id: 'n',
        code: `'AT' || lpad(n::text, 2, '0')`,
        name: `(${textArray(TYPES)})[(1 + (n - 1) % ${TYPES.length})::int]`,
        duration_minutes: 'sd.appt_type_minutes(n)',
        color: `'#' || substr(sd.hex('appt.color', n), 1, 6)`,
      },
    },
    {
      table: 'availability_slots',
      derive: [{ st: 'sd.slot_at(n)' }],
      columns: {
        id: 'n',
        staff_id: 'sd.slot_staff(n)',
        starts_at: 'sd.ts(st)',
        ends_at: `sd.ts(st + 60 * (ARRAY[15, 30, 30, 45, 60])[(1 + sd.h('slot.length', n) % 5)::int])`,
        is_booked: `n > sd.n('slot_offset') AND n - sd.n('slot_offset') <= sd.n('appointments')
                    AND sd.appt_slot(n - sd.n('slot_offset')) IS NOT NULL`,
      },
    },
    {
      table: 'appointments',
      derive: [
        { slot: 'sd.appt_slot(n)', ty: `sd.pick('appt.type', n, sd.n('appointment_types'))` },
        {
          doc: `CASE WHEN slot IS NULL THEN sd.physician('appt.staff', n) ELSE sd.slot_staff(slot) END`,
          st: `CASE WHEN slot IS NULL THEN sd.t0() + (sd.u('appt.at', n) * ${APPT_SPAN})::bigint ELSE sd.slot_at(slot) END`,
        },
        {
          stat: `CASE WHEN st >= ${END} THEN sd.choose('appt.upcoming', n, ${textArray(['scheduled', 'scheduled', 'confirmed'])})
                      ELSE sd.choose('appt.status', n, ${textArray([...Array(14).fill('completed'), 'cancelled', 'cancelled', 'no_show', 'checked_in'])}) END`,
        },
      ],
      columns: {
        id: 'n',
        patient_id: `sd.skewed_patient('appt.patient', n)`,
        staff_id: 'doc',
        hospital_id: 'sd.staff_hospital(doc)',
        appointment_type_id: 'ty',
        slot_id: 'slot',
        scheduled_at: 'sd.ts(st)',
        duration_minutes: 'sd.appt_type_minutes(ty)',
        status: 'stat::appointment_status',
        reason: `CASE WHEN sd.chance('appt.reason?', n, 0.7) THEN sd.choose('appt.reason', n, ${textArray(COMPLAINTS)}) END`,
        cancelled_at: `CASE WHEN stat = 'cancelled' THEN sd.ts(st - sd.between('appt.cancelled', n, 3600, 14 * ${DAY})) END`,
        cancel_reason: `CASE WHEN stat = 'cancelled' THEN sd.choose('appt.cancel_reason', n, ${textArray(['patient request', 'provider unavailable', 'weather', 'rescheduled', 'insurance issue'])}) END`,
        created_at: `sd.ts(st - sd.between('appt.created', n, 15 * ${DAY}, 60 * ${DAY}))`,
        updated_at: `sd.ts(st - sd.between('appt.updated', n, 0, 14 * ${DAY}))`,
      },
    },
    {
      table: 'scheduling_rules',
      derive: [{ hosp: `sd.pick('rule.hospital', n, sd.n('hospitals'))` }],
      columns: {
        id: 'n',
        hospital_id: 'hosp',
        department_id: `CASE WHEN sd.chance('rule.department?', n, 0.7) THEN (hosp - 1) * 15 + sd.pick('rule.department', n, 15) END`,
        appointment_type_id: `sd.pick('rule.type', n, sd.n('appointment_types'))`,
        rule: `jsonb_build_object(
                 'weekdays', CASE WHEN sd.chance('rule.saturday', n, 0.2) THEN '[1, 2, 3, 4, 5, 6]'::jsonb ELSE '[1, 2, 3, 4, 5]'::jsonb END,
                 'start', sd.choose('rule.start', n, ${textArray(['07:00', '08:00', '09:00'])}),
                 'end', sd.choose('rule.end', n, ${textArray(['16:00', '17:00', '18:00'])}),
                 'slot_minutes', (ARRAY[15, 20, 30])[(1 + sd.h('rule.slot', n) % 3)::int],
                 'allow_overbooking', sd.chance('rule.overbook', n, 0.1))`,
        max_per_day: `CASE WHEN sd.chance('rule.max?', n, 0.8) THEN (8 + sd.h('rule.max', n) % 24)::int END`,
        is_active: `NOT sd.chance('rule.inactive', n, 0.1)`,
        updated_at: `sd.ts(sd.at('rule.updated', n))`,
      },
    },
    {
      table: 'waitlist_entries',
      columns: {
        id: 'n',
        patient_id: `sd.pick('wait.patient', n, sd.n('patients'))`,
        department_id: `sd.pick('wait.department', n, sd.n('departments'))`,
        appointment_type_id: `sd.pick('wait.type', n, sd.n('appointment_types'))`,
        priority: `(1 + sd.h('wait.priority', n) % 5)::smallint`,
        status: `sd.choose('wait.status', n, ${textArray(['waiting', 'waiting', 'waiting', 'waiting', 'waiting', 'offered', 'booked', 'cancelled'])})`,
        notes: `CASE WHEN sd.chance('wait.notes?', n, 0.3) THEN sd.choose('wait.notes', n, ${textArray(['prefers mornings', 'needs interpreter', 'wheelchair access', 'flexible schedule', 'call before noon'])}) END`,
        requested_at: `sd.ts(sd.spread_at('wait.at', n, sd.n('waitlist_entries')))`,
      },
    },
  ];
}
