import { reapLeftoverClusters } from '../src/cluster/leftovers.js';
import { clusterBaseDir } from '../src/cluster/local-cluster.js';

/** Before the suite: remove clusters that an earlier, killed test run left behind. */
export default function setup(): void {
  reapLeftoverClusters(clusterBaseDir());
}
