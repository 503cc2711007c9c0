/**
 * A process of its own that asks `GET <url>/healthz` every 50 ms and records how
 * long each answer took (in the process that asks, so that the driver's own work
 * does not count), until the driver sends `stop`; it then replies with the
 * latencies (microseconds) of the answered probes and how many went unanswered.
 * A probe that cannot connect (the server is down) is not a latency.
 */
import { setTimeout as sleep } from 'node:timers/promises';

const url = process.env.PROBE_URL!;
const answered: number[] = [];
let failed = 0;
let running = true;

process.on('message', (message: { op: 'stop' }) => {
  if (message.op === 'stop') running = false;
});
process.on('disconnect', () => process.exit(0));

async function main(): Promise<void> {
  process.send?.({ ready: true });
  while (running) {
    const started = performance.now();
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5000) });
      await res.arrayBuffer();
      if (res.status === 200) answered.push(Math.round((performance.now() - started) * 1000));
      else failed++;
    } catch (err) {
      // Refused while the process is down; a timeout while it is up is a failure.
      if ((err as Error).name === 'TimeoutError') failed++;
    }
    await sleep(50);
  }
  process.send?.({ answered, failed }, () => process.exit(0));
}

void main();
