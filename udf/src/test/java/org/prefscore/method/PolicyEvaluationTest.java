package org.prefscore.method;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import java.util.OptionalDouble;
import org.junit.jupiter.api.Test;

class PolicyEvaluationTest {

  @Test
  void handComputedAverageAndAccuracies() {
    PolicyEvaluation e =
        PolicyEvaluation.evaluate(
            List.of(
                PolicyEvaluation.Observation.of(2.0, 1.0),
                PolicyEvaluation.Observation.of(-1.0, 0.5),
                PolicyEvaluation.Observation.of(0.0, -2.0),
                PolicyEvaluation.Observation.of(3.0, 0.0)));

    assertThat(e.tuples()).isEqualTo(4);
    assertThat(e.averageMarginal()).isEqualTo(1.0);
    assertThat(e.accuracy()).isEqualTo(0.5); // m = 0 does not count
    assertThat(e.promptAugmentedAccuracy()).isEqualTo(0.5);
    assertThat(e.scoredTuples()).isZero();
    assertThat(e.pearson()).isEmpty();
    assertThat(e.spearman()).isEmpty();
    assertThat(e.kendall()).isEmpty();
  }

  @Test
  void perfectlyMonotoneButNonLinearGapsGiveRankCorrelationsOfOne() {
    double[] margins = {-2, -1, 0.5, 1, 3};
    List<PolicyEvaluation.Observation> obs =
        java.util.Arrays.stream(margins)
            .mapToObj(m -> PolicyEvaluation.Observation.of(m, m, Math.exp(m)))
            .toList();

    PolicyEvaluation e = PolicyEvaluation.evaluate(obs);

    assertThat(e.spearman().getAsDouble()).isCloseTo(1.0, within(1e-12));
    assertThat(e.kendall().getAsDouble()).isCloseTo(1.0, within(1e-12));
    assertThat(e.pearson().getAsDouble()).isBetween(0.8, 0.999);
  }

  @Test
  void correlationsMatchHandComputedValues() {
    // m = 1,2,3,4 and gaps 1,3,2,4: Pearson = 0.8, Spearman = 0.8, Kendall = (5 - 1) / 6.
    PolicyEvaluation e =
        PolicyEvaluation.evaluate(
            List.of(
                PolicyEvaluation.Observation.of(1, 0, 1),
                PolicyEvaluation.Observation.of(2, 0, 3),
                PolicyEvaluation.Observation.of(3, 0, 2),
                PolicyEvaluation.Observation.of(4, 0, 4),
                PolicyEvaluation.Observation.of(-7, 1))); // no gap: excluded from correlations

    assertThat(e.scoredTuples()).isEqualTo(4);
    assertThat(e.pearson().getAsDouble()).isCloseTo(0.8, within(1e-12));
    assertThat(e.spearman().getAsDouble()).isCloseTo(0.8, within(1e-12));
    assertThat(e.kendall().getAsDouble()).isCloseTo(4.0 / 6.0, within(1e-12));
    assertThat(e.averageMarginal()).isCloseTo(3.0 / 5.0, within(1e-15));
  }

  @Test
  void reversedOrderGivesMinusOne() {
    PolicyEvaluation e =
        PolicyEvaluation.evaluate(
            List.of(
                PolicyEvaluation.Observation.of(1, 0, 3),
                PolicyEvaluation.Observation.of(2, 0, 2),
                PolicyEvaluation.Observation.of(3, 0, 1)));

    assertThat(e.pearson()).hasValueCloseTo(-1.0, within(1e-12));
    assertThat(e.kendall()).hasValueCloseTo(-1.0, within(1e-12));
  }

  @Test
  void absentWhenFewerThanTwoScoredTuplesOrConstantInput() {
    PolicyEvaluation one =
        PolicyEvaluation.evaluate(List.of(PolicyEvaluation.Observation.of(1, 1, 0.5)));
    PolicyEvaluation constant =
        PolicyEvaluation.evaluate(
            List.of(
                PolicyEvaluation.Observation.of(1, 1, 0.5),
                PolicyEvaluation.Observation.of(2, 1, 0.5)));
    PolicyEvaluation none = PolicyEvaluation.evaluate(List.of());

    assertThat(one.pearson()).isEmpty();
    assertThat(one.kendall()).isEmpty();
    assertThat(constant.pearson()).isEmpty();
    assertThat(constant.spearman()).isEmpty();
    assertThat(none.averageMarginal()).isNaN();
    assertThat(none.accuracy()).isNaN();
  }

  @Test
  void observationFromLogprobsUsesBothMargins() {
    PreferenceLogprobs lp = new PreferenceLogprobs(-1, -3, -2, -2, -1, -1, -1, -2);

    PolicyEvaluation.Observation o = PolicyEvaluation.Observation.from(lp, OptionalDouble.of(2));

    assertThat(o.margin()).isEqualTo(-1.0 + 2 - (-3 + 2));
    assertThat(o.promptAugmentedMargin()).isEqualTo(-1.0);
  }
}
