import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { once } from 'node:events';
import type { ServiceRoute } from '../routing/model.js';
import { connectMetaCommand, setvalSql } from './repair-sql.js';
import type { RepairPart, RepairSpool } from './route-collector.js';
import type { SequenceVerifyResult } from './events.js';

export interface RepairRoute {
  index: number;
  routeId: string;
  database: string;
}

/**
 * Assemble the repair file: per database, one transaction; deletes first (children before
 * parents: reverse load order), then updates and inserts (parents before children: load order),
 * then sequences. Statements are streamed from the spool, never held in memory.
 */
export async function writeRepairFile(
  file: string,
  header: { runId: string; lsn: string },
  services: readonly ServiceRoute[],
  routes: readonly RepairRoute[],
  spool: RepairSpool,
  sequences: readonly SequenceVerifyResult[],
): Promise<number> {
  await spool.closeAll();
  const out = createWriteStream(file);
  const write = async (text: string) => {
    if (!out.write(text)) await once(out, 'drain');
  };
  let sections = 0;
  await write(
    `-- carve verify repair SQL (run ${header.runId}, monolith LSN ${header.lsn}).\n` +
      `-- Brings the target rows back to the monolith's values. Apply with:\n` +
      `--   psql -v ON_ERROR_STOP=1 -d <any database on the target server> -f <this file>\n`,
  );
  for (const service of services) {
    const mine = routes.filter((r) => r.database === service.database);
    const order = (r: RepairRoute) => {
      const i = service.loadOrder.indexOf(r.routeId);
      return i < 0 ? Number.MAX_SAFE_INTEGER : i;
    };
    const forward = [...mine].sort((a, b) => order(a) - order(b));
    const parts: { route: RepairRoute; part: RepairPart }[] = [
      ...[...forward].reverse().map((route) => ({ route, part: 'delete' as const })),
      ...forward.map((route) => ({ route, part: 'update' as const })),
      ...forward.map((route) => ({ route, part: 'insert' as const })),
    ].filter((p) => existsSync(spool.file(p.route.index, p.part)));
    const seqs = sequences.filter((s) => s.database === service.database && s.status === 'behind');
    if (parts.length === 0 && seqs.length === 0) continue;
    sections++;
    // As carve's role of that database (its password from PGPASSWORD or ~/.pgpass), with nothing a
    // service created on the search_path.
    await write(`\n${connectMetaCommand(service.url)}\nSET search_path = pg_catalog, pg_temp;\nBEGIN;\n`);
    for (const p of parts) {
      await write(`-- ${p.route.routeId}: ${p.part}\n`);
      for await (const chunk of createReadStream(spool.file(p.route.index, p.part), { encoding: 'utf8' }))
        await write(chunk as string);
    }
    for (const s of seqs) await write(`${setvalSql(s.sequence, s.table, s.column)}\n`);
    await write('COMMIT;\n');
  }
  out.end();
  await once(out, 'finish');
  return sections;
}
