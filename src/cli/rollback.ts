import type { Command } from 'commander';
import { rollback, type RollbackResult } from '../cutover/index.js';
import { formatSeconds } from './format.js';
import { runServiceStep, serviceStepCommand, type ServiceStepFlags } from './service-step.js';

export function registerRollbackCommand(program: Command): void {
  serviceStepCommand(program, 'rollback', {
    description:
      'Give a cut-over service back to the monolith: freeze its tables in its database, drain the reverse stream, verify, sequences, unfreeze the monolith',
    service: 'the service to roll back',
    timeout: 'freeze and reverse drain must succeed within this',
    sequenceGap: "move the monolith's sequences this far past the service's (default 1000)",
  }).action((options: ServiceStepFlags) => runServiceStep(options, 'rollback', rollback, describeRollback));
}

function describeRollback(result: RollbackResult): string {
  const what = result.alreadyDone
    ? `service ${result.service} was already rolled back`
    : result.partial
      ? `service ${result.service}: the unfinished cutover's freeze was removed; the monolith serves it`
      : `service ${result.service} rolled back to the monolith (its tables stay frozen in ${result.database})`;
  return (
    `${what}\n` +
    (result.unavailableSeconds === null
      ? ''
      : `  writes unavailable: ${formatSeconds(result.unavailableSeconds)}\n`) +
    `  rollback took ${formatSeconds(result.seconds)}\n`
  );
}
