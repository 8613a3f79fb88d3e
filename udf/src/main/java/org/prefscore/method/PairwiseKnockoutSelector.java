package org.prefscore.method;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * West-of-N selection with a pairwise preference model (method.md §1.4): y+ is the survivor of a
 * winner-advances knockout, y- the survivor of a loser-advances knockout, every comparison scored
 * with {@link PairwisePreferenceModel#symmetricPreference}.
 *
 * <p>Bracket: entrants in ascending sample index; each round pairs neighbours (1st v 2nd, 3rd v
 * 4th, ...), an odd last entrant gets a bye, survivors keep their order. Every comparison
 * eliminates one entrant, so N entrants take exactly N − 1 comparisons (2(N − 1) model calls) per
 * knockout. A symmetric score of exactly ½ is a tie and goes to the lower sample index, as in the
 * pointwise selector; so with a model that is consistent with some pointwise utility the winner is
 * the lowest-index argmax and the loser the lowest-index argmin.
 *
 * <p>{@link #select} applies the same duplicate and no-pair rules as {@link WestOfNSelector}, then
 * spends one more comparison on the pair's confidence P_sym(y+ ≻ y-): exactly ½ gives {@link
 * NoPairReason#BEST_EQUALS_WORST} (as does the same response surviving both knockouts), below ½
 * gives {@link NoPairReason#INCONSISTENT_PREFERENCES}. It plays a {@link KnockoutTournament}, which
 * scores each unordered pair once (the two knockouts share their first round). Thread-safe if the
 * model is.
 */
public final class PairwiseKnockoutSelector implements Serializable {

  private static final long serialVersionUID = 1L;

  private final PairwisePreferenceModel model;

  public PairwiseKnockoutSelector(PairwisePreferenceModel model) {
    this.model = Objects.requireNonNull(model, "model");
  }

  /**
   * Winner-advances knockout over the candidates as given (no duplicate removal; one prompt,
   * non-empty, unique sample indices).
   */
  public KnockoutResult winnerAdvances(List<Candidate> candidates) {
    return knockout(CandidatePool.sortedOnePrompt(candidates), true);
  }

  /** Loser-advances knockout: the survivor is the response judged worst. Same input rules. */
  public KnockoutResult loserAdvances(List<Candidate> candidates) {
    return knockout(CandidatePool.sortedOnePrompt(candidates), false);
  }

  /**
   * Same contract as {@link WestOfNSelector#select}, with the pairwise model as the judge: a {@link
   * KnockoutTournament} with the bracket in ascending sample index, played with this model.
   */
  public Selection select(List<Candidate> candidates) {
    return play(KnockoutTournament.start(candidates));
  }

  /** {@link #select(List)} with the bracket permuted by {@link KnockoutTournament#seededOrder}. */
  public Selection select(List<Candidate> candidates, long bracketSeed) {
    return play(KnockoutTournament.start(candidates, bracketSeed));
  }

  /**
   * Plays a tournament to the end, one comparison at a time, and returns its selection. (The
   * pipeline plays many prompts' tournaments together instead, one batch per round.)
   */
  public Selection play(KnockoutTournament tournament) {
    while (!tournament.done()) {
      List<KnockoutTournament.Match> round = tournament.pending();
      double[] scores = new double[round.size()];
      for (int i = 0; i < scores.length; i++) {
        scores[i] = model.symmetricPreference(round.get(i).first(), round.get(i).second());
      }
      tournament.record(scores);
    }
    return tournament.result();
  }

  private KnockoutResult knockout(List<Candidate> sortedEntrants, boolean winnersAdvance) {
    List<Candidate> round = sortedEntrants;
    int comparisons = 0;
    while (round.size() > 1) {
      List<Candidate> next = new ArrayList<>((round.size() + 1) / 2);
      for (int i = 0; i + 1 < round.size(); i += 2) {
        Candidate lower = round.get(i);
        Candidate higher = round.get(i + 1);
        double lowerBeatsHigher = model.symmetricPreference(lower, higher);
        comparisons++;
        boolean lowerAdvances = winnersAdvance ? lowerBeatsHigher >= 0.5 : lowerBeatsHigher <= 0.5;
        next.add(lowerAdvances ? lower : higher);
      }
      if (round.size() % 2 == 1) {
        next.add(round.get(round.size() - 1));
      }
      round = next;
    }
    return new KnockoutResult(round.get(0), comparisons);
  }
}
