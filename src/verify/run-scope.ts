import type { CutForeignKey, Routing, ServiceRoute, TableRoute } from '../routing/model.js';
import type { VerifyEvent } from './events.js';
import type { VerifyOptions } from './options.js';
import { VerifyState } from './state.js';
import { selectRoutes } from './verify-routes.js';

/** What one verify run reads and with which settings: fixed before it connects anywhere. */
export interface VerifyScope {
  options: VerifyOptions;
  routing: Routing;
  emit: (event: VerifyEvent) => void;
  /** Segments (and, beside them, foreign keys) compared at once. */
  jobs: number;
  applicationName: string;
  maxKeys: number;
  bucketRows: number;
  segmentRows: number;
  routes: TableRoute[];
  /** The cut foreign keys whose child route is verified. */
  foreignKeys: CutForeignKey[];
  /** Every service whose database holds a verified route or a verified key's parent. */
  services: ServiceRoute[];
  state: VerifyState;
}

export function scopeVerify(options: VerifyOptions): VerifyScope {
  const { routing } = options;
  const routes = selectRoutes(routing, options.tables);
  const foreignKeys = routing.cutForeignKeys.filter((fk) => routes.some((r) => r.id === fk.from.routeId));
  const databases = new Set([...routes.map((r) => r.database), ...foreignKeys.map((fk) => fk.to.database)]);
  return {
    options,
    routing,
    emit: options.onEvent ?? (() => {}),
    jobs: Math.max(1, Math.floor(options.jobs ?? 4)),
    applicationName: options.applicationName ?? 'carve verify',
    maxKeys: options.maxKeysPerTable ?? 100_000,
    bucketRows: Math.max(1, options.bucketRows ?? 1000),
    segmentRows: Math.max(1, options.segmentRows ?? 1_000_000),
    routes,
    foreignKeys,
    services: routing.services.filter((s) => databases.has(s.database)),
    state: new VerifyState(routing.names.stateSchema, routing.names.migration),
  };
}
