/**
 * What the soak runs against: one Herald node (the embedded default), or with
 * `--cluster` two nodes on a Redis with its append-only file, behind the real
 * deploy/nginx.conf. Every process is started and stopped by PID.
 */
import { startHeraldProcess, type HeraldProcess } from '../../test/herald-process.js';
import { startNginx, type Nginx } from '../../test/nginx.js';
import { startRedis, type RedisProcess } from '../../test/redis-server.js';

export interface Deployment {
  nodes: HeraldProcess[];
  redis: RedisProcess | undefined;
  /** Where clients connect: the one node, or nginx in front of both. */
  entry: string;
  stop(): Promise<void>;
}

const ENV = {
  // Feeds keep everything the run publishes, and nothing limits the soak's own publishers.
  RETENTION_PER_STREAM: '1000000',
  API_RATE_PER_SEC: '0',
  LOG_LEVEL: 'warn',
};

export async function deploy(cluster: boolean): Promise<Deployment> {
  if (!cluster) {
    const node = await startHeraldProcess({ env: { ...ENV, NODE_ID: 'soak-1' } });
    return { nodes: [node], redis: undefined, entry: node.url, stop: () => node.dispose() };
  }
  const redis = await startRedis({ persistent: true });
  const nodes: HeraldProcess[] = [];
  let nginx: Nginx | undefined;
  const stop = async () => {
    await nginx?.stop();
    await Promise.all(nodes.map((n) => n.dispose()));
    await redis.stop();
  };
  try {
    for (const id of ['soak-1', 'soak-2']) {
      nodes.push(await startHeraldProcess({ env: { ...ENV, NODE_ID: id, REDIS_URL: redis.url, NODE_HEARTBEAT_MS: '500', NODE_TIMEOUT_MS: '2000' } }));
    }
    nginx = await startNginx([nodes[0]!.port, nodes[1]!.port]);
    return { nodes, redis, entry: nginx.url, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
