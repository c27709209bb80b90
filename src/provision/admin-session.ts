import { atServer, type Client, openSession, withDatabase } from '../pg/connect.js';
import type { ServiceRoute } from '../routing/model.js';

const serverOf = (s: ServiceRoute) => s.serverUrl ?? withDatabase(s.adminUrl, 'postgres');

/** Services by target server (its admin URL): roles and databases are server-wide objects. */
export function groupByServer(services: readonly ServiceRoute[]): Map<string, ServiceRoute[]> {
  const out = new Map<string, ServiceRoute[]>();
  for (const s of services) out.set(serverOf(s), [...(out.get(serverOf(s)) ?? []), s]);
  return out;
}

/** The admin's session on a target server, for as long as `fn` runs. */
export async function withAdmin<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client: Client = await openSession(atServer(url), { applicationName: 'carve provision' });
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}
