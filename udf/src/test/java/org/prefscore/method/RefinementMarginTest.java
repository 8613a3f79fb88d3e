package org.prefscore.method;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import org.junit.jupiter.api.Test;

class RefinementMarginTest {

  private final RefinementMargin sr = RefinementMargin.defaults();

  private static ResponseLogprobs randomResponse(Random random) {
    return new ResponseLogprobs(
        -50 * random.nextDouble(), -50 * random.nextDouble(),
        -50 * random.nextDouble(), -50 * random.nextDouble());
  }

  @Test
  void defaultsAreThePapersSettings() {
    assertThat(sr.beta()).isEqualTo(0.1);
    assertThat(sr.lambda()).isEqualTo(0.5);
    assertThat(sr.withLambda(1.0).lambda()).isEqualTo(1.0);
  }

  @Test
  void rejectsInvalidSettingsListingEveryViolation() {
    assertThatThrownBy(() -> new RefinementMargin(0.0, -0.1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("beta must be finite and > 0")
        .hasMessageContaining("lambda must be finite and >= 0");
  }

  @Test
  void computesMarginsFromTheirDefinition() {
    PreferenceLogprobs lp = new PreferenceLogprobs(-10, -14, -11, -12, -9, -15, -10, -13);

    // m = (-10 + 11) - (-14 + 12) = 3; m_p = (-9 + 10) - (-15 + 13) = 3.
    assertThat(lp.margin()).isEqualTo(3.0);
    assertThat(lp.promptAugmentedMargin()).isEqualTo(3.0);
    // Raising log π(y+|p⊕x) by one nat moves only m_p: 4.
    PreferenceLogprobs lp2 = new PreferenceLogprobs(-10, -14, -11, -12, -8, -15, -10, -13);
    assertThat(lp2.promptAugmentedMargin()).isEqualTo(4.0);
    SrDpoTerms terms = sr.terms(lp2);
    assertThat(terms.refinement()).isCloseTo(0.4, within(1e-15));
    // z = 0.1 * 3 - 0.5 * 0.4 = 0.1
    assertThat(terms.srDpoLoss()).isCloseTo(Math.log(1 + Math.exp(-0.1)), within(1e-15));
    // (3 - 0.2 - 5)^2 = 4.84
    assertThat(terms.srIpoLoss()).isCloseTo(4.84, within(1e-12));
    assertThat(terms.dpoLoss()).isCloseTo(Math.log(1 + Math.exp(-0.3)), within(1e-15));
  }

  @Test
  void refinementIsAntisymmetric() {
    Random random = new Random(5);
    for (int i = 0; i < 300; i++) {
      PreferenceLogprobs lp = PreferenceLogprobs.of(randomResponse(random), randomResponse(random));
      assertThat(sr.refinement(lp.swapped())).isEqualTo(-sr.refinement(lp));
      assertThat(lp.swapped().margin()).isEqualTo(-lp.margin());
    }
  }

  @Test
  void refinementDecomposesThroughAThirdResponse() {
    Random random = new Random(6);
    for (int i = 0; i < 300; i++) {
      ResponseLogprobs plus = randomResponse(random);
      ResponseLogprobs minus = randomResponse(random);
      ResponseLogprobs star = randomResponse(random);
      // Δ(a, b) has b as the chosen response and a as the rejected one.
      double minusPlus = sr.refinement(PreferenceLogprobs.of(plus, minus));
      double minusStar = sr.refinement(PreferenceLogprobs.of(star, minus));
      double plusStar = sr.refinement(PreferenceLogprobs.of(star, plus));
      assertThat(minusPlus).isCloseTo(minusStar - plusStar, within(1e-12));
    }
  }

  @Test
  void refinementVanishesWhenPolicyIsReference() {
    Random random = new Random(7);
    for (int i = 0; i < 300; i++) {
      PreferenceLogprobs lp =
          PreferenceLogprobs.referenceOnly(
              -80 * random.nextDouble(), -80 * random.nextDouble(),
              -80 * random.nextDouble(), -80 * random.nextDouble());
      assertThat(sr.refinement(lp)).isZero();
      assertThat(lp.margin()).isZero();
      assertThat(sr.srDpoLoss(lp)).isCloseTo(Math.log(2), within(1e-15));
    }
  }

  @Test
  void srDpoWithLambdaZeroIsDpo() {
    RefinementMargin noRefinement = sr.withLambda(0.0);
    Random random = new Random(8);
    for (int i = 0; i < 300; i++) {
      PreferenceLogprobs lp = PreferenceLogprobs.of(randomResponse(random), randomResponse(random));
      double beta = noRefinement.beta();
      double dpo = -Math.log(1.0 / (1.0 + Math.exp(-beta * lp.margin())));
      assertThat(noRefinement.srDpoLoss(lp)).isCloseTo(dpo, within(1e-12));
      assertThat(noRefinement.srDpoLoss(lp)).isEqualTo(noRefinement.dpoLoss(lp));
      double ipo = Math.pow(lp.margin() - 1.0 / (2.0 * beta), 2);
      assertThat(noRefinement.srIpoLoss(lp)).isCloseTo(ipo, within(1e-9));
    }
  }

  @Test
  void lossIsStableAtExtremeMargins() {
    // m = +1e4: policy raises y+ by 1e4 nats relative to the reference.
    PreferenceLogprobs large = new PreferenceLogprobs(-1, -5, -10_001, -5, -1, -1, -1, -1);
    PreferenceLogprobs small = large.swapped();
    assertThat(large.margin()).isEqualTo(1e4);
    assertThat(small.margin()).isEqualTo(-1e4);

    double lossLarge = sr.srDpoLoss(large); // z = 0.1 * 1e4 = 1000: loss ~ e^-1000 = 0
    double lossSmall = sr.srDpoLoss(small); // z = -1000: loss ~ 1000
    assertThat(lossLarge).isFinite().isGreaterThanOrEqualTo(0.0).isLessThan(1e-300);
    assertThat(lossSmall).isFinite().isCloseTo(1000.0, within(1e-9));
    // Through the raw overload, a refinement of the same size on the other side.
    assertThat(sr.srDpoLoss(0.0, 2e4)).isCloseTo(1e4, within(1e-9));
    assertThat(sr.srDpoLoss(0.0, -2e4)).isFinite().isZero();
    // Moderate z where e^-z is representable: the asymptote e^-z is matched to full precision.
    assertThat(sr.srDpoLoss(400.0, 0.0)).isCloseTo(Math.exp(-40.0), within(1e-30));
    assertThat(sr.srIpoLoss(large)).isFinite().isCloseTo(Math.pow(1e4 - 5, 2), within(1e-6));
  }

  @Test
  void logprobsMustBeFiniteAndNonPositive() {
    assertThatThrownBy(() -> new PreferenceLogprobs(0.5, -1, -1, -1, -1, -1, Double.NaN, -1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("policyChosen ")
        .hasMessageContaining("referenceChosenWithPrompt");
  }
}
