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
import org.junit.jupiter.api.Test;

class WestOfNSelectorTest {

  private final WestOfNSelector selector = new WestOfNSelector();

  @Test
  void picksArgmaxAsChosenAndArgminAsRejected() {
    Selection s = selector.select(withRewards(0.3, 2.0, -1.5, 0.7));

    assertThat(s).isInstanceOf(PreferencePair.class);
    PreferencePair pair = (PreferencePair) s;
    assertThat(pair.chosen().sampleIndex()).isEqualTo(1);
    assertThat(pair.rejected().sampleIndex()).isEqualTo(2);
    assertThat(pair.confidence()).isCloseTo(1.0 / (1.0 + Math.exp(-3.5)), within(1e-15));
    assertThat(pair.distinctCandidates()).isEqualTo(4);
    assertThat(pair.duplicatesRemoved()).isZero();
  }

  @Test
  void refusalsThatLeaveFewerThanTwoRewardsGiveRewardRefused() {
    Selection one = selector.select("p", withRewards(0.3), 3);
    Selection none = selector.select("p", List.of(), 4);

    assertThat(one).isEqualTo(new NoPair("p", NoPairReason.REWARD_REFUSED, 0, 0));
    assertThat(none).isEqualTo(new NoPair("p", NoPairReason.REWARD_REFUSED, 0, 0));
  }

  @Test
  void refusalsThatLeaveTwoRewardsStillSelect() {
    Selection withRefusals = selector.select("p", withRewards(0.3, 2.0), 5);

    assertThat(withRefusals).isEqualTo(selector.select(withRewards(0.3, 2.0)));
    assertThat(withRefusals).isInstanceOf(PreferencePair.class);
  }

  @Test
  void withoutRefusalsFewerThanTwoIsNotBlamedOnTheRewardModel() {
    Selection s = selector.select("p", withRewards(0.3), 0);

    assertThat(((NoPair) s).reason()).isEqualTo(NoPairReason.FEWER_THAN_TWO_DISTINCT_RESPONSES);
  }

  @Test
  void removesExactDuplicatesKeepingTheLowestSampleIndex() {
    // Sample 3 duplicates sample 1's text with a different reward: sample 1's reward is the one
    // that counts, so 3 can be neither chosen nor rejected.
    List<Candidate> pool =
        new ArrayList<>(
            List.of(
                candidate(3, "same", 9.0),
                candidate(0, "a", 1.0),
                candidate(1, "same", 0.5),
                candidate(2, "b", 2.0),
                candidate(4, "a", -9.0)));
    Collections.shuffle(pool, new Random(7));

    PreferencePair pair = (PreferencePair) selector.select(pool);

    assertThat(pair.duplicatesRemoved()).isEqualTo(2);
    assertThat(pair.distinctCandidates()).isEqualTo(3);
    assertThat(pair.chosen().sampleIndex()).isEqualTo(2);
    assertThat(pair.rejected().sampleIndex()).isEqualTo(1);
  }

  @Test
  void breaksTiesByLowestSampleIndex() {
    List<Candidate> pool = new ArrayList<>(withRewards(1.0, 5.0, -2.0, 5.0, -2.0, 0.0));
    Collections.reverse(pool);

    PreferencePair pair = (PreferencePair) selector.select(pool);

    assertThat(pair.chosen().sampleIndex()).isEqualTo(1);
    assertThat(pair.rejected().sampleIndex()).isEqualTo(2);
  }

  @Test
  void noPairWhenBestEqualsWorst() {
    Selection s = selector.select(withRewards(0.25, 0.25, 0.25));

    assertThat(s).isEqualTo(new NoPair("p", NoPairReason.BEST_EQUALS_WORST, 3, 0));
  }

  @Test
  void noPairWhenFewerThanTwoDistinctResponses() {
    Selection single = selector.select(withRewards(1.0));
    Selection allSame = selector.select(List.of(candidate(0, "x", 1.0), candidate(1, "x", 2.0)));

    assertThat(single)
        .isEqualTo(new NoPair("p", NoPairReason.FEWER_THAN_TWO_DISTINCT_RESPONSES, 1, 0));
    assertThat(allSame)
        .isEqualTo(new NoPair("p", NoPairReason.FEWER_THAN_TWO_DISTINCT_RESPONSES, 1, 1));
  }

  @Test
  void rejectsMixedPromptsRepeatedIndicesAndEmptyInput() {
    Candidate other = new Candidate("q", 5, 1L, "z", 0.0, -1.0, 1);
    assertThatThrownBy(() -> selector.select(List.of(candidate(0, "a", 1.0), other)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("one prompt");
    assertThatThrownBy(
            () -> selector.select(List.of(candidate(0, "a", 1.0), candidate(0, "b", 2.0))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("sampleIndex 0 occurs more than once");
    assertThatThrownBy(() -> selector.select(List.of()))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void propertiesHoldOverRandomPools() {
    Random random = new Random(20240117L);
    int pairs = 0;
    for (int trial = 0; trial < 500; trial++) {
      int n = 1 + random.nextInt(20);
      List<Candidate> pool = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        // Few distinct texts and coarse rewards, so duplicates and ties are frequent.
        String text = "t" + random.nextInt(8);
        double reward = random.nextInt(5) - 2 + (random.nextBoolean() ? 0.5 : 0.0);
        pool.add(candidate(i * 3 + random.nextInt(3), text, reward));
      }
      Collections.shuffle(pool, random);

      // Reference implementation: a different algorithm over the same rules.
      List<Candidate> distinct = new ArrayList<>();
      pool.stream()
          .sorted((a, b) -> Integer.compare(a.sampleIndex(), b.sampleIndex()))
          .forEach(
              c -> {
                if (distinct.stream().noneMatch(d -> d.text().equals(c.text()))) {
                  distinct.add(c);
                }
              });
      double max = distinct.stream().mapToDouble(Candidate::reward).max().orElseThrow();
      double min = distinct.stream().mapToDouble(Candidate::reward).min().orElseThrow();

      Selection s = selector.select(pool);

      assertThat(s.distinctCandidates()).isEqualTo(distinct.size());
      assertThat(s.duplicatesRemoved()).isEqualTo(n - distinct.size());
      if (distinct.size() < 2) {
        assertThat(s).isInstanceOf(NoPair.class);
        assertThat(((NoPair) s).reason()).isEqualTo(NoPairReason.FEWER_THAN_TWO_DISTINCT_RESPONSES);
      } else if (max == min) {
        assertThat(((NoPair) s).reason()).isEqualTo(NoPairReason.BEST_EQUALS_WORST);
      } else {
        PreferencePair pair = (PreferencePair) s;
        pairs++;
        assertThat(pair.chosen().reward()).isGreaterThan(pair.rejected().reward());
        assertThat(pair.chosen())
            .isEqualTo(distinct.stream().filter(c -> c.reward() == max).findFirst().get());
        assertThat(pair.rejected())
            .isEqualTo(distinct.stream().filter(c -> c.reward() == min).findFirst().get());
        double confidence = pair.confidence();
        assertThat(confidence)
            .isEqualTo(Logistic.sigmoid(pair.chosen().reward() - pair.rejected().reward()));
        for (Candidate a : distinct) {
          for (Candidate b : distinct) {
            assertThat(Logistic.sigmoid(a.reward() - b.reward())).isLessThanOrEqualTo(confidence);
          }
        }
      }
    }
    assertThat(pairs).as("the loop must exercise the pair branch").isGreaterThan(200);
  }
}
