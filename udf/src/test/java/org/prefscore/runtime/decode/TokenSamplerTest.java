package org.prefscore.runtime.decode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.prefscore.runtime.LogMath;

class TokenSamplerTest {

  private static SamplingConfig sampling(double temperature, int topK, double topP) {
    return new SamplingConfig(1, temperature, topK, topP, 8, List.of());
  }

  private static float[] logitsOfProbs(double... probs) {
    float[] logits = new float[probs.length];
    for (int i = 0; i < probs.length; i++) {
      logits[i] = (float) Math.log(probs[i]);
    }
    return logits;
  }

  @Test
  void greedyPicksArgmaxAndReportsTemperatureOneLogprob() {
    float[] logits = {1f, 3f, 2f, 0.5f};
    TokenSampler.Choice c = new TokenSampler(SamplingConfig.greedy(4), 4).choose(logits, 0, 4, 0.9);
    assertThat(c.token()).isEqualTo(1);
    double logZ = Math.log(Math.exp(1) + Math.exp(3) + Math.exp(2) + Math.exp(0.5));
    assertThat(c.logprob()).isCloseTo(3 - logZ, within(1e-6));
    assertThat(c.samplingLogprob()).isZero();
  }

  @Test
  void paddedRowsAreNeverChosenButCountInTheSoftmax() {
    // Ids 3 and 4 are padded embedding rows beyond the tokenizer's 3 ids.
    float[] logits = {0f, 1f, 0.5f, 9f, 9f};
    TokenSampler greedy = new TokenSampler(SamplingConfig.greedy(4), 3);
    TokenSampler.Choice c = greedy.choose(logits, 0, 5, 0.0);
    assertThat(c.token()).isEqualTo(1);
    assertThat(c.logprob()).isCloseTo(1 - LogMath.logSumExp(logits, 0, 5), within(1e-6));
    TokenSampler sampler = new TokenSampler(sampling(1.0, 0, 1.0), 3);
    for (int i = 0; i < 200; i++) {
      assertThat(sampler.choose(logits, 0, 5, i / 200.0).token()).isLessThan(3);
    }
  }

  @Test
  void topPKeepsTheSmallestSetReachingP() {
    float[] logits = logitsOfProbs(0.05, 0.5, 0.15, 0.3);
    TokenSampler sampler = new TokenSampler(sampling(1.0, 0, 0.7), 4);
    // Nucleus {1, 3} with mass 0.8, drawn in id order: u < 0.5/0.8 picks 1, the rest picks 3.
    assertThat(sampler.choose(logits, 0, 4, 0.0).token()).isEqualTo(1);
    assertThat(sampler.choose(logits, 0, 4, 0.62).token()).isEqualTo(1);
    TokenSampler.Choice c = sampler.choose(logits, 0, 4, 0.63);
    assertThat(c.token()).isEqualTo(3);
    assertThat(c.samplingLogprob()).isCloseTo(Math.log(0.3 / 0.8), within(1e-6));
    assertThat(c.logprob()).isCloseTo(Math.log(0.3), within(1e-6));
    assertThat(sampler.choose(logits, 0, 4, 0.9999).token()).isEqualTo(3);
  }

  @Test
  void topKOneIsGreedy() {
    Random random = new Random(7);
    TokenSampler topOne = new TokenSampler(sampling(0.9, 1, 1.0), 50);
    TokenSampler greedy = new TokenSampler(SamplingConfig.greedy(4), 50);
    for (int trial = 0; trial < 100; trial++) {
      float[] logits = randomLogits(random, 50);
      TokenSampler.Choice c = topOne.choose(logits, 0, 50, random.nextDouble());
      assertThat(c.token()).isEqualTo(greedy.choose(logits, 0, 50, 0).token());
      assertThat(c.samplingLogprob()).isCloseTo(0.0, within(1e-12));
    }
  }

  @Test
  void matchesABruteForceReferenceOnRandomRows() {
    Random random = new Random(42);
    for (int trial = 0; trial < 2000; trial++) {
      int width = 2 + random.nextInt(300);
      float[] logits = randomLogits(random, width);
      if (trial % 3 == 0) {
        // Peaked rows exercise the nucleus's threshold shortcut.
        logits[random.nextInt(width)] += 12f;
      }
      double temperature = 0.3 + random.nextDouble() * 1.5;
      int topK = random.nextBoolean() ? 0 : 1 + random.nextInt(width);
      double topP = random.nextBoolean() ? 1.0 : 0.05 + random.nextDouble() * 0.95;
      double u = random.nextDouble();
      SamplingConfig config = sampling(temperature, topK, topP);
      TokenSampler.Choice c = new TokenSampler(config, width).choose(logits, 0, width, u);
      int expected = reference(logits, temperature, topK, topP, u);
      assertThat(c.token()).as("trial %d", trial).isEqualTo(expected);
    }
  }

  @Test
  void wholeRowDrawsMatchTheReferenceAcrossBlocks() {
    // Rows wider than LogMath.SUM_BLOCK: the draw walks block sums, then one block.
    Random random = new Random(11);
    for (int trial = 0; trial < 300; trial++) {
      int width = 200 + random.nextInt(5000);
      float[] logits = randomLogits(random, width);
      if (trial % 2 == 0) {
        logits[random.nextInt(width)] += 9f;
      }
      double temperature = 0.3 + random.nextDouble() * 1.5;
      double u = trial % 10 == 0 ? 0.0 : random.nextDouble();
      SamplingConfig config = sampling(temperature, 0, 1.0);
      TokenSampler.Choice c = new TokenSampler(config, width).choose(logits, 0, width, u);
      assertThat(c.token())
          .as("trial %d", trial)
          .isEqualTo(reference(logits, temperature, 0, 1.0, u));
      // log Z in double with Math.exp, independently of LogMath.
      double max = Double.NEGATIVE_INFINITY;
      for (float v : logits) {
        max = Math.max(max, v);
      }
      double z = 0;
      for (float v : logits) {
        z += Math.exp(v - max);
      }
      assertThat(c.logprob()).isCloseTo(logits[c.token()] - (max + Math.log(z)), within(1e-9));
    }
  }

  @Test
  void nucleusDrawsMatchTheReferenceAcrossChunks() {
    // Top-p without top-k on rows wider than LogMath.CHUNK: the warped weights come in chunks.
    Random random = new Random(13);
    for (int trial = 0; trial < 200; trial++) {
      int width = 200 + random.nextInt(5000);
      float[] logits = randomLogits(random, width);
      if (trial % 2 == 0) {
        logits[random.nextInt(width)] += 9f;
      }
      double temperature = 0.3 + random.nextDouble() * 1.5;
      double topP = 0.05 + random.nextDouble() * 0.9;
      double u = random.nextDouble();
      TokenSampler.Choice c =
          new TokenSampler(sampling(temperature, 0, topP), width).choose(logits, 0, width, u);
      assertThat(c.token())
          .as("trial %d", trial)
          .isEqualTo(reference(logits, temperature, 0, topP, u));
    }
  }

  @Test
  void neverChoosesAnIdWhoseLogitIsMinusInfinity() {
    float[] logits = new float[1000];
    java.util.Arrays.fill(logits, Float.NEGATIVE_INFINITY);
    logits[700] = 0f;
    logits[999] = 1f;
    TokenSampler sampler = new TokenSampler(sampling(0.7, 0, 1.0), 1000);
    for (double u : new double[] {0.0, 1e-300, 0.5, 0.9999999999}) {
      assertThat(sampler.choose(logits, 0, 1000, u).token()).isIn(700, 999);
    }
    assertThat(sampler.choose(logits, 0, 1000, 0.0).token()).isEqualTo(700);
    assertThat(new TokenSampler(sampling(0.7, 0, 0.5), 1000).choose(logits, 0, 1000, 0.0).token())
        .isEqualTo(999);
  }

  @Test
  void readsTheRowAtItsOffset() {
    float[] rows = {5f, 0f, 0f, 0f, 0f, 5f};
    TokenSampler greedy = new TokenSampler(SamplingConfig.greedy(4), 3);
    assertThat(greedy.choose(rows, 0, 3, 0).token()).isEqualTo(0);
    assertThat(greedy.choose(rows, 3, 3, 0).token()).isEqualTo(2);
  }

  private static float[] randomLogits(Random random, int width) {
    float[] logits = new float[width];
    for (int i = 0; i < width; i++) {
      logits[i] = (float) (random.nextGaussian() * 2);
    }
    return logits;
  }

  /** transformers' order, written plainly: temperature, top-k, top-p, then inverse CDF. */
  private static int reference(float[] logits, double t, int topK, double topP, double u) {
    List<Integer> ids = new ArrayList<>();
    for (int i = 0; i < logits.length; i++) {
      ids.add(i);
    }
    ids.sort(Comparator.<Integer>comparingDouble(i -> -logits[i]).thenComparingInt(i -> i));
    if (topK > 0 && topK < ids.size()) {
      ids = new ArrayList<>(ids.subList(0, topK));
    }
    double max = logits[ids.get(0)] / t;
    double[] p = new double[ids.size()];
    double mass = 0;
    for (int j = 0; j < ids.size(); j++) {
      p[j] = Math.exp(logits[ids.get(j)] / t - max);
      mass += p[j];
    }
    int kept = ids.size();
    if (topP < 1.0) {
      double acc = 0;
      for (int j = 0; j < ids.size(); j++) {
        acc += p[j];
        if (acc >= topP * mass) {
          kept = j + 1;
          break;
        }
      }
    }
    // Inverse CDF over the kept tokens in id order.
    List<Integer> order = new ArrayList<>();
    for (int j = 0; j < kept; j++) {
      order.add(j);
    }
    order.sort(Comparator.comparingInt(ids::get));
    double keptMass = 0;
    for (int j = 0; j < kept; j++) {
      keptMass += p[j];
    }
    double acc = 0;
    for (int j : order) {
      acc += p[j];
      if (u * keptMass < acc) {
        return ids.get(j);
      }
    }
    return ids.get(order.get(kept - 1));
  }
}
