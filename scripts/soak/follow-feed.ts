// The README's socket example, exactly (test/readme-example.test.ts keeps the two in step),
// used by `npm run soak` and the tests of SPEC §8 as a client written from the README would be.
// readme:begin
import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';

interface Notification { id: string; seq: number; title: string; [field: string]: unknown }

export interface FollowFeedOptions {
  /** Called on every (re)connection, so a reconnect presents a fresh token. */
  token: () => string;
  /** Every feed entry, once: `live` as it happens, `page` from what was missed (no need to ring a bell for those). */
  show: (n: Notification, via: 'live' | 'page') => void;
  /** Where to resume from: 0 for the whole retained feed; persist it (localStorage) across page loads. */
  lastSeq?: number;
  /** Told each time the resume point moves, to persist it. */
  saveLastSeq?: (seq: number) => void;
  socket?: Partial<ManagerOptions & SocketOptions>;
}

export function followFeed(url: string, opts: FollowFeedOptions): Socket {
  let lastSeq = opts.lastSeq;   // the resume point: every entry up to it has been shown
  let catchingUp = true;        // from each (re)connection until what was missed has been paged
  let liveWhileCatchingUp = 0;  // the highest live seq seen meanwhile (live entries can come before `ready`)
  let generation = 0;           // each `ready` starts a new catch-up; an older one stops
  const seen = new Set<number>();

  const socket = io(url, { ...opts.socket, auth: (cb) => cb({ token: opts.token(), lastSeq }) });

  const show = (n: Notification, via: 'live' | 'page') => {
    if (seen.has(n.seq)) return;            // an entry can arrive both live and in a page
    seen.add(n.seq);
    if (seen.size > 10_000) seen.delete(seen.values().next().value!);
    opts.show(n, via);
  };
  const resumeAfter = (seq: number) => {
    if (lastSeq !== undefined && seq <= lastSeq) return;
    lastSeq = seq;
    opts.saveLastSeq?.(seq);
  };

  socket.on('notification', (n: Notification) => {
    show(n, 'live');
    // A live entry must not move the resume point past pages not fetched yet.
    if (catchingUp) liveWhileCatchingUp = Math.max(liveWhileCatchingUp, n.seq);
    else resumeAfter(n.seq);
  });

  socket.on('ready', async ({ missed, hasMore }: { missed: Notification[]; hasMore: boolean }) => {
    const mine = ++generation;
    let page = missed;
    let more = hasMore;
    // Each page follows on from the last entry paged, which in a cluster can be below lastSeq:
    // there `missed` may start before it (live delivery between nodes is not in seq order).
    let paged = lastSeq ?? 0;
    for (;;) {
      for (const n of page) show(n, 'page');
      if (page.length > 0) {
        paged = page[page.length - 1]!.seq;
        resumeAfter(paged);
      }
      if (!more) break;
      const res = await socket.timeout(10_000).emitWithAck('sync', { afterSeq: paged, limit: 100 }).catch(() => undefined);
      if (mine !== generation) return;      // reconnected meanwhile: that catch-up resumes from lastSeq
      if (!res?.ok) {                       // rate limited, store unavailable, timed out: reconnect and resume
        socket.io.engine.close();
        return;
      }
      page = res.items;
      more = res.hasMore;
    }
    catchingUp = false;
    if (liveWhileCatchingUp > 0) resumeAfter(liveWhileCatchingUp);
    liveWhileCatchingUp = 0;
  });

  // Token expiry (`auth:expired`) and admin disconnects end with "io server disconnect", after which
  // socket.io-client does not reconnect by itself; transport closes, slow-consumer closes and drains it does.
  socket.on('disconnect', (reason) => {
    catchingUp = true;
    if (reason === 'io server disconnect') setTimeout(() => socket.connect(), 1000 + Math.random() * 4000);
  });
  return socket;
}
// readme:end
