package org.prefscore.method;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * method.md "Guarantee to test in simulation": the West-of-N pair is labeled correctly more often
 * as N grows, naive pairs (N = 2) do no better than the base model, and large N beats the base
 * model's pairwise accuracy.
 *
 * <p>Model: oracle reward r*(y) ~ N(0, 1) per synthetic response; base reward r = r* + N(0, 1)
 * noise. A pair's label is correct when r*(y+) > r*(y-). The base model's pairwise accuracy is
 * measured on uniformly random pairs. With these variances the base accuracy is 3/4 in theory (½ +
 * arcsin(1/√2)/π); each share is estimated over 4000 prompts (standard error ≈ 0.007).
 */
class WestOfNSimulationTest {

  private static final int PROMPTS = 4000;
  private static final double NOISE_SD = 1.0;

  private final WestOfNSelector selector = new WestOfNSelector();

  @Test
  @Timeout(value = 5, unit = TimeUnit.SECONDS)
  void westOfNLabelsImproveWithNAndBeatTheBaseModel() {
    Random random = new Random(20240123L);

    double base = baseModelPairwiseAccuracy(random);
    double share2 = westOfNAgreement(2, random);
    double share8 = westOfNAgreement(8, random);
    double share64 = westOfNAgreement(64, random);
    System.out.printf(
        "West-of-N simulation (%d prompts): base pairwise accuracy %.4f, share(N=2) %.4f,"
            + " share(N=8) %.4f, share(N=64) %.4f%n",
        PROMPTS, base, share2, share8, share64);

    assertThat(base).isBetween(0.72, 0.78);
    assertThat(share2).as("naive pairs are random pairs").isCloseTo(base, within(0.03));
    assertThat(share2).isLessThan(share8);
    assertThat(share8).isLessThan(share64);
    assertThat(share64).isGreaterThan(base + 0.1);
  }

  /**
   * The same guarantee with a pairwise base model and knockouts (method.md §1.4): the base model
   * prefers a over b with probability σ(2(u_a − u_b)) plus a bias of 0.15 towards whichever
   * response is shown first, u = r* + N(0, 1) noise; y+ and y- come from the seeded knockouts with
   * symmetric scores. Its accuracy on random pairs (symmetric score > ½ when r*(a) > r*(b)) is the
   * same 3/4 as above.
   */
  @Test
  @Timeout(value = 20, unit = TimeUnit.SECONDS)
  void pairwiseKnockoutLabelsImproveWithNAndBeatTheBaseModel() {
    Random random = new Random(20240124L);
    double base = pairwiseBaseAccuracy(random);
    double share2 = knockoutAgreement(2, random);
    double share8 = knockoutAgreement(8, random);
    double share64 = knockoutAgreement(64, random);
    System.out.printf(
        "West-of-N simulation, pairwise base model (%d prompts): base pairwise accuracy %.4f,"
            + " share(N=2) %.4f, share(N=8) %.4f, share(N=64) %.4f%n",
        PROMPTS, base, share2, share8, share64);

    assertThat(base).isBetween(0.72, 0.78);
    assertThat(share2).as("naive pairs are random pairs").isCloseTo(base, within(0.03));
    assertThat(share2).isLessThan(share8);
    assertThat(share8).isLessThan(share64);
    assertThat(share64).isGreaterThan(base + 0.1);
  }

  /** A position-biased pairwise model on the noisy utilities u (indexed by sample index). */
  private static PairwisePreferenceModel biasedPairwise(double[] utility) {
    return (a, b) ->
        Math.min(
            1.0,
            Logistic.sigmoid(2 * (utility[a.sampleIndex()] - utility[b.sampleIndex()])) + 0.15);
  }

  private static double knockoutAgreement(int n, Random random) {
    int agree = 0;
    int pairs = 0;
    double[] oracle = new double[n];
    double[] utility = new double[n];
    for (int prompt = 0; prompt < PROMPTS; prompt++) {
      String promptId = "x" + prompt;
      List<Candidate> pool = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        oracle[i] = random.nextGaussian();
        utility[i] = oracle[i] + NOISE_SD * random.nextGaussian();
        pool.add(new Candidate(promptId, i, i, "y" + i, 0.0, -1.0, 1));
      }
      Selection s = new PairwiseKnockoutSelector(biasedPairwise(utility)).select(pool, prompt);
      if (s instanceof PreferencePair pair) {
        pairs++;
        if (oracle[pair.chosen().sampleIndex()] > oracle[pair.rejected().sampleIndex()]) {
          agree++;
        }
      }
    }
    assertThat(pairs).as("a transitive model always gives a pair").isEqualTo(PROMPTS);
    return (double) agree / pairs;
  }

  private static double pairwiseBaseAccuracy(Random random) {
    int correct = 0;
    for (int prompt = 0; prompt < PROMPTS; prompt++) {
      double oracleA = random.nextGaussian();
      double oracleB = random.nextGaussian();
      double[] utility = {
        oracleA + NOISE_SD * random.nextGaussian(), oracleB + NOISE_SD * random.nextGaussian()
      };
      Candidate a = new Candidate("x", 0, 0, "a", 0.0, -1.0, 1);
      Candidate b = new Candidate("x", 1, 1, "b", 0.0, -1.0, 1);
      if ((biasedPairwise(utility).symmetricPreference(a, b) > 0.5) == (oracleA > oracleB)) {
        correct++;
      }
    }
    return (double) correct / PROMPTS;
  }

  private static org.assertj.core.data.Offset<Double> within(double d) {
    return org.assertj.core.data.Offset.offset(d);
  }

  /** Share of prompts whose West-of-N pair (from N fresh samples) agrees with the oracle. */
  private double westOfNAgreement(int n, Random random) {
    int agree = 0;
    int pairs = 0;
    double[] oracle = new double[n];
    for (int prompt = 0; prompt < PROMPTS; prompt++) {
      String promptId = "x" + prompt;
      List<Candidate> pool = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        oracle[i] = random.nextGaussian();
        double reward = oracle[i] + NOISE_SD * random.nextGaussian();
        pool.add(new Candidate(promptId, i, i, "y" + i, reward, -1.0, 1));
      }
      if (selector.select(pool) instanceof PreferencePair pair) {
        pairs++;
        if (oracle[pair.chosen().sampleIndex()] > oracle[pair.rejected().sampleIndex()]) {
          agree++;
        }
      }
    }
    assertThat(pairs).as("continuous rewards always give a pair").isEqualTo(PROMPTS);
    return (double) agree / pairs;
  }

  /** The base reward model's accuracy at ordering a uniformly random pair of responses. */
  private static double baseModelPairwiseAccuracy(Random random) {
    int correct = 0;
    for (int prompt = 0; prompt < PROMPTS; prompt++) {
      double oracleA = random.nextGaussian();
      double oracleB = random.nextGaussian();
      double rewardA = oracleA + NOISE_SD * random.nextGaussian();
      double rewardB = oracleB + NOISE_SD * random.nextGaussian();
      if ((rewardA > rewardB) == (oracleA > oracleB)) {
        correct++;
      }
    }
    return (double) correct / PROMPTS;
  }
}
