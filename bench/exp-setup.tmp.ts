import { startCluster } from '../src/cluster/local-cluster.js';
import { seedMonolith } from '../src/demo/seed/seed-monolith.js';
import { withClient } from '../src/pg/connect.js';
const c = await startCluster({ name: 'exp', fsync: false, keep: true, settings: { shared_buffers: '256MB' } });
await withClient(c.url(), (x) => x.query('CREATE DATABASE caresync'));
const url = c.url('caresync');
await seedMonolith({ url, scale: 0.05, seed: 1 });
await withClient(url, (x) => x.query('VACUUM ANALYZE'));
console.log(url);
