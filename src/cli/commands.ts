import type { Command } from 'commander';
import { registerAlertsCommand } from './alerts.js';
import { registerApplyCommand } from './apply.js';
import { registerBackupCommand } from './backup.js';
import { registerCancelCommand } from './cancel.js';
import { registerCompleteCommand } from './complete.js';
import { registerCopyCommand } from './copy.js';
import { registerCutoverCommand } from './cutover.js';
import { attachDemoRunAction } from './demo-run.js';
import { registerDemoCommand } from './demo.js';
import { registerMigrateCommand } from './migrate.js';
import { registerPlanCommand } from './plan.js';
import { registerProvisionCommand } from './provision.js';
import { registerRecoverCommand } from './recover.js';
import { registerRollbackCommand } from './rollback.js';
import { registerServeCommand } from './serve.js';
import { registerStatusCommand } from './status.js';
import { registerResyncCommand } from './resync.js';
import { registerSyncCommand } from './sync.js';
import { registerTeardownCommand } from './teardown.js';
import { registerVerifyCommand } from './verify.js';

/** Every command registers itself here; each lives in its own file under src/cli/. */
export function registerCommands(program: Command): void {
  registerPlanCommand(program);
  registerProvisionCommand(program);
  registerCopyCommand(program);
  registerSyncCommand(program);
  registerResyncCommand(program);
  registerApplyCommand(program);
  registerMigrateCommand(program);
  registerStatusCommand(program);
  registerVerifyCommand(program);
  registerCutoverCommand(program);
  registerRollbackCommand(program);
  registerCompleteCommand(program);
  registerCancelCommand(program);
  registerTeardownCommand(program);
  registerBackupCommand(program);
  registerRecoverCommand(program);
  registerAlertsCommand(program);
  registerServeCommand(program);
  attachDemoRunAction(registerDemoCommand(program));
}
