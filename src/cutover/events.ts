import type { VerifyResult } from '../verify/events.js';

export type CutoverStep =
  | 'pre-checks'
  | 'freeze'
  | 'drain'
  | 'verify'
  | 'sequences'
  | 'journal'
  | 'reverse'
  | 'unfreeze-service'
  | 'switch';

export type RollbackStep =
  | 'freeze-service'
  | 'drain-reverse'
  | 'verify'
  | 'sequences'
  | 'unfreeze-monolith'
  | 'drop-reverse'
  | 'journal';

export interface PlannedStep {
  step: CutoverStep | RollbackStep;
  description: string;
  /** Where the SQL runs: the monolith or a service database. */
  on: string;
  sql: string[];
}

export interface MovedSequence {
  database: string;
  sequence: string;
  from: string | null;
  to: string;
}

export interface CutoverResult {
  service: string;
  database: string;
  /** Everything was done before (a rerun of a finished cutover changes nothing). */
  alreadyDone: boolean;
  /** This run finished the steps a killed run left (after the point of no return). */
  resumed: boolean;
  drainLsn: string;
  steps: { step: CutoverStep; seconds: number }[];
  verify: Pick<VerifyResult, 'ok'> | null;
  sequences: MovedSequence[];
  reverse: { slot: string; publication: string; startLsn: string } | null;
  /** Write-unavailability window: freeze start → switch done, seconds (null when not measured here). */
  unavailableSeconds: number | null;
  /** The whole command, seconds. */
  seconds: number;
}

export interface RollbackResult {
  service: string;
  database: string;
  /** The cutover had not passed its point of no return: only the monolith freeze was undone. */
  partial: boolean;
  alreadyDone: boolean;
  rollbackLsn: string | null;
  steps: { step: RollbackStep; seconds: number }[];
  verify: Pick<VerifyResult, 'ok'> | null;
  sequences: MovedSequence[];
  /** Service freeze start → monolith writable again, seconds. */
  unavailableSeconds: number | null;
  seconds: number;
}

export type CutoverEvent =
  | { type: 'step-started'; command: 'cutover' | 'rollback'; step: CutoverStep | RollbackStep }
  | { type: 'step-done'; command: 'cutover' | 'rollback'; step: CutoverStep | RollbackStep; seconds: number }
  | {
      type: 'step-skipped';
      command: 'cutover' | 'rollback';
      step: CutoverStep | RollbackStep;
      reason: string;
    }
  | { type: 'freeze-retry'; attempt: number; delayMs: number }
  | { type: 'drain-waiting'; database: string; appliedLsn: string; drainLsn: string }
  | { type: 'undone'; command: 'cutover'; reason: string }
  | { type: 'planned'; steps: PlannedStep[] }
  | { type: 'switch-output'; stream: 'stdout' | 'stderr'; text: string };
