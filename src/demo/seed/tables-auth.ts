import {
  DEPARTMENTS,
  EMAIL_DOMAINS,
  PERMISSION_ACTIONS,
  PERMISSION_RESOURCES,
  ROLES,
  SPECIALTIES,
} from './word-lists.js';
import { textArray, type TableSeed } from './table-seed.js';
import { DEPARTMENTS_PER_HOSPITAL, ROLE_PERMISSIONS_PER_ROLE, SECOND_ROLE_EVERY } from './volumes.js';

const DAY = 86_400;

/**
 * [auth]. Profiles 1 … staff are the staff's logins; the next ones belong to patients 1, 2, …
 * (their portal accounts, with the patient's name); user_roles gives every profile its role and
 * every fifth one a second.
 */
export function authSeeds(): TableSeed[] {
  return [
    {
      table: 'profiles',
      derive: [
        {
          pat: `CASE WHEN n > sd.n('hospital_staff') AND n - sd.n('hospital_staff') <= sd.n('patients')
                     THEN n - sd.n('hospital_staff') END`,
          cre: `sd.spread_at('profile.created', n, sd.n('profiles'))`,
        },
        {
          fem: `CASE WHEN pat IS NULL THEN sd.chance('profile.female', n, 0.5) ELSE sd.patient_female(pat) END`,
        },
        {
          first: `CASE WHEN pat IS NULL THEN sd.first_name('profile.first', n, fem) ELSE sd.first_name('patient.first', pat, fem) END`,
          last: `CASE WHEN pat IS NULL THEN sd.last_name('profile.last', n) ELSE sd.last_name('patient.last', pat) END`,
        },
      ],
      columns: {
        id: `sd.uid('profile', n)`,
        email: `sd.email_local(first, last) || n::text || '@' || sd.choose('profile.domain', n, ${textArray(EMAIL_DOMAINS)})`,
        display_name: `first || ' ' || last`,
        phone: `CASE WHEN sd.chance('profile.phone?', n, 0.7) THEN sd.phone('profile.phone', n) END`,
        password_hash: `'$2b$12$' || sd.hex('profile.salt', n) || substr(sd.hex('profile.password', n), 1, 21)`,
        legacy_password_md5: `CASE WHEN sd.chance('profile.legacy', n, 0.35) THEN sd.hex('profile.md5', n) END`,
        is_active: `NOT sd.chance('profile.inactive', n, 0.05)`,
        last_login_at: `CASE WHEN sd.chance('profile.login?', n, 0.8) THEN sd.ts(cre + sd.between('profile.login', n, 0, 365 * ${DAY})) END`,
        // Created by an earlier staff profile (a lower n: already inserted).
        created_by: `CASE WHEN n > 1 AND sd.chance('profile.by?', n, 0.3)
                          THEN sd.uid('profile', sd.pick('profile.by', n, least(n - 1, sd.n('hospital_staff')))) END`,
        created_at: 'sd.ts(cre)',
        updated_at: `sd.ts(cre + sd.between('profile.updated', n, 0, 400 * ${DAY}))`,
      },
    },
    {
      table: 'roles',
      columns: {
        id: 'n',
        name: `(${textArray(ROLES)})[n::int]`,
        description: `initcap(replace((${textArray(ROLES)})[n::int], '_', ' ')) || ' access'`,
      },
    },
    {
      table: 'permissions',
      derive: [
        {
          res: `(${textArray(PERMISSION_RESOURCES)})[((n - 1) / ${PERMISSION_ACTIONS.length} + 1)::int]`,
          act: `(${textArray(PERMISSION_ACTIONS)})[((n - 1) % ${PERMISSION_ACTIONS.length} + 1)::int]`,
        },
      ],
      columns: {
        id: 'n',
        code: `res || '.' || act`,
        description: `'May ' || act || ' ' || replace(res, '_', ' ')`,
      },
    },
    {
      table: 'role_permissions',
      derive: [{ r: `(n - 1) / ${ROLE_PERMISSIONS_PER_ROLE} + 1` }],
      columns: {
        role_id: 'r',
        // Consecutive offsets modulo the permission count: distinct within a role.
        permission_id: `(r * 7 + (n - 1) % ${ROLE_PERMISSIONS_PER_ROLE}) % sd.n('permissions') + 1`,
        granted_at: `sd.ts(sd.t0() - 700 * ${DAY} + n * 60)`,
      },
    },
    {
      table: 'user_roles',
      derive: [
        {
          prof: `CASE WHEN n <= sd.n('profiles') THEN n ELSE ${SECOND_ROLE_EVERY} * (n - sd.n('profiles')) END`,
        },
      ],
      columns: {
        profile_id: `sd.uid('profile', prof)`,
        // Staff get their type's role, portal users 'patient'; second roles are 10 … 12.
        role_id: `CASE WHEN n > sd.n('profiles') THEN 10 + prof % 3
                       WHEN prof <= sd.n('hospital_staff') THEN (ARRAY[2, 2, 2, 3, 3, 3, 4, 5, 6, 7])[(1 + (prof - 1) % 10)::int]
                       ELSE 9 END`,
        granted_by: `CASE WHEN sd.chance('ur.by?', n, 0.5) THEN sd.uid('profile', sd.pick('ur.by', n, sd.n('hospital_staff'))) END`,
        granted_at: `sd.ts(sd.spread_at('profile.created', prof, sd.n('profiles')) + 60)`,
      },
    },
    {
      table: 'departments',
      derive: [
        {
          hosp: `(n - 1) / ${DEPARTMENTS_PER_HOSPITAL} + 1`,
          // 15 consecutive names (mod 30) per hospital: distinct within it.
          nm: `(${textArray(DEPARTMENTS)})[((((n - 1) / ${DEPARTMENTS_PER_HOSPITAL} + 1) * 7 + (n - 1) % ${DEPARTMENTS_PER_HOSPITAL}) % ${DEPARTMENTS.length} + 1)::int]`,
        },
      ],
      columns: {
        id: 'n',
        hospital_id: 'hosp',
        name: 'nm',
        code: `upper(left(replace(nm, ' ', ''), 4)) || '-' || lpad(hosp::text, 4, '0')`,
        floor: `CASE WHEN sd.chance('dept.floor?', n, 0.9) THEN sd.between('dept.floor', n, 0, 12)::smallint END`,
      },
    },
    {
      table: 'hospital_staff',
      derive: [{ kind: 'sd.staff_type(n)' }],
      columns: {
        id: 'n',
        profile_id: `sd.uid('profile', n)`,
        hospital_id: 'sd.staff_hospital(n)',
        department_id: `CASE WHEN kind = 'admin' AND sd.chance('staff.nodept', n, 0.5) THEN NULL ELSE sd.staff_department(n) END`,
        staff_type: 'kind',
        license_number: `CASE WHEN kind IN ('physician', 'nurse', 'pharmacist') THEN 'LIC-' || lpad(n::text, 8, '0') END`,
        specialty: `CASE WHEN kind = 'physician' THEN sd.choose('staff.specialty', n, ${textArray(SPECIALTIES)}) END`,
        hired_on: `sd.day(sd.t0() - sd.between('staff.hired', n, 0, 25 * 365 * ${DAY}))`,
        is_active: `NOT sd.chance('staff.left', n, 0.06)`,
        updated_at: `sd.ts(sd.at('staff.updated', n))`,
      },
    },
    {
      table: 'sessions',
      derive: [{ cre: `sd.spread_at('session.created', n, sd.n('sessions'))` }],
      columns: {
        id: `sd.uid('session', n)`,
        profile_id: `sd.uid('profile', sd.pick('session.profile', n, sd.n('profiles')))`,
        created_at: 'sd.ts(cre)',
        expires_at: `sd.ts(cre + CASE WHEN sd.chance('session.remember', n, 0.3) THEN 30 * ${DAY} ELSE 8 * 3600 END)`,
        ip_address: `('10.' || (sd.h('session.ip', n) % 256)::text || '.' || ((sd.h('session.ip', n) >> 8) % 256)::text || '.' ||
                      ((sd.h('session.ip', n) >> 16) % 256)::text)::inet`,
        user_agent: `sd.choose('session.agent', n, ${textArray([
          'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0',
          'Mozilla/5.0 (Macintosh; Intel Mac OS X 13_4) AppleWebKit/605.1.15 Safari/16.5',
          'CareSyncMobile/4.2 (iPhone; iOS 17.1)',
          'CareSyncMobile/4.1 (Android 14; Pixel 7)',
          'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0',
        ])})`,
        revoked_at: `CASE WHEN sd.chance('session.revoked', n, 0.1) THEN sd.ts(cre + 600 + sd.h('session.revoke', n) % 7200) END`,
      },
    },
  ];
}
