import { createHash } from 'node:crypto';
import type { ServiceRoute } from '../routing/model.js';

/**
 * Slot and publication names of a service's reverse stream, on the service's database:
 * `carve_<migration>_rev_<service>`. Slot names allow only a-z, 0-9 and _ and at most 63 bytes,
 * so anything else becomes `_`, and a name that would be longer keeps a hash of the whole instead
 * of its tail (two services never share a name).
 */
export function reverseStreamName(migration: string, service: Pick<ServiceRoute, 'name'>): string {
  const full = `carve_${migration}_rev_${service.name}`;
  const safe = full.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  if (safe === full && safe.length <= 63) return safe;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 8);
  return `${safe.slice(0, 54)}_${hash}`;
}
