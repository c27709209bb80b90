import { redactText } from '../../pg/redact.js';
import type { Routing } from '../../routing/model.js';

const MASK = '***';

/**
 * Masks every secret in what the dashboard sends (pages, API answers, events) and logs: URLs with
 * passwords and `password=` pairs (redactText), plus the passwords this process knows verbatim
 * (those in the plan's connection URLs, the token), wherever they appear, even outside a URL.
 */
export function createSecretMask(routing: Routing, extra: readonly string[] = []): <T>(value: T) => T {
  const secrets = [...new Set([...urlSecrets(routing), ...extra].filter((s) => s.length >= 3))];
  // Longest first, so a secret that contains another is masked whole.
  secrets.sort((a, b) => b.length - a.length);
  const text = (s: string) => {
    let out = redactText(s);
    for (const secret of secrets) {
      if (out.includes(secret)) out = out.split(secret).join(MASK);
      const encoded = encodeURIComponent(secret);
      if (encoded !== secret && out.includes(encoded)) out = out.split(encoded).join(MASK);
    }
    return out;
  };
  const walk = (value: unknown): unknown => {
    if (typeof value === 'string') return text(value);
    if (Array.isArray(value)) return value.map(walk);
    if (value !== null && typeof value === 'object')
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v)]));
    return value;
  };
  return <T>(value: T) => walk(value) as T;
}

/**
 * Passwords in the plan's URLs: the userinfo and any parameter whose name says password. Every URL
 * of a service: carve's session URL (carve's role) and the admin's (the plan's `target`).
 */
function urlSecrets(routing: Routing): string[] {
  const urls = [
    routing.sourceUrl,
    ...routing.services.flatMap((s) => [s.url, s.adminUrl, ...(s.serverUrl ? [s.serverUrl] : [])]),
  ];
  const out: string[] = [];
  for (const url of urls) {
    try {
      const parsed = new URL(url);
      if (parsed.password) out.push(decodeURIComponent(parsed.password));
      for (const [key, value] of parsed.searchParams) if (/pass/i.test(key) && value) out.push(value);
    } catch {
      // Not a URL: nothing of it is sent anywhere.
    }
  }
  return out;
}
