package org.prefscore.method;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;

class PairFiltersTest {

  private static PreferencePair pair(
      double confidence,
      double chosenLogprob,
      int chosenTokens,
      double rejectedLogprob,
      int rejectedTokens) {
    Candidate chosen = new Candidate("p", 0, 1L, "good", 1.0, chosenLogprob, chosenTokens);
    Candidate rejected = new Candidate("p", 1, 2L, "bad", 0.0, rejectedLogprob, rejectedTokens);
    return new PreferencePair("p", chosen, rejected, confidence, 2, 0);
  }

  @Test
  void confidenceFilterKeepsExactlyThePairsAtOrAboveTheCut() {
    ConfidenceFilter filter = new ConfidenceFilter(0.8);

    assertThat(filter.check(pair(0.8, -1, 1, -1, 1))).isEmpty();
    assertThat(filter.check(pair(0.95, -1, 1, -1, 1))).isEmpty();
    assertThat(filter.check(pair(0.7999, -1, 1, -1, 1))).contains(FilterReason.LOW_CONFIDENCE);
  }

  @Test
  void quantileCutKeepsTheExpectedShareAndOnlyConfidencesAboveIt() {
    Random random = new Random(99);
    List<PreferencePair> pairs = new ArrayList<>();
    double[] confidences = new double[1000];
    for (int i = 0; i < confidences.length; i++) {
      confidences[i] = 0.5 + 0.5 * random.nextDouble(); // distinct with probability 1
      pairs.add(pair(confidences[i], -1, 1, -1, 1));
    }
    ConfidenceFilter filter = ConfidenceFilter.atQuantile(confidences, 0.25);

    List<PreferencePair> kept = pairs.stream().filter(filter::keeps).toList();

    assertThat(kept.size()).isBetween(749, 751);
    assertThat(kept)
        .allSatisfy(p -> assertThat(p.confidence()).isGreaterThanOrEqualTo(filter.cut()));
    assertThat(pairs.stream().filter(p -> !filter.keeps(p)))
        .allSatisfy(p -> assertThat(p.confidence()).isLessThan(filter.cut()));
  }

  @Test
  void likelihoodFilterNeedsBothResponsesAboveTheThreshold() {
    LikelihoodFilter filter = LikelihoodFilter.onSum(-20.0);

    assertThat(filter.check(pair(0.9, -20.0, 10, -5.0, 10))).isEmpty();
    assertThat(filter.check(pair(0.9, -20.5, 10, -5.0, 10)))
        .isEqualTo(Optional.of(FilterReason.LOW_LIKELIHOOD));
    assertThat(filter.check(pair(0.9, -5.0, 10, -21.0, 10))).contains(FilterReason.LOW_LIKELIHOOD);
  }

  @Test
  void perTokenNormalisationDividesByResponseLength() {
    // A long chosen response: -30 over 60 tokens is -0.5 per token.
    PreferencePair longChosen = pair(0.9, -30.0, 60, -4.0, 4);

    assertThat(LikelihoodFilter.onSum(-10.0).check(longChosen))
        .contains(FilterReason.LOW_LIKELIHOOD);
    assertThat(LikelihoodFilter.perToken(-1.0).check(longChosen)).isEmpty();
    assertThat(LikelihoodFilter.perToken(-0.9).check(longChosen))
        .contains(FilterReason.LOW_LIKELIHOOD);
    assertThat(LogprobNormalization.PER_TOKEN.of(new Candidate("p", 0, 0L, "", 0, 0.0, 0)))
        .isZero();
  }

  @Test
  void likelihoodQuantilePoolsChosenAndRejected() {
    List<PreferencePair> pairs =
        List.of(
            pair(0.9, -1, 1, -8, 1), pair(0.9, -2, 1, -7, 1),
            pair(0.9, -3, 1, -6, 1), pair(0.9, -4, 1, -5, 1));

    LikelihoodFilter filter = LikelihoodFilter.atQuantile(pairs, 0.25, LogprobNormalization.SUM);

    // Pooled values -8..-1; rank ceil(0.25 * 8) = 2 -> -7.
    assertThat(filter.threshold()).isEqualTo(-7.0);
    assertThat(pairs.stream().filter(filter::keeps).count()).isEqualTo(3);
  }

  @Test
  void rejectsInvalidThresholds() {
    assertThatThrownBy(() -> new ConfidenceFilter(1.2))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> LikelihoodFilter.onSum(Double.NaN))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
