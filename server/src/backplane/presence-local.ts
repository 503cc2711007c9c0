import { userRoom } from '../../../protocol/rooms.js';
import type { Presence } from '../domain/presence.js';
import type { HeraldNamespace } from '../realtime/events.js';

/** Presence on one node: the adapter's rooms already count everything. */
export class LocalPresence implements Presence {
  constructor(private readonly nsp: HeraldNamespace) {}

  async connections(userId: string): Promise<number> {
    return this.nsp.adapter.rooms.get(userRoom(userId))?.size ?? 0;
  }

  async online(userIds: readonly string[]): Promise<string[]> {
    return userIds.filter((id) => this.nsp.adapter.rooms.has(userRoom(id)));
  }

  changed(): void {}
}
