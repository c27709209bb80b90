/** [auth] identities, roles and staff. */
export const authDdl: readonly string[] = [
  `CREATE TABLE profiles (
     id uuid PRIMARY KEY,
     email email_address NOT NULL UNIQUE,
     display_name text NOT NULL,
     phone text,
     password_hash text NOT NULL,
     legacy_password_md5 text,
     is_active boolean NOT NULL DEFAULT true,
     last_login_at timestamptz,
     created_by uuid REFERENCES profiles (id),
     created_at timestamptz NOT NULL DEFAULT now(),
     updated_at timestamptz NOT NULL DEFAULT now()
   )`,
  `COMMENT ON COLUMN profiles.legacy_password_md5 IS 'Unsalted MD5 from the 2012 portal; the migration plan drops it.'`,
  `CREATE INDEX profiles_created_by_idx ON profiles (created_by)`,
  `CREATE TABLE roles (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     name text NOT NULL UNIQUE,
     description text NOT NULL
   )`,
  `CREATE TABLE permissions (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     code text NOT NULL UNIQUE,
     description text NOT NULL
   )`,
  `CREATE TABLE role_permissions (
     role_id bigint NOT NULL REFERENCES roles (id),
     permission_id bigint NOT NULL REFERENCES permissions (id),
     granted_at timestamptz NOT NULL DEFAULT now(),
     PRIMARY KEY (role_id, permission_id)
   )`,
  `CREATE INDEX role_permissions_permission_id_idx ON role_permissions (permission_id)`,
  `CREATE TABLE user_roles (
     profile_id uuid NOT NULL REFERENCES profiles (id),
     role_id bigint NOT NULL REFERENCES roles (id),
     granted_by uuid REFERENCES profiles (id),
     granted_at timestamptz NOT NULL DEFAULT now(),
     PRIMARY KEY (profile_id, role_id)
   )`,
  `CREATE INDEX user_roles_role_id_idx ON user_roles (role_id)`,
  `CREATE TABLE departments (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     hospital_id bigint NOT NULL REFERENCES hospitals (id),
     name text NOT NULL,
     code text NOT NULL,
     floor smallint,
     CONSTRAINT departments_hospital_name_key UNIQUE (hospital_id, name)
   )`,
  `CREATE TABLE hospital_staff (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     profile_id uuid NOT NULL UNIQUE REFERENCES profiles (id),
     hospital_id bigint NOT NULL REFERENCES hospitals (id),
     department_id bigint REFERENCES departments (id),
     staff_type text NOT NULL
       CHECK (staff_type IN ('physician', 'nurse', 'pharmacist', 'lab_technician', 'therapist', 'admin')),
     license_number text UNIQUE,
     specialty text,
     hired_on date NOT NULL,
     is_active boolean NOT NULL DEFAULT true,
     updated_at timestamptz NOT NULL DEFAULT now()
   )`,
  `CREATE INDEX hospital_staff_hospital_id_idx ON hospital_staff (hospital_id)`,
  `CREATE INDEX hospital_staff_department_id_idx ON hospital_staff (department_id)`,
  `CREATE TABLE sessions (
     id uuid PRIMARY KEY,
     profile_id uuid NOT NULL REFERENCES profiles (id),
     created_at timestamptz NOT NULL DEFAULT now(),
     expires_at timestamptz NOT NULL,
     ip_address inet,
     user_agent text,
     revoked_at timestamptz,
     CHECK (expires_at > created_at)
   )`,
  `CREATE INDEX sessions_profile_id_idx ON sessions (profile_id)`,
  `CREATE INDEX sessions_expires_at_idx ON sessions (expires_at)`,
];
