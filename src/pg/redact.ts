/**
 * Secrets never reach output or logs. A password can sit in a connection URL in two places: the
 * userinfo (`postgres://user:secret@host/db`) and a `password` parameter (`…/db?password=secret`,
 * as libpq accepts) — or another secret-bearing parameter (isSecretParameter); all are replaced by
 * `***`.
 */

const MASK = '***';

/**
 * Query parameters that carry secrets: `password` (libpq and node-postgres read it from the query
 * as well as from the user-info part), `sslpassword` (the client key's passphrase), and anything
 * else that names a password, secret or token.
 */
export function isSecretParameter(name: string): boolean {
  return /pass|secret|token/i.test(name);
}

/** The URL without its password (user-info or secret query parameters), for logs and messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = MASK;
    // NATS takes a token as the bare user-info (`nats://token@host:4222`): a secret too.
    else if (parsed.username && /^(nats|tls):$/.test(parsed.protocol)) parsed.username = MASK;
    for (const key of [...parsed.searchParams.keys()]) {
      if (isSecretParameter(key)) parsed.searchParams.set(key, MASK);
    }
    return parsed.toString();
  } catch {
    return '<unparseable connection URL>';
  }
}

/** postgres://, postgresql:// and NATS (nats://, tls://) URLs inside free text, up to the next blank or quote. */
const URL_IN_TEXT = /\b(?:postgres(?:ql)?|nats|tls):\/\/[^\s'"`<>]+/gi;
/** `password=…` (or `sslpassword=…`, …) as a URL parameter or a libpq keyword/value pair. */
const PASSWORD_PARAM = /(\b\w*(?:pass|secret|token)\w*\s*=\s*)('[^']*'|"[^"]*"|[^\s&'"`]+)/gi;

/**
 * Free text (an error message, a hint, a detail) with every password it may carry masked: URLs
 * in it redacted, `password=…` pairs masked, and `secret` itself (a password known to the caller)
 * replaced wherever it appears verbatim.
 */
export function redactText(text: string, secret?: string): string {
  let out = text.replace(URL_IN_TEXT, (url) => redactUrl(url));
  out = out.replace(PASSWORD_PARAM, (_match, key: string) => `${key}${MASK}`);
  if (secret) out = out.split(secret).join(MASK);
  return out;
}

/** A JSON-like value with every string in it passed through redactText (same shape). */
export function redactValue<T>(value: T, secret?: string): T {
  return redactAny(value, secret) as T;
}

function redactAny(value: unknown, secret: string | undefined): unknown {
  if (typeof value === 'string') return redactText(value, secret);
  if (Array.isArray(value)) return value.map((v) => redactAny(v, secret));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactAny(v, secret)]));
  }
  return value;
}
