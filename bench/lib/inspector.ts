/**
 * A small Chrome DevTools Protocol client for a server child started with
 * `--inspect=127.0.0.1:<port>`: full garbage collection before a memory reading,
 * `process.memoryUsage()`, CPU profiles of exactly one measured window, and heap
 * snapshots — without adding anything to the server under test.
 */
import { createWriteStream } from 'node:fs';
import { WebSocket } from 'ws';

interface Pending {
  resolve: (result: unknown) => void;
  reject: (err: Error) => void;
}

/** A V8 CPU profile (the `.cpuprofile` format of `node --cpu-prof`). */
export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** What {@link Inspector.readLoop} returns. */
export interface LoopReading {
  delayP50Ms: number;
  delayP99Ms: number;
  delayMaxMs: number;
  gcCount: number;
  gcTotalMs: number;
  gcMaxMs: number;
}

export class Inspector {
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Map<string, (params: unknown) => void>();

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (raw: Buffer) => {
      const message = JSON.parse(raw.toString()) as { id?: number; result?: unknown; error?: { message: string }; method?: string; params?: unknown };
      if (message.id !== undefined) {
        const call = this.pending.get(message.id);
        this.pending.delete(message.id);
        if (message.error) call?.reject(new Error(message.error.message));
        else call?.resolve(message.result);
      } else if (message.method) {
        this.listeners.get(message.method)?.(message.params);
      }
    });
    ws.on('close', () => {
      for (const call of this.pending.values()) call.reject(new Error('inspector closed'));
      this.pending.clear();
    });
  }

  /** Connects to the inspector URL a child printed ("Debugger listening on ws://…"). */
  static connect(url: string): Promise<Inspector> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 1 << 30 });
      ws.once('open', () => resolve(new Inspector(ws)));
      ws.once('error', reject);
    });
  }

  send<T = unknown>(method: string, params: object = {}, timeoutMs = 60_000): Promise<T> {
    const id = ++this.nextId;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`inspector: ${method} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (result) => {
          clearTimeout(timer);
          resolve(result as T);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /** A full (major) garbage collection. */
  async collectGarbage(): Promise<void> {
    await this.send('HeapProfiler.collectGarbage');
  }

  /** `process.memoryUsage()` of the child. */
  async memoryUsage(): Promise<NodeJS.MemoryUsage> {
    const { result } = await this.send<{ result: { value: NodeJS.MemoryUsage } }>('Runtime.evaluate', {
      expression: 'process.memoryUsage()',
      returnByValue: true,
    });
    return result.value;
  }

  /**
   * Starts measuring, inside the child, event-loop delay (`monitorEventLoopDelay`,
   * 1 ms resolution) and GC pauses (a `gc` PerformanceObserver), for {@link readLoop}.
   */
  async startLoopProbe(): Promise<void> {
    const { exceptionDetails } = await this.send<{ exceptionDetails?: { text: string } }>('Runtime.evaluate', {
      // Evaluated in the child's global scope, where only builtins are reachable (no dynamic import there).
      expression: `(() => {
        const { monitorEventLoopDelay, PerformanceObserver } = process.getBuiltinModule('node:perf_hooks');
        const probe = (globalThis.__benchLoopProbe ??= { gc: [] });
        probe.delay?.disable();
        probe.observer?.disconnect();
        probe.delay = monitorEventLoopDelay({ resolution: 1 });
        probe.delay.enable();
        probe.gc = [];
        probe.observer = new PerformanceObserver((list) => { for (const e of list.getEntries()) probe.gc.push(e.duration); });
        probe.observer.observe({ entryTypes: ['gc'] });
        return true;
      })()`,
      returnByValue: true,
    });
    if (exceptionDetails) throw new Error(`inspector: the loop probe failed: ${exceptionDetails.text}`);
  }

  /** Event-loop delay percentiles (ms, the 1 ms resolution subtracted) and GC pauses since {@link startLoopProbe}; stops the probe. */
  async readLoop(): Promise<LoopReading> {
    const { result } = await this.send<{ result: { value: LoopReading } }>('Runtime.evaluate', {
      expression: `(() => {
        const probe = globalThis.__benchLoopProbe;
        const ms = (ns) => Math.max(0, ns / 1e6 - 1);
        const gc = probe.gc;
        const reading = {
          delayP50Ms: ms(probe.delay.percentile(50)),
          delayP99Ms: ms(probe.delay.percentile(99)),
          delayMaxMs: ms(probe.delay.max),
          gcCount: gc.length,
          gcTotalMs: gc.reduce((a, b) => a + b, 0),
          gcMaxMs: gc.reduce((a, b) => Math.max(a, b), 0),
        };
        probe.delay.disable();
        probe.observer.disconnect();
        return reading;
      })()`,
      returnByValue: true,
    });
    return result.value;
  }

  /** Starts the CPU profiler, sampling every `intervalMicros`. */
  async startProfile(intervalMicros = 100): Promise<void> {
    await this.send('Profiler.enable');
    await this.send('Profiler.setSamplingInterval', { interval: intervalMicros });
    await this.send('Profiler.start');
  }

  async stopProfile(): Promise<CpuProfile> {
    const { profile } = await this.send<{ profile: CpuProfile }>('Profiler.stop', {}, 120_000);
    await this.send('Profiler.disable');
    return profile;
  }

  /** Writes a heap snapshot (after a full GC) to `file`. */
  async heapSnapshot(file: string): Promise<void> {
    const out = createWriteStream(file);
    this.listeners.set('HeapProfiler.addHeapSnapshotChunk', (params) => out.write((params as { chunk: string }).chunk));
    try {
      await this.send('HeapProfiler.enable');
      await this.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false, captureNumericValue: false }, 600_000);
      await this.send('HeapProfiler.disable');
    } finally {
      this.listeners.delete('HeapProfiler.addHeapSnapshotChunk');
      await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    }
  }

  close(): void {
    this.ws.close();
  }
}
