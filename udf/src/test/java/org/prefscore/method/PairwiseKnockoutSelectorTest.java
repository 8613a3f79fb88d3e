package org.prefscore.method;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.prefscore.method.Candidates.candidate;
import static org.prefscore.method.Candidates.withRewards;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class PairwiseKnockoutSelectorTest {

  /** Bradley–Terry on the candidates' rewards: transitive and consistent with argmax. */
  private static final PairwisePreferenceModel BRADLEY_TERRY =
      (a, b) -> Logistic.sigmoid(a.reward() - b.reward());

  /** The same model plus a constant bias towards whichever response is shown first. */
  private static PairwisePreferenceModel firstPositionBias(double bias) {
    return (a, b) -> Math.min(1.0, Math.max(0.0, BRADLEY_TERRY.preferenceProbability(a, b) + bias));
  }

  @Test
  void knockoutsFindArgmaxAndArgminWithTransitiveModel() {
    Random random = new Random(11);
    for (int trial = 0; trial < 300; trial++) {
      int n = 1 + random.nextInt(40);
      List<Candidate> pool = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        pool.add(candidate(i, "y" + i, random.nextInt(10) * 0.5)); // ties are common
      }
      Collections.shuffle(pool, random);
      PairwiseKnockoutSelector selector = new PairwiseKnockoutSelector(BRADLEY_TERRY);

      Candidate winner = selector.winnerAdvances(pool).survivor();
      Candidate loser = selector.loserAdvances(pool).survivor();

      Selection pointwise = new WestOfNSelector().select(pool);
      double max = pool.stream().mapToDouble(Candidate::reward).max().orElseThrow();
      double min = pool.stream().mapToDouble(Candidate::reward).min().orElseThrow();
      assertThat(winner.reward()).isEqualTo(max);
      assertThat(loser.reward()).isEqualTo(min);
      assertThat(winner.sampleIndex()).isEqualTo(lowestIndexWithReward(pool, max));
      assertThat(loser.sampleIndex()).isEqualTo(lowestIndexWithReward(pool, min));
      if (pointwise instanceof PreferencePair p) {
        PreferencePair pairwise = (PreferencePair) selector.select(pool);
        assertThat(pairwise.chosen()).isEqualTo(p.chosen());
        assertThat(pairwise.rejected()).isEqualTo(p.rejected());
        assertThat(pairwise.confidence()).isCloseTo(p.confidence(), within(1e-12));
      } else {
        assertThat(selector.select(pool)).isEqualTo(pointwise);
      }
    }
  }

  @Test
  void eachKnockoutTakesNMinusOneComparisons() {
    for (int n = 1; n <= 33; n++) {
      AtomicInteger calls = new AtomicInteger();
      PairwiseKnockoutSelector selector =
          new PairwiseKnockoutSelector(
              (a, b) -> {
                calls.incrementAndGet();
                return BRADLEY_TERRY.preferenceProbability(a, b);
              });
      double[] rewards = new Random(n).doubles(n).toArray();
      List<Candidate> pool = withRewards(rewards);

      KnockoutResult winners = selector.winnerAdvances(pool);
      int winnerCalls = calls.getAndSet(0);
      KnockoutResult losers = selector.loserAdvances(pool);
      int loserCalls = calls.getAndSet(0);

      assertThat(winners.comparisons()).as("n=%d", n).isEqualTo(n - 1);
      assertThat(losers.comparisons()).as("n=%d", n).isEqualTo(n - 1);
      assertThat(winnerCalls).as("two model calls per symmetric comparison").isEqualTo(2 * (n - 1));
      assertThat(loserCalls).isEqualTo(2 * (n - 1));
      if (n >= 2) {
        KnockoutTournament t = KnockoutTournament.start(pool);
        selector.play(t);
        assertThat(t.comparisons()).as("two knockouts plus the confidence").isEqualTo(2 * n - 1);
        // Each unordered pair is scored once: the knockouts share their first round's n/2 pairs
        // (and the confidence pair when y+ and y- met there).
        assertThat(calls.get()).isEqualTo(2 * t.distinctComparisons());
        assertThat(t.distinctComparisons()).isBetween(2 * n - 2 - n / 2, 2 * n - 1 - n / 2);
      }
    }
  }

  @Test
  void symmetricScoreCancelsAConstantPositionBias() {
    PairwisePreferenceModel biased = firstPositionBias(0.3);
    Candidate a = candidate(0, "a", 0.4);
    Candidate b = candidate(1, "b", -0.2);

    // The bias is real: shown first, the worse response is preferred.
    assertThat(biased.preferenceProbability(b, a)).isGreaterThan(0.5);
    assertThat(biased.symmetricPreference(a, b))
        .isCloseTo(BRADLEY_TERRY.preferenceProbability(a, b), within(1e-12));
    assertThat(biased.symmetricPreference(b, a))
        .isCloseTo(BRADLEY_TERRY.preferenceProbability(b, a), within(1e-12));
  }

  @Test
  void biasedModelStillSelectsArgmaxAndArgmin() {
    List<Candidate> pool = withRewards(0.1, -0.3, 0.5, 0.0, 0.2, -0.1, 0.3);
    // Rewards span 0.8, so P ranges over [0.31, 0.69]; +0.25 keeps it inside (0, 1) while every
    // raw comparison favours whoever is shown first. Symmetric comparisons must not.
    PairwisePreferenceModel biased = firstPositionBias(0.25);
    for (Candidate a : pool) {
      for (Candidate b : pool) {
        if (a != b) {
          assertThat(biased.preferenceProbability(a, b)).isGreaterThan(0.5);
        }
      }
    }
    PairwiseKnockoutSelector selector = new PairwiseKnockoutSelector(biased);

    PreferencePair pair = (PreferencePair) selector.select(pool);

    assertThat(pair.chosen().sampleIndex()).isEqualTo(2);
    assertThat(pair.rejected().sampleIndex()).isEqualTo(1);
    assertThat(pair.confidence()).isCloseTo(Logistic.sigmoid(0.8), within(1e-12));
  }

  @Test
  void indifferentModelYieldsNoPair() {
    PairwiseKnockoutSelector selector = new PairwiseKnockoutSelector((a, b) -> 0.5);

    assertThat(selector.select(withRewards(1, 2, 3)))
        .isEqualTo(new NoPair("p", NoPairReason.BEST_EQUALS_WORST, 3, 0));
  }

  @Test
  void rockPaperScissorsModelIsReportedInconsistent() {
    // Sample i beats sample i+1 (mod 3) with probability 0.9: an intransitive cycle.
    // 3 entrants: winners 0v1->0, 0v2->2; losers 0v1->1, 1v2->2: 2 survives both.
    // 4 entrants: winners 0v1->0, 2v3->2, 0v2->2; losers 0v1->1, 2v3->3, 1v3->1; yet 1 beats 2.
    PairwisePreferenceModel cyclic =
        (a, b) -> {
          int d = Math.floorMod(b.sampleIndex() - a.sampleIndex(), 3);
          return d == 1 ? 0.9 : d == 2 ? 0.1 : 0.5;
        };
    PairwiseKnockoutSelector selector = new PairwiseKnockoutSelector(cyclic);

    Selection three = selector.select(withRewards(0, 0, 0));
    Selection four = selector.select(withRewards(0, 0, 0, 0));

    assertThat(three).isEqualTo(new NoPair("p", NoPairReason.BEST_EQUALS_WORST, 3, 0));
    assertThat(four).isEqualTo(new NoPair("p", NoPairReason.INCONSISTENT_PREFERENCES, 4, 0));
  }

  @Test
  void rejectsAModelThatReturnsNoProbability() {
    PairwiseKnockoutSelector selector = new PairwiseKnockoutSelector((a, b) -> 1.5);

    assertThatThrownBy(() -> selector.select(withRewards(1, 2)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("1.5");
  }

  private static int lowestIndexWithReward(List<Candidate> pool, double reward) {
    return pool.stream()
        .filter(c -> c.reward() == reward)
        .mapToInt(Candidate::sampleIndex)
        .min()
        .orElseThrow();
  }
}
