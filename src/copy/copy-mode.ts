import { CarveError } from '../errors.js';
import { parseLsn } from '../pg/lsn.js';
import type { SlotInfo } from '../pg/replication/slot.js';
import type { Routing } from '../routing/model.js';
import { startOverHint } from '../sync/start-over-hint.js';
import type { TargetState } from './preflight.js';

/**
 * Fresh or resumed, from what the targets record and whether the slot is there: refuses every
 * combination that would copy into rows or a slot it cannot account for.
 */
export function decideMode(
  resume: boolean,
  states: TargetState[],
  slot: SlotInfo,
  routing: Routing,
): 'fresh' | 'resume' {
  const names = routing.names;
  const slotExists = slot.exists;
  const recorded = states.filter((s) => s.migration);
  const lsns = new Set(recorded.map((s) => s.migration!.consistentLsn));
  if (lsns.size > 1) {
    throw new CarveError(
      'COPY_STATE_INCONSISTENT',
      `Target databases record different runs of migration "${names.migration}"`,
      {
        details: {
          databases: recorded.map((s) => ({
            database: s.service.database,
            consistentLsn: s.migration!.consistentLsn,
          })),
        },
        hint: 'The targets were written by different copy runs; drop the service databases and start again with carve provision and carve copy.',
      },
    );
  }
  const nonEmpty = states.flatMap((s) => s.nonEmpty);
  if (recorded.length) {
    if (!resume) {
      throw new CarveError(
        'COPY_ALREADY_STARTED',
        `A copy of migration "${names.migration}" was already started into these databases`,
        {
          details: { databases: recorded.map((s) => s.service.database) },
          hint: 'Run `carve copy --resume` to finish it.',
        },
      );
    }
    if (!slot.exists || slot.walStatus === 'lost') {
      throw new CarveError(
        'COPY_SLOT_LOST',
        slot.exists
          ? `Replication slot ${names.slot} lost WAL it needed (wal_status = lost), so changes made since the copy began are lost`
          : `Replication slot ${names.slot} is gone, so changes made since the copy began are lost`,
        {
          details: { slot: names.slot, walStatus: slot.exists ? slot.walStatus : null },
          hint: startOverHint(routing),
        },
      );
    }
    return 'resume';
  }
  if (nonEmpty.length) {
    throw new CarveError('COPY_TARGET_NOT_EMPTY', `Target tables already hold rows: ${nonEmpty.join(', ')}`, {
      details: { routes: nonEmpty },
      // No copy is recorded (that would be COPY_ALREADY_STARTED), so --resume refuses these rows
      // too, and provision keeps the rows of tables it finds: only emptying them helps.
      hint: 'carve copies into empty tables only, and no copy of this migration is recorded there (--resume does not take these rows). Empty the tables named (TRUNCATE), or drop the service databases and run carve provision again; then run carve copy.',
    });
  }
  if (slotExists && !resume) {
    throw new CarveError(
      'COPY_SLOT_EXISTS',
      `Replication slot ${names.slot} already exists on the monolith but no target records it`,
      {
        details: { slot: names.slot },
        hint: `If it is a leftover of an interrupted carve copy, run again with --resume (it is recreated); otherwise another tool owns it: choose another migration name in the plan, or drop it with SELECT pg_drop_replication_slot('${names.slot}').`,
      },
    );
  }
  // With --resume, a slot nobody recorded and empty targets may be our own copy killed between
  // creating the slot and recording it: nothing depends on it yet, so it is recreated — but only
  // when it is the slot that copy claimed; one another tool made under the same name is not dropped.
  if (slotExists && resume) {
    const doubts = ownershipDoubts(slot, states, routing);
    if (doubts.length) {
      const plan = routing.planFile ?? '<plan.yaml>';
      throw new CarveError(
        'COPY_SLOT_NOT_OURS',
        `Replication slot ${names.slot} exists on the monolith, no target records it, and carve copy did not create it: ${doubts.join('; ')}`,
        {
          details: { slot: names.slot, doubts },
          hint: `carve drops only a slot it created. If another tool uses ${names.slot}, give this migration another name (name: in ${plan}; the slot is carve_<name>); if nothing uses it, drop it on the monolith with SELECT pg_drop_replication_slot('${names.slot}'). Then run carve copy --plan ${plan} again.`,
        },
      );
    }
  }
  return 'fresh';
}

/**
 * Why the existing slot may not be the one carve copy created (empty: it is). Before creating the
 * slot, copy records in the targets the monolith database and its WAL position (slot_claims); a
 * slot created after that starts at or after it. A pgoutput slot of that database, not in use,
 * starting there, is taken to be copy's own.
 */
function ownershipDoubts(
  slot: SlotInfo & { exists: true },
  states: TargetState[],
  routing: Routing,
): string[] {
  const claim = states.map((s) => s.slotClaim).find((c) => c?.slot === routing.names.slot);
  if (!claim) return ['no target records that carve copy was creating it'];
  const doubts: string[] = [];
  if (slot.slotType !== 'logical' || slot.plugin !== 'pgoutput')
    doubts.push(
      `it is a ${slot.slotType} slot${slot.plugin ? ` with plugin ${slot.plugin}` : ''}, not pgoutput`,
    );
  if (slot.database !== claim.database)
    doubts.push(`it is in database ${slot.database ?? '(none)'}, not ${claim.database}`);
  if (slot.temporary) doubts.push('it is temporary');
  if (slot.active) doubts.push(`it is in use (pid ${slot.activePid})`);
  if (slot.restartLsn === null || slot.restartLsn < parseLsn(claim.claimedLsn))
    doubts.push(`it starts before carve copy claimed the name (at ${claim.claimedLsn})`);
  return doubts;
}
