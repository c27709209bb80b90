import type { ProvisionEvent } from './events.js';

export interface ProvisionOptions {
  /** Where generated role passwords are kept; default defaultSecretsDir(migration). */
  secretsDir?: string;
  env?: Readonly<Record<string, string | undefined>>;
  /** Also build the post-load indexes and foreign keys right away. */
  withIndexes?: boolean;
  /** Parallel index builds per database (with withIndexes). */
  jobs?: number;
  onEvent?: (event: ProvisionEvent) => void;
}
