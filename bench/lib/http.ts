/** A keep-alive HTTP client for the driver: small, and light on the driver's CPU. */
import { Agent, request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

export interface HttpResponse {
  status: number;
  body: string;
}

export class HttpClient {
  private readonly agent: Agent;

  constructor(
    private readonly base: string,
    maxSockets = 64,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets });
  }

  /**
   * One request. A GET, PUT or DELETE that meets a kept-alive connection the
   * server closed at that very moment (its keep-alive timeout: "socket hang up",
   * ECONNRESET) is sent once more; a POST is not (it may have been acted on).
   */
  async send(method: string, path: string, body?: unknown, headers: Record<string, string> = {}, timeoutMs = 30_000): Promise<HttpResponse> {
    try {
      return await this.once(method, path, body, headers, timeoutMs);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (method === 'POST' || (e.code !== 'ECONNRESET' && e.message !== 'socket hang up')) throw err;
      return this.once(method, path, body, headers, timeoutMs);
    }
  }

  private once(method: string, path: string, body: unknown, headers: Record<string, string>, timeoutMs: number): Promise<HttpResponse> {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        this.base + path,
        {
          method,
          agent: this.agent,
          headers: payload === undefined ? headers : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...headers },
          timeout: timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Runs `task(i)` for i in [0, count) with at most `concurrency` at once. */
export async function inParallel(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
}

/**
 * `fetch`, waiting out a `503` with `Retry-After` (an overloaded or starting
 * node, SPEC §8) and sending again, as a publisher does, at most `tries` times;
 * resolves the last response.
 */
export async function fetchWaitingOut503(url: string, init: RequestInit, tries = 10): Promise<Response> {
  for (let attempt = 1; ; attempt++) {
    const res = await fetch(url, init);
    if (res.status !== 503 || attempt >= tries) return res;
    await res.arrayBuffer();
    await sleep(Number(res.headers.get('retry-after') ?? 1) * 1000);
  }
}
