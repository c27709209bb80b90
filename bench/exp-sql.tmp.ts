import { withClient } from '../src/pg/connect.js';
import { prepareRouting } from '../src/routing/prepare-routing.js';
import { readSideColumns, buildRouteShape } from '../src/verify/route-shape.js';
import { bucketAggregateSql } from '../src/verify/route-sql.js';
const url = process.env.MONOLITH_URL!;
const { routing } = await prepareRouting('plans/caresync.yaml');
for (const name of (process.env.TABLES ?? 'consultations').split(',')) {
  const route = routing.routes.find((r) => r.target.name === name && r.kind === 'owned')!;
  const cols = await withClient(url, (c) => readSideColumns(c, route.source));
  const shape = buildRouteShape(route, cols, cols);
  const sql = bucketAggregateSql([shape], 'source', { kind: 'ranges', lo: 0n, width: 1000n }, null);
  console.log(`-- ${name}\n${sql.text.replace(/\$1/g, "'0'").replace(/\$2/g, "'1000'")};`);
}
