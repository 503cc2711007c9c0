/** The topic name grammar of SPEC §1. */
export const TOPIC_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export const isValidTopic = (topic: string): boolean => TOPIC_PATTERN.test(topic);

export const userRoom = (userId: string): string => `user:${userId}`;
export const topicRoom = (topic: string): string => `topic:${topic}`;
export const BROADCAST_STREAM = 'broadcast';

/**
 * Whether `topic` is allowed by the `topics` claim. A pattern ending in `*`
 * matches one or more further characters (`team.42.*` matches `team.42.x`, not
 * `team.42.`); any other pattern matches itself. An absent claim allows all.
 *
 * @example
 * topicAllowed(['team.42.*'], 'team.42.alerts') // true
 */
export function topicAllowed(patterns: readonly string[] | undefined, topic: string): boolean {
  if (patterns === undefined) return true;
  return patterns.some((pattern) => {
    if (!pattern.endsWith('*')) return pattern === topic;
    const prefix = pattern.slice(0, -1);
    return topic.length > prefix.length && topic.startsWith(prefix);
  });
}
