/**
 * What the benchmark reads from /proc: a process's CPU time and memory, the
 * machine's CPU time (to tell how much other work shared the two cores), and
 * the file-descriptor limit.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** User plus system CPU time of `pid` (all its threads), in microseconds. 0 once it has exited. */
export function cpuMicros(pid: number): number {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return 0;
  }
  // The command name may hold spaces and parentheses: fields are counted after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Field 3 (state) is index 0, so utime (14) and stime (15) are 11 and 12.
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1e6) / ticksPerSecond();
}

/** Resident set size of `pid` in bytes (VmRSS), 0 once it has exited. */
export function rssBytes(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Open file descriptors of `pid`. */
export function fdCount(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
}

/** The soft and hard limits on open files of `pid`. */
export function fileLimit(pid: number = process.pid): { soft: number; hard: number } {
  const match = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'));
  const value = (s: string | undefined) => (s === 'unlimited' || s === undefined ? Number.POSITIVE_INFINITY : Number(s));
  return { soft: value(match?.[1]), hard: value(match?.[2]) };
}

/**
 * The machine's busy, stolen (by the hypervisor) and total CPU time, in
 * microseconds summed over the cores (first line of /proc/stat).
 */
export function machineCpu(): { busy: number; steal: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number) as number[];
  const busy = user! + nice! + system! + irq! + softirq!;
  const scale = 1e6 / ticksPerSecond();
  return { busy: busy * scale, steal: steal! * scale, total: (busy + steal! + idle! + iowait!) * scale };
}

/** The 1-minute load average. */
export function loadAverage(): number {
  return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
}

/**
 * CPU time of a set of processes and of the whole machine between `start()`
 * and `stop()`, so that a phase can say how much CPU its server used and how
 * much went to processes outside the benchmark (other work on the machine).
 */
export class CpuWindow {
  private readonly startedAt = process.hrtime.bigint();
  private readonly machine = machineCpu();
  private readonly perPid: Map<number, number>;

  constructor(private readonly pids: readonly number[]) {
    this.perPid = new Map(pids.map((pid) => [pid, cpuMicros(pid)]));
  }

  /**
   * Seconds elapsed, CPU µs of each pid, the cores' worth of CPU lost to other load:
   * other processes, kernel work not charged to a process (some loopback softirq
   * time counts here too) and time the hypervisor took away (steal, also alone).
   */
  stop(): { seconds: number; cpu: Map<number, number>; machineCores: number; otherCores: number; stolenCores: number } {
    const seconds = Number(process.hrtime.bigint() - this.startedAt) / 1e9;
    const cpu = new Map(this.pids.map((pid) => [pid, cpuMicros(pid) - this.perPid.get(pid)!]));
    const machine = machineCpu();
    const busy = machine.busy - this.machine.busy;
    const ours = [...cpu.values()].reduce((a, b) => a + b, 0);
    return {
      seconds,
      cpu,
      machineCores: busy / 1e6 / seconds,
      // Time the hypervisor gave to other machines is as lost to the benchmark as another process's.
      otherCores: (Math.max(0, busy - ours) + machine.steal - this.machine.steal) / 1e6 / seconds,
      stolenCores: (machine.steal - this.machine.steal) / 1e6 / seconds,
    };
  }
}

/** The PID of a process whose command line contains every one of `parts` (read-only: used to charge Redis's CPU). */
export function findPid(parts: readonly string[]): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (parts.every((p) => cmdline.includes(p))) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

/**
 * Waits (at most `maxMs`) until processes outside `ours()` use less than
 * `threshold` cores over a half-second sample, so that a measurement does not
 * start while other work (a test suite, a compiler) shares the two cores.
 * Resolves with the last sample's foreign load.
 */
export async function waitForQuiet(ours: () => number[], maxMs: number, threshold = 0.3, onWait?: (cores: number) => void): Promise<number> {
  if (maxMs <= 0) return 0;
  const deadline = Date.now() + maxMs;
  for (;;) {
    const window = new CpuWindow(ours());
    await new Promise((resolve) => setTimeout(resolve, 500));
    const { otherCores } = window.stop();
    if (otherCores < threshold || Date.now() >= deadline) return otherCores;
    onWait?.(otherCores);
  }
}
