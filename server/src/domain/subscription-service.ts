import { HeraldError } from '../errors.js';
import type { NotificationStore } from './notification-store.js';
import type { Delivery } from './delivery.js';
import { isValidTopic } from '../../../protocol/rooms.js';
import { topicAllowed } from './topic-policy.js';

export const MAX_TOPICS_PER_USER = 1000;

/**
 * Persistent topic subscriptions. A change is stored, then applied to every
 * socket of the user (on every node) and pushed as `subscriptions`.
 */
export class SubscriptionService {
  constructor(
    private readonly store: NotificationStore,
    private readonly delivery: Delivery,
  ) {}

  list(userId: string): Promise<string[]> {
    return this.store.subscriptions(userId);
  }

  /**
   * @param policy the `topics` claim that limits the user (for the user's own
   *   requests); `undefined` when a publisher or admin acts, or the claim is absent.
   */
  async subscribe(userId: string, topic: string, policy: readonly string[] | undefined): Promise<string[]> {
    this.check(topic, policy);
    const current = await this.store.subscriptions(userId);
    if (!current.includes(topic) && current.length >= MAX_TOPICS_PER_USER) {
      throw new HeraldError('forbidden', `a user may subscribe to at most ${MAX_TOPICS_PER_USER} topics`);
    }
    const changed = await this.store.subscribe(userId, topic);
    const topics = changed ? await this.store.subscriptions(userId) : current;
    if (changed) await this.delivery.subscriptionsChanged(userId, topics, { join: topic });
    return topics;
  }

  async unsubscribe(userId: string, topic: string): Promise<string[]> {
    if (!isValidTopic(topic)) throw new HeraldError('invalid_topic', `"${topic.slice(0, 140)}" is not a valid topic name`);
    const changed = await this.store.unsubscribe(userId, topic);
    const topics = await this.store.subscriptions(userId);
    if (changed) {
      await this.delivery.subscriptionsChanged(userId, topics, { leave: topic });
      // The topic's entries leave the feed, so the unread count may fall.
      this.delivery.unreadChanged([userId]);
    }
    return topics;
  }

  private check(topic: string, policy: readonly string[] | undefined): void {
    if (!isValidTopic(topic)) throw new HeraldError('invalid_topic', `"${topic.slice(0, 140)}" is not a valid topic name`);
    if (!topicAllowed(policy, topic)) throw new HeraldError('forbidden', `the token does not allow topic "${topic}"`);
  }
}

