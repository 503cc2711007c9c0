import net from 'node:net';

/**
 * A loopback TCP proxy in front of Redis that can play a slow network for one
 * client connection, found by the name it gives itself (`CLIENT SETNAME`):
 * `drop(name)` cuts that connection (the client reconnects through the proxy),
 * and `delaySubscribe(name, ms)` holds what the client sends from its next
 * SUBSCRIBE or PSUBSCRIBE on, in order, for `ms` — a resubscription that takes
 * its time to reach Redis, while the client already counts itself connected.
 */
export interface RedisProxy {
  url: string;
  drop(name: string): void;
  delaySubscribe(name: string, ms: number): void;
  close(): Promise<void>;
}

interface Link {
  client: net.Socket;
  upstream: net.Socket;
  name?: string;
  delayMs: number;
}

export async function startRedisProxy(redisPort: number): Promise<RedisProxy> {
  const links = new Set<Link>();
  const delays = new Map<string, number>();

  const server = net.createServer((client) => {
    const upstream = net.connect(redisPort, '127.0.0.1');
    const link: Link = { client, upstream, delayMs: 0 };
    links.add(link);
    let sendAt = 0;
    client.on('data', (chunk) => {
      const text = chunk.toString('latin1');
      link.name ??= /SETNAME\r\n\$\d+\r\n([^\r]+)/i.exec(text)?.[1];
      const delay = link.name === undefined ? undefined : delays.get(link.name);
      if (delay !== undefined && /subscribe/i.test(text)) {
        delays.delete(link.name!);
        link.delayMs = delay;
      }
      if (link.delayMs === 0) {
        upstream.write(chunk);
        return;
      }
      // In order: a later chunk never overtakes an earlier one.
      sendAt = Math.max(sendAt, Date.now() + link.delayMs);
      setTimeout(() => upstream.write(chunk), sendAt - Date.now());
    });
    upstream.pipe(client);
    const end = () => {
      links.delete(link);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;

  return {
    url: `redis://127.0.0.1:${port}`,
    drop(name) {
      for (const link of links) if (link.name === name) link.client.destroy();
    },
    delaySubscribe(name, ms) {
      delays.set(name, ms);
    },
    async close() {
      for (const link of links) link.client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
