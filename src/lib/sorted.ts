/**
 * How many values of an ascending list are strictly below `value`: where `value` is, or would be
 * inserted, in the list. A binary search, so it takes log2(n) comparisons. The list must be in the
 * order `<` gives: numbers sorted with `(a, b) => a - b`, not by the default `sort()`, which
 * compares them as text.
 */
export function countBelow<T extends number | string>(sorted: readonly T[], value: T): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle]! < value) low = middle + 1;
    else high = middle;
  }
  return low;
}
