import { describeSyncError } from '../sync/errors.js';
import { listReverseStreams, lostReverseSlotHint, readReverseStatus } from '../reverse/index.js';
import type { Routing } from '../routing/model.js';
import { movedSuffix, type MovedService } from '../sync/moved-services.js';
import { startOverHint } from '../sync/start-over-hint.js';
import { behindSlotError } from '../sync/behind-slot.js';
import { parseLsn } from '../pg/lsn.js';
import type { SlotStatus, SyncStatus } from '../sync/status.js';

/** Something about a migration the operator must act on, shown by `carve status` above all else. */
export interface StatusAlert {
  code:
    | 'SLOT_MISSING'
    | 'SLOT_LOST'
    | 'SLOT_WAL_UNRESERVED'
    | 'SLOT_WAL_RETAINED'
    | 'REVERSE_NOT_RUNNING'
    | 'REVERSE_SLOT_MISSING'
    | 'TARGET_BEHIND_SLOT'
    // src/cutover/status.ts
    | 'CUTOVER_UNFINISHED'
    | 'ROLLBACK_UNFINISHED';
  /** error: streaming cannot resume, or is about to lose that; warning: it costs the monolith. */
  severity: 'error' | 'warning';
  message: string;
  hint: string;
  details: Record<string, unknown>;
}

export interface SlotAlertInput {
  slot: SlotStatus;
  /** The migration's publication still exists (a dropped slot without it means carve teardown ran). */
  publicationExists: boolean;
  /** A carve sync streams from the slot right now. */
  running: boolean;
  /** Warn when the slot keeps more WAL than this while no sync runs. */
  walWarnBytes: number;
  /**
   * Services that left the monolith (src/sync/moved-services.ts), read when the slot is gone or
   * lost: the way out must keep their databases.
   */
  moved?: readonly MovedService[];
}

/**
 * The alerts about a recorded migration's replication slot: gone, invalidated, about to be, or
 * holding much WAL on the monolith while nothing consumes it.
 */
export function slotAlerts(routing: Routing, input: SlotAlertInput): StatusAlert[] {
  const { slot } = input;
  const name = slot.name;
  const moved = input.moved ?? [];
  const cutOver = moved.map((m) => ({ service: m.service, database: m.database, phase: m.phase }));
  if (!slot.exists) {
    if (!input.publicationExists) return []; // carve teardown: phase torn-down says it
    return [
      {
        code: 'SLOT_MISSING',
        severity: 'error',
        message: `Replication slot ${name} does not exist on the monolith, but the service databases record a migration that streams from it${movedSuffix(moved)}`,
        hint: startOverHint(routing, moved),
        details: { slot: name, cutOver },
      },
    ];
  }
  if (slot.walStatus === 'lost') {
    return [
      {
        code: 'SLOT_LOST',
        severity: 'error',
        message: `Replication slot ${name} lost WAL it needed (wal_status = lost): the monolith removed changes sync had not applied yet (max_slot_wal_keep_size)${movedSuffix(moved)}`,
        hint: startOverHint(routing, moved),
        details: { slot: name, walStatus: slot.walStatus, cutOver },
      },
    ];
  }
  const alerts: StatusAlert[] = [];
  if (slot.walStatus === 'unreserved') {
    alerts.push({
      code: 'SLOT_WAL_UNRESERVED',
      severity: 'error',
      message: `Replication slot ${name} keeps more WAL than max_slot_wal_keep_size allows (wal_status = unreserved): the monolith's next checkpoint removes WAL it still needs, and then streaming cannot resume`,
      hint: input.running
        ? 'carve sync is running but too far behind: give it room now (raise max_slot_wal_keep_size on the monolith and reload), or lower the write load until it catches up.'
        : 'Start carve sync --plan <plan> now and keep it running until carve status no longer reports this: the slot releases WAL only as the stream passes the snapshot records the monolith writes about every 15 s (or raise max_slot_wal_keep_size on the monolith and reload).',
      details: { slot: name, walStatus: slot.walStatus, retainedWalBytes: slot.retainedWalBytes },
    });
  }
  if (!input.running && slot.retainedWalBytes !== null && slot.retainedWalBytes > input.walWarnBytes) {
    alerts.push({
      code: 'SLOT_WAL_RETAINED',
      severity: 'warning',
      message: `Replication slot ${name} keeps ${mib(slot.retainedWalBytes)} of WAL on the monolith (more than ${mib(input.walWarnBytes)}) while no carve sync consumes it`,
      hint: 'Start carve sync --plan <plan> (it consumes the WAL as it applies), or, to abandon this migration, carve teardown --plan <plan> --yes (drops the slot and frees the WAL).',
      details: {
        slot: name,
        retainedWalBytes: slot.retainedWalBytes,
        thresholdBytes: input.walWarnBytes,
        safeWalBytes: slot.safeWalBytes,
      },
    });
  }
  return alerts;
}

/**
 * Service databases whose applied position is behind the slot's confirmed position while no
 * `carve apply` applies them from Kafka: the changes in between are no longer in the stream, so
 * the next in-process sync (and verify, cutover) refuses with SYNC_TARGET_BEHIND_SLOT — typically a
 * database restored from an older backup. The alert carries that error's message and hint, so the
 * operator learns it before a cutover window rather than in it. A database that `carve apply` is
 * bringing level (`carve sync --sink kafka-only`) is not one: that is how that mode runs.
 */
export function targetBehindAlerts(
  routing: Routing,
  sync: SyncStatus,
  moved: readonly MovedService[] = [],
): StatusAlert[] {
  const confirmed = sync.slot.confirmedFlushLsn;
  if (confirmed === null) return [];
  const behind = sync.targets
    .filter((t) => t.behindSlot && !t.applyingFromKafka && t.appliedLsn !== null)
    .map((t) => ({ database: t.database, applied: parseLsn(t.appliedLsn!) }));
  const error = behindSlotError(routing, behind, parseLsn(confirmed), moved);
  if (!error) return [];
  return [
    {
      code: 'TARGET_BEHIND_SLOT',
      severity: 'error',
      message: error.message,
      hint: error.hint ?? '',
      details: { ...error.details },
    },
  ];
}

/**
 * The alerts about the reverse streams of cut-over services (docs/reverse.md): a registered stream
 * that no process streams means the service's writes are missing from the monolith — the monolith
 * is then no complete copy, and a rollback would lose them until one runs again.
 */
export async function reverseAlerts(
  routing: Routing,
  options: { forwardSlotLost?: boolean } = {},
): Promise<StatusAlert[]> {
  // carve sync runs the reverse streams only beside the forward one: without the forward slot it
  // refuses, and asking for it would send the operator in a circle.
  const startIt = (service: string) =>
    options.forwardSlotLost
      ? `carve sync cannot run without the migration's slot (the SLOT_MISSING or SLOT_LOST alert): carve rollback --plan <plan> --service ${service} streams its writes into the monolith itself, as that alert's hint says.`
      : 'Start carve sync --plan <plan> and keep it running: it streams every cut-over service back into the monolith.';
  const services = await listReverseStreams(routing);
  const alerts: StatusAlert[] = [];
  for (const service of services) {
    try {
      const status = await readReverseStatus(routing, service);
      if (!status.slotExists) {
        alerts.push({
          code: 'REVERSE_SLOT_MISSING',
          severity: 'error',
          message: `${service} is cut over, but the slot ${status.slot} of its reverse stream is gone from ${status.database}: its writes since ${status.commitTime ?? status.appliedLsn} cannot reach the monolith`,
          hint: lostReverseSlotHint(service, '<plan>'),
          details: { service, database: status.database, slot: status.slot, appliedLsn: status.appliedLsn },
        });
      } else if (!status.running) {
        alerts.push({
          code: 'REVERSE_NOT_RUNNING',
          severity: 'error',
          message: `${service} is cut over, but no reverse stream runs: its writes in ${status.database} are missing from the monolith (${status.lagBytes ?? '?'} bytes of its WAL behind)`,
          hint: startIt(service),
          details: {
            service,
            database: status.database,
            slot: status.slot,
            appliedLsn: status.appliedLsn,
            lagBytes: status.lagBytes,
            lastActivity: status.lastActivity,
          },
        });
      }
    } catch (error) {
      const info = describeSyncError(error);
      alerts.push({
        code: 'REVERSE_NOT_RUNNING',
        severity: 'error',
        message: `${service} is cut over, and the state of its reverse stream cannot be read: ${info.code} ${info.message}`,
        hint: `Check that the service's database answers; carve sync --plan <plan> streams it back into the monolith.`,
        details: { service, error: info },
      });
    }
  }
  return alerts;
}

function mib(bytes: number): string {
  return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
}
