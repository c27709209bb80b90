import type { IndexBuilder } from '../copy/post-load.js';
import { createPostLoadObjects } from '../provision/post-load.js';

/**
 * The IndexBuilder copy and migrate need: provision's post-load step (secondary indexes and the
 * foreign keys inside one service database, created after the load), so that copy does not
 * depend on provision.
 */
export const buildIndexesWithProvision: IndexBuilder = async (routing, service, jobs) => {
  const result = await createPostLoadObjects(routing, service.name, { jobs });
  return { indexes: result.indexes, foreignKeys: result.foreignKeys };
};
