package org.prefscore.method;

import java.util.List;

/**
 * Why a prompt yielded no West-of-N pair; written next to the prompt so every prompt is counted.
 */
public enum NoPairReason {
  /** After removing exact duplicates fewer than two responses remain. */
  FEWER_THAN_TWO_DISTINCT_RESPONSES,
  /**
   * The best and the worst response are the same or judged equal: all rewards equal (pointwise), or
   * the knockouts end on the same response or a symmetric preference of exactly ½ (pairwise).
   */
  BEST_EQUALS_WORST,
  /**
   * Pairwise only: the knockout winner is judged worse than the knockout loser when compared
   * directly (symmetric preference below ½), which only an intransitive model can produce.
   */
  INCONSISTENT_PREFERENCES,
  /**
   * The reward model refused some of the prompt's samples (too long for it) and fewer than two have
   * a reward; see {@link WestOfNSelector#select(String, List, int)}.
   */
  REWARD_REFUSED,
  /**
   * Samples that stopped at max-new-tokens (finish reason LENGTH) are not candidates ({@code
   * selection.truncated=exclude}) and fewer than two complete distinct responses are left; see
   * {@link WestOfNSelector#selectComplete(String, List, int, int)}.
   */
  FEWER_THAN_TWO_COMPLETE_SAMPLES
}
