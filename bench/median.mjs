/**
 * The median of the numbers among `values`, or null when there are none: a peer that did not
 * run (null) is left out rather than counted. With an even count, the mean of the middle two.
 */
export function median(values) {
  const present = values.filter((v) => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);
  if (present.length === 0) return null;
  const mid = Math.floor(present.length / 2);
  return present.length % 2 === 1 ? present[mid] : (present[mid - 1] + present[mid]) / 2;
}
