package org.prefscore.runtime.decode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.prefscore.runtime.SamplingHead;

/**
 * The sampling-head path draws as the whole-row sampler does: the same inverse CDF over the
 * sampleable ids in id order, so the same tokens except within float rounding of a block boundary,
 * and the same log-probabilities within 1e-6; a head that does not describe its row is refused.
 */
class HeadSamplerTest {

  private static SamplingConfig sampling(double temperature, int topK, double topP) {
    return new SamplingConfig(1, temperature, topK, topP, 8, List.of());
  }

  /** Rows of random logits (a few peaks, as real models have). */
  private static float[] rows(int rows, int width, long seed) {
    Random r = new Random(seed);
    float[] logits = new float[rows * width];
    for (int i = 0; i < logits.length; i++) {
      logits[i] = (float) (r.nextGaussian() * 2);
    }
    for (int row = 0; row < rows; row++) {
      for (int k = 0; k < 3; k++) {
        logits[row * width + r.nextInt(width)] += 8;
      }
    }
    return logits;
  }

  /** The head a graph computes (float32 outputs of float64 softmaxes here). */
  static SamplingHead headOf(float[] logits, int rows, int width, int block, double temperature) {
    int blocks = width / block;
    float[] mass = new float[rows * blocks];
    float[] warped = new float[rows * blocks];
    for (int row = 0; row < rows; row++) {
      double top = Double.NEGATIVE_INFINITY;
      for (int i = 0; i < width; i++) {
        top = Math.max(top, logits[row * width + i]);
      }
      double z = 0;
      double zt = 0;
      for (int i = 0; i < width; i++) {
        z += Math.exp(logits[row * width + i] - top);
        zt += Math.exp((logits[row * width + i] - top) / temperature);
      }
      for (int b = 0; b < blocks; b++) {
        double s = 0;
        double st = 0;
        for (int j = 0; j < block; j++) {
          float v = logits[row * width + b * block + j];
          s += Math.exp(v - top);
          st += Math.exp((v - top) / temperature);
        }
        mass[row * blocks + b] = (float) (s / z);
        warped[row * blocks + b] = (float) (st / zt);
      }
    }
    return new SamplingHead(blocks, block, temperature, mass, warped);
  }

  private static void assertDrawsAsTheWholeRow(
      SamplingConfig config, int width, int block, int sampleable) {
    int rows = 6;
    float[] logits = rows(rows, width, 11);
    SamplingHead head =
        headOf(logits, rows, width, block, config.temperature() == 0 ? 1.0 : config.temperature());
    TokenSampler whole = new TokenSampler(config, sampleable);
    TokenSampler headed = new TokenSampler(config, sampleable);
    int draws = 0;
    int same = 0;
    for (int row = 0; row < rows; row++) {
      for (int k = 0; k < 400; k++) {
        double u = (k + 0.5) / 400;
        TokenSampler.Choice a = whole.choose(logits, row * width, width, u);
        TokenSampler.Choice b = headed.choose(logits, row * width, width, head, row, u);
        assertThat(b.token()).isLessThan(sampleable);
        draws++;
        if (a.token() == b.token()) {
          same++;
          assertThat(b.logprob()).isCloseTo(a.logprob(), within(1e-6));
          assertThat(b.samplingLogprob()).isCloseTo(a.samplingLogprob(), within(1e-6));
        }
      }
    }
    assertThat(headed.headRefusals()).isZero();
    // Only a uniform within ~1e-7 of a boundary may differ: none of these 2,400.
    assertThat(same).isEqualTo(draws);
  }

  @Test
  void samplesAsTheWholeRowAtTemperatureOne() {
    assertDrawsAsTheWholeRow(sampling(1.0, 0, 1.0), 961, 31, 961);
  }

  @Test
  void samplesAsTheWholeRowBelowAndAboveTemperatureOne() {
    assertDrawsAsTheWholeRow(sampling(0.7, 0, 1.0), 961, 31, 961);
    assertDrawsAsTheWholeRow(sampling(1.3, 0, 1.0), 4096, 64, 4096);
  }

  @Test
  void decodesGreedilyAsTheWholeRow() {
    assertDrawsAsTheWholeRow(SamplingConfig.greedy(8), 961, 31, 961);
  }

  @Test
  void paddedIdsInsideABlockAreNeverChosen() {
    // 950 sampleable ids of 961: block 30 holds 20 sampleable and 11 padded ids.
    assertDrawsAsTheWholeRow(sampling(0.7, 0, 1.0), 961, 31, 950);
    assertDrawsAsTheWholeRow(SamplingConfig.greedy(8), 961, 31, 950);
    // A padded id with the row's largest logit still counts in log π but is never chosen.
    float[] logits = rows(1, 961, 5);
    logits[955] = 40f;
    SamplingHead head = headOf(logits, 1, 961, 31, 1.0);
    TokenSampler whole = new TokenSampler(sampling(1.0, 0, 1.0), 950);
    TokenSampler headed = new TokenSampler(sampling(1.0, 0, 1.0), 950);
    for (double u : new double[] {0.0, 0.3, 0.999999}) {
      TokenSampler.Choice a = whole.choose(logits, 0, 961, u);
      TokenSampler.Choice b = headed.choose(logits, 0, 961, head, 0, u);
      assertThat(b.token()).isEqualTo(a.token()).isLessThan(950);
      assertThat(b.logprob()).isCloseTo(a.logprob(), within(1e-6));
    }
  }

  @Test
  void topKAndTopPSampleTheWholeRow() {
    assertThat(HeadSampler.serves(sampling(0.7, 0, 0.9), 961)).isFalse();
    assertThat(HeadSampler.serves(sampling(0.7, 50, 1.0), 961)).isFalse();
    assertThat(HeadSampler.serves(sampling(0.7, 961, 1.0), 961)).isTrue();
    float[] logits = rows(1, 961, 3);
    SamplingHead head = headOf(logits, 1, 961, 31, 0.7);
    TokenSampler sampler = new TokenSampler(sampling(0.7, 0, 0.9), 961);
    TokenSampler.Choice a = sampler.choose(logits, 0, 961, 0.4);
    TokenSampler.Choice b = sampler.choose(logits, 0, 961, head, 0, 0.4);
    assertThat(b).isEqualTo(a);
    assertThat(sampler.headRefusals()).isZero();
  }

  @Test
  void aRowInADirectBufferIsChosenAsTheSameRowInAnArray() {
    // Lent logits (StepOutput.lentLogits): the head reads blocks of the buffer, greedy scans it in
    // chunks (10,000 ids: three chunks), everything else samples a copy of the row.
    int width = 10_000;
    int rows = 3;
    float[] logits = rows(rows, width, 5);
    logits[2 * width + 9_000] = 40; // row 2's largest logit in the last chunk
    logits[2 * width + 9_500] = 40; // ... twice: the first is taken
    java.nio.FloatBuffer direct =
        java.nio.ByteBuffer.allocateDirect(logits.length * Float.BYTES)
            .order(java.nio.ByteOrder.nativeOrder())
            .asFloatBuffer();
    direct.put(0, logits);
    for (SamplingConfig config :
        List.of(
            sampling(0.7, 0, 1.0),
            sampling(1.0, 0, 1.0),
            SamplingConfig.greedy(8),
            sampling(0.7, 0, 0.9),
            sampling(0.7, 20, 1.0))) {
      SamplingHead head =
          headOf(logits, rows, width, 100, config.isGreedy() ? 1.0 : config.temperature());
      float[] nan = head.mass().clone();
      nan[1] = Float.NaN;
      SamplingHead refused = new SamplingHead(100, 100, head.temperature(), nan, nan);
      TokenSampler fromArray = new TokenSampler(config, 9_990);
      TokenSampler fromBuffer = new TokenSampler(config, 9_990);
      for (int row = 0; row < rows; row++) {
        for (double u : new double[] {0.01, 0.37, 0.5, 0.93}) {
          for (SamplingHead h : java.util.Arrays.asList(head, refused, null)) {
            assertThat(fromBuffer.choose(direct, row * width, width, h, row, u))
                .isEqualTo(fromArray.choose(logits, row * width, width, h, row, u));
          }
        }
      }
      assertThat(fromBuffer.headRefusals()).isEqualTo(fromArray.headRefusals());
      if (config.isGreedy()) {
        assertThat(fromBuffer.choose(direct, 2 * width, width, head, 2, 0.5).token())
            .isEqualTo(9_000);
      }
    }
  }

  @Test
  void aHeadThatDoesNotDescribeItsRowIsRefused() {
    float[] logits = rows(1, 961, 9);
    SamplingHead good = headOf(logits, 1, 961, 31, 0.7);
    SamplingConfig config = sampling(0.7, 0, 1.0);
    HeadSampler sampler = new HeadSampler(config, 961);
    assertThat(sampler.choose(logits, 0, 961, good, 0, 0.5)).isNotNull();

    float[] nan = good.mass().clone();
    nan[3] = Float.NaN;
    float[] half = good.warpedMass().clone();
    for (int b = 0; b < half.length; b++) {
      half[b] /= 2;
    }
    float[] negative = good.mass().clone();
    negative[0] = -negative[0];
    for (SamplingHead bad :
        List.of(
            new SamplingHead(31, 31, 0.7, nan, good.warpedMass()),
            new SamplingHead(31, 31, 0.7, good.mass(), half),
            new SamplingHead(31, 31, 0.7, negative, good.warpedMass()),
            // Another width than the row's.
            new SamplingHead(1, 31, 0.7, new float[] {1}, new float[] {1}))) {
      assertThat(sampler.choose(logits, 0, 961, bad, 0, 0.5)).isNull();
    }
    // A head warped at another temperature than the sampler's.
    assertThat(sampler.choose(logits, 0, 961, headOf(logits, 1, 961, 31, 1.0), 0, 0.5)).isNull();
    // A refused row falls back to the whole row, counted.
    TokenSampler tokens = new TokenSampler(config, 961);
    TokenSampler.Choice fallback =
        tokens.choose(logits, 0, 961, new SamplingHead(31, 31, 0.7, nan, nan), 0, 0.5);
    assertThat(fallback).isEqualTo(tokens.choose(logits, 0, 961, 0.5));
    assertThat(tokens.headRefusals()).isEqualTo(1);
  }
}
