/** Median of a list (the mean of the two middle values for an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** The noise floor of repeated measurements of one thing: half their spread over their median, as a fraction. */
export function halfSpread(values: number[]): number {
  return (Math.max(...values) - Math.min(...values)) / median(values) / 2;
}
