/**
 * `${VAR}` interpolation of every string value of a parsed plan (keys are left alone). `$${` stands
 * for a literal `${`. A variable that is not set is reported with the path of the value using it.
 */
export interface MissingVariable {
  variable: string;
  path: (string | number)[];
}

const PATTERN = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

export function interpolateString(
  value: string,
  env: Readonly<Record<string, string | undefined>>,
): { value: string; missing: string[] } {
  const missing: string[] = [];
  const out = value.replace(PATTERN, (match, name: string | undefined) => {
    if (match === '$${') return '${';
    const found = env[name!];
    if (found === undefined) {
      missing.push(name!);
      return match;
    }
    return found;
  });
  return { value: out, missing };
}

export function interpolate(
  value: unknown,
  env: Readonly<Record<string, string | undefined>>,
  path: (string | number)[] = [],
  missing: MissingVariable[] = [],
): { value: unknown; missing: MissingVariable[] } {
  if (typeof value === 'string') {
    const result = interpolateString(value, env);
    for (const variable of result.missing) missing.push({ variable, path });
    return { value: result.value, missing };
  }
  if (Array.isArray(value)) {
    return { value: value.map((item, i) => interpolate(item, env, [...path, i], missing).value), missing };
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value))
      out[key] = interpolate(item, env, [...path, key], missing).value;
    return { value: out, missing };
  }
  return { value, missing };
}
