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
