package org.prefscore.method;

import java.io.Serializable;
import java.util.List;

/**
 * West-of-N selection with a pointwise reward model (method.md §1, steps 3 and the rules the papers
 * leave open).
 *
 * <p>Given ALL candidates of ONE prompt, in any order:
 *
 * <ol>
 *   <li>exact-duplicate texts are removed, keeping the lowest sample index;
 *   <li>fewer than two distinct responses left: {@link
 *       NoPairReason#FEWER_THAN_TWO_DISTINCT_RESPONSES};
 *   <li>y+ = argmax reward, y- = argmin reward, each tie going to the lowest sample index;
 *   <li>equal best and worst rewards: {@link NoPairReason#BEST_EQUALS_WORST};
 *   <li>otherwise a {@link PreferencePair} with confidence σ(r+ − r-), which is the largest
 *       Bradley–Terry preference probability over all ordered pairs of the pool.
 * </ol>
 *
 * <p>The input must be non-empty, all of one prompt and free of repeated sample indices ({@link
 * IllegalArgumentException} otherwise). Stateless and thread-safe.
 */
public final class WestOfNSelector implements Serializable {

  private static final long serialVersionUID = 1L;

  /**
   * Selection over one prompt's samples of which {@code refused} got no reward (the reward model
   * refused them: they take no part). If fewer than two have a reward and any was refused, the
   * prompt yields {@link NoPairReason#REWARD_REFUSED} (counts 0): refusals, not the policy, left
   * too few to compare. Otherwise {@link #select(List)} over {@code scored}.
   */
  public Selection select(String promptId, List<Candidate> scored, int refused) {
    if (scored.size() < 2 && refused > 0) {
      return new NoPair(promptId, NoPairReason.REWARD_REFUSED, 0, 0);
    }
    return select(scored);
  }

  /**
   * Selection over one prompt's complete samples when {@code truncated} others, which stopped at
   * max-new-tokens, were left out (they are no candidates): {@link #select(String, List, int)} over
   * {@code complete}, except that a {@link NoPairReason#FEWER_THAN_TWO_DISTINCT_RESPONSES} is
   * reported as {@link NoPairReason#FEWER_THAN_TWO_COMPLETE_SAMPLES} when any sample was left out
   * (the truncation, not the policy's lack of diversity, left too few).
   *
   * @param complete the samples with a reward that finished (EOS or a stop string)
   * @param truncated samples left out because they stopped at max-new-tokens
   * @param refused samples the reward model refused
   */
  public Selection selectComplete(
      String promptId, List<Candidate> complete, int truncated, int refused) {
    if (complete.isEmpty() && truncated > 0) {
      return new NoPair(promptId, NoPairReason.FEWER_THAN_TWO_COMPLETE_SAMPLES, 0, 0);
    }
    Selection s = select(promptId, complete, refused);
    if (truncated > 0
        && s instanceof NoPair n
        && n.reason() == NoPairReason.FEWER_THAN_TWO_DISTINCT_RESPONSES) {
      return new NoPair(
          promptId,
          NoPairReason.FEWER_THAN_TWO_COMPLETE_SAMPLES,
          n.distinctCandidates(),
          n.duplicatesRemoved());
    }
    return s;
  }

  /** Selection over all candidates of one prompt, as described above. */
  public Selection select(List<Candidate> candidates) {
    CandidatePool pool = CandidatePool.of(candidates);
    List<Candidate> distinct = pool.distinct();
    if (distinct.size() < 2) {
      return new NoPair(
          pool.promptId(),
          NoPairReason.FEWER_THAN_TWO_DISTINCT_RESPONSES,
          distinct.size(),
          pool.duplicatesRemoved());
    }
    Candidate best = distinct.get(0);
    Candidate worst = distinct.get(0);
    // Ascending sample index and strict comparisons: the first of tied rewards is kept.
    for (Candidate c : distinct) {
      if (c.reward() > best.reward()) {
        best = c;
      }
      if (c.reward() < worst.reward()) {
        worst = c;
      }
    }
    if (best.reward() == worst.reward()) {
      return new NoPair(
          pool.promptId(),
          NoPairReason.BEST_EQUALS_WORST,
          distinct.size(),
          pool.duplicatesRemoved());
    }
    return new PreferencePair(
        pool.promptId(),
        best,
        worst,
        Logistic.sigmoid(best.reward() - worst.reward()),
        distinct.size(),
        pool.duplicatesRemoved());
  }
}
