import type { PostLoadResult } from './post-load.js';

export type ProvisionEvent =
  | { type: 'checked'; database: string; missing: number; present: number }
  | { type: 'created'; database?: string; kind: string; name: string }
  | { type: 'granted'; database: string; statements: number }
  | { type: 'post-load'; result: PostLoadResult };

export interface ProvisionConflict {
  database?: string;
  kind: string;
  object: string;
  reasons: string[];
}

export interface ProvisionResult {
  created: { database?: string; kind: string; name: string }[];
  /** Objects that already existed, identical: left alone. */
  present: number;
  /** Role password files written by this run (paths only; never the passwords). */
  passwordFiles: string[];
  postLoad: PostLoadResult[];
}
