package org.prefscore.method;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class KnockoutTournamentTest {

  private static List<Candidate> pool(String promptId, int n) {
    List<Candidate> pool = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      pool.add(new Candidate(promptId, i, i, "y" + i, 0.0, -1.0, 1));
    }
    return pool;
  }

  /** A position-biased Bradley–Terry model on a hidden utility per sample index. */
  private static PairwisePreferenceModel biasedUtility(double[] utility, double bias) {
    return (a, b) ->
        Math.min(
            1.0,
            Math.max(
                0.0, Logistic.sigmoid(utility[a.sampleIndex()] - utility[b.sampleIndex()]) + bias));
  }

  /** Any model at all: a random P(a ≻ b) per ordered pair, intransitive in general. */
  private static PairwisePreferenceModel randomMatrix(int n, Random random) {
    double[][] p = new double[n][n];
    for (double[] row : p) {
      for (int j = 0; j < n; j++) {
        row[j] = random.nextInt(5) == 0 ? 0.5 : random.nextDouble();
      }
    }
    return (a, b) -> p[a.sampleIndex()][b.sampleIndex()];
  }

  @Test
  void smallPoolsAgreeWithBruteForceForEveryBracket() {
    Random random = new Random(5);
    for (int n = 2; n <= 7; n++) {
      for (int trial = 0; trial < 40; trial++) {
        double[] utility = random.doubles(n, -2, 2).toArray();
        PairwisePreferenceModel model = biasedUtility(utility, 0.2 * random.nextDouble());
        // Brute force: the response that beats every other one symmetrically, and the one beaten
        // by every other one; with a transitive model both exist.
        List<Candidate> candidates = pool("p", n);
        int best = -1;
        int worst = -1;
        for (Candidate a : candidates) {
          boolean beatsAll = true;
          boolean losesAll = true;
          for (Candidate b : candidates) {
            if (a != b) {
              double s = model.symmetricPreference(a, b);
              beatsAll &= s > 0.5;
              losesAll &= s < 0.5;
            }
          }
          best = beatsAll ? a.sampleIndex() : best;
          worst = losesAll ? a.sampleIndex() : worst;
        }
        assertThat(best).isNotNegative();
        assertThat(worst).isNotNegative();
        for (long seed = 0; seed < 10; seed++) {
          KnockoutTournament t = KnockoutTournament.start(candidates, seed * 7919 + trial);
          PreferencePair pair = (PreferencePair) new PairwiseKnockoutSelector(model).play(t);
          assertThat(pair.chosen().sampleIndex()).isEqualTo(best);
          assertThat(pair.rejected().sampleIndex()).isEqualTo(worst);
          Candidate b = candidates.get(best);
          Candidate w = candidates.get(worst);
          assertThat(pair.confidence())
              .isCloseTo(
                  model.symmetricPreference(b, w), org.assertj.core.data.Offset.offset(1e-15));
          assertThat(t.comparisons()).isEqualTo(2 * (n - 1) + 1);
        }
      }
    }
  }

  @Test
  void anyModelGivesTheSequentialKnockoutsSurvivors() {
    Random random = new Random(17);
    for (int trial = 0; trial < 500; trial++) {
      int n = 2 + random.nextInt(12);
      PairwisePreferenceModel model = randomMatrix(n, random);
      PairwiseKnockoutSelector selector = new PairwiseKnockoutSelector(model);
      List<Candidate> candidates = pool("p", n);
      Candidate winner = selector.winnerAdvances(candidates).survivor();
      Candidate loser = selector.loserAdvances(candidates).survivor();

      Selection s = selector.play(KnockoutTournament.start(candidates));

      if (s instanceof PreferencePair pair) {
        assertThat(pair.chosen()).isEqualTo(winner);
        assertThat(pair.rejected()).isEqualTo(loser);
        assertThat(pair.confidence()).isGreaterThan(0.5);
      } else {
        NoPair none = (NoPair) s;
        double c = winner == loser ? 0.5 : model.symmetricPreference(winner, loser);
        assertThat(none.reason())
            .isEqualTo(
                c == 0.5 ? NoPairReason.BEST_EQUALS_WORST : NoPairReason.INCONSISTENT_PREFERENCES);
        assertThat(Math.abs(c - 0.5) < 1e-12 || c < 0.5).isTrue();
      }
    }
  }

  @Test
  void roundsOfManyPromptsBatchedTogetherEqualEachPlayedAlone() {
    Random random = new Random(3);
    List<KnockoutTournament> together = new ArrayList<>();
    List<Selection> alone = new ArrayList<>();
    double[] utility = random.doubles(64, -3, 3).toArray();
    PairwisePreferenceModel model = biasedUtility(utility, 0.1);
    for (int p = 0; p < 30; p++) {
      List<Candidate> candidates = pool("prompt" + p, 1 + random.nextInt(20));
      together.add(KnockoutTournament.start(candidates, p));
      alone.add(new PairwiseKnockoutSelector(model).select(candidates, p));
    }
    int rounds = 0;
    while (together.stream().anyMatch(t -> !t.done())) {
      rounds++;
      for (KnockoutTournament t : together) {
        if (!t.done()) {
          List<KnockoutTournament.Match> m = t.pending();
          t.record(
              m.stream()
                  .mapToDouble(x -> model.symmetricPreference(x.first(), x.second()))
                  .toArray());
        }
      }
    }
    assertThat(rounds).as("log2(20) rounds plus the confidence").isLessThanOrEqualTo(6);
    for (int p = 0; p < 30; p++) {
      assertThat(together.get(p).result()).isEqualTo(alone.get(p));
    }
  }

  @Test
  void seededBracketIsADeterministicPermutationSpreadUniformly() {
    List<Candidate> candidates = pool("p", 8);
    int[] firstCounts = new int[8];
    Set<String> orders = new HashSet<>();
    for (long seed = 0; seed < 4000; seed++) {
      List<Candidate> order = KnockoutTournament.seededOrder(candidates, seed);
      assertThat(order).containsExactlyInAnyOrderElementsOf(candidates);
      assertThat(KnockoutTournament.seededOrder(candidates, seed)).isEqualTo(order);
      firstCounts[order.get(0).sampleIndex()]++;
      orders.add(order.toString());
    }
    // 4000 draws from 8! = 40320 orders: about 40320·(1 − e^(−4000/40320)) ≈ 3808 distinct.
    assertThat(orders.size()).isBetween(3700, 3900);
    for (int c : firstCounts) {
      assertThat(c).as(Arrays.toString(firstCounts)).isBetween(400, 600);
    }
    KnockoutTournament t = KnockoutTournament.start(candidates, 42);
    assertThat(t.bracketOrder())
        .isEqualTo(
            KnockoutTournament.seededOrder(candidates, 42).stream()
                .mapToInt(Candidate::sampleIndex)
                .toArray());
  }

  @Test
  void duplicatesAndSingletonsFollowTheSelectorRules() {
    List<Candidate> twins =
        List.of(
            new Candidate("p", 0, 0, "same", 0, -1, 1), new Candidate("p", 1, 1, "same", 0, -1, 1));
    KnockoutTournament t = KnockoutTournament.start(twins, 1);
    assertThat(t.done()).isTrue();
    assertThat(t.result())
        .isEqualTo(new NoPair("p", NoPairReason.FEWER_THAN_TWO_DISTINCT_RESPONSES, 1, 1));
    KnockoutTournament two = KnockoutTournament.start(pool("p", 2), 9);
    assertThat(two.pending()).hasSize(1);
    assertThatThrownBy(() -> two.record(new double[] {1.5}))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("1.5");
    assertThatThrownBy(() -> two.record(new double[] {0.2, 0.3}))
        .isInstanceOf(IllegalArgumentException.class);
    KnockoutTournament.Match m = two.pending().get(0);
    two.record(new double[] {0.25});
    PreferencePair pair = (PreferencePair) two.result();
    assertThat(pair.chosen()).isEqualTo(m.second());
    assertThat(pair.confidence()).isEqualTo(0.75);
    assertThat(two.distinctComparisons())
        .as("the confidence pair is the round-1 pair")
        .isEqualTo(1);
  }
}
