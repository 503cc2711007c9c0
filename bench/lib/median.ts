/**
 * The median of the rounds' values, NaN left out (so that one disturbed round
 * does not decide); with an even count, the mean of the middle two. NaN when
 * none is left.
 *
 * @example
 * median([4.2, 3.4]); // 3.8
 */
export function median(values: readonly number[]): number {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
