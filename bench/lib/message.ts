/**
 * The message every server delivers: shaped and sized like the notification
 * Herald sends (≈ 200 bytes of JSON), so that the three servers carry the same
 * bytes. `data.k` numbers the message, `data.t` is its send time (monotonic µs)
 * and `data.m` tells the phase ("f" fan-out, "u" one user).
 */
export interface BenchData {
  k: number;
  t: number;
  m: 'f' | 'u';
}

export interface BenchNotification {
  id: string;
  seq: number;
  stream: string;
  type: string;
  title: string;
  createdAt: string;
  readAt: null;
  data: BenchData;
}

export const BENCH_TOPIC = 'bench';
export const BENCH_TITLE = 'Benchmark fan-out';

/** The object the baseline servers broadcast as is (Herald builds the same shape itself). */
export function benchNotification(k: number, t: number, m: BenchData['m'] = 'f'): BenchNotification {
  return {
    id: `ntf_01JBENCH${String(k).padStart(18, '0')}`,
    seq: k,
    stream: `topic:${BENCH_TOPIC}`,
    type: 'message',
    title: BENCH_TITLE,
    createdAt: new Date().toISOString(),
    readAt: null,
    data: { k, t, m },
  };
}

/** The body of Herald's `POST /api/notifications` that produces a {@link BenchNotification}. */
export function heraldPublishBody(to: { topic: string } | { user: string }, k: number, t: number, m: BenchData['m']): object {
  return { to, title: BENCH_TITLE, data: { k, t, m } };
}
