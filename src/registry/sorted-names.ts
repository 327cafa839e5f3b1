/**
 * The index of the first entry greater than key in a list sorted in code-point order
 * (sorted.length when none is): where a page after `last` starts, and where a new name goes.
 */
export function firstAfter(sorted: readonly string[], key: string): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle]! > key) high = middle;
    else low = middle + 1;
  }
  return low;
}
