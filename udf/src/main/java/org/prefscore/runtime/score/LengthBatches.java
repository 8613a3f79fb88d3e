package org.prefscore.runtime.score;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Groups items into batches of similar length so padding stays small, with each batch's padded size
 * (rows × longest row) within a token budget. An item longer than the budget gets a batch of its
 * own. Pure logic.
 */
public final class LengthBatches {

  private LengthBatches() {}

  /**
   * Indices of {@code lengths}, sorted by length and cut into batches.
   *
   * @param lengths tokens per item
   * @param tokenBudget upper bound on rows × longest row of a batch (padding included)
   * @param maxRows upper bound on rows per batch
   */
  public static List<int[]> plan(int[] lengths, long tokenBudget, int maxRows) {
    if (tokenBudget < 1 || maxRows < 1) {
      throw new IllegalArgumentException("token budget and max rows must be >= 1");
    }
    Integer[] order = IntStream.range(0, lengths.length).boxed().toArray(Integer[]::new);
    java.util.Arrays.sort(
        order, Comparator.<Integer>comparingInt(i -> lengths[i]).thenComparingInt(i -> i));
    List<int[]> batches = new ArrayList<>();
    List<Integer> current = new ArrayList<>();
    for (int index : order) {
      // Sorted ascending, so this item is the longest of the batch if it joins.
      long padded = (long) (current.size() + 1) * Math.max(1, lengths[index]);
      if (!current.isEmpty() && (padded > tokenBudget || current.size() >= maxRows)) {
        batches.add(current.stream().mapToInt(Integer::intValue).toArray());
        current.clear();
      }
      current.add(index);
    }
    if (!current.isEmpty()) {
      batches.add(current.stream().mapToInt(Integer::intValue).toArray());
    }
    return batches;
  }
}
