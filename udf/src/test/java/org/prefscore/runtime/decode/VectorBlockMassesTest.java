package org.prefscore.runtime.decode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.prefscore.testing.ChildJvm;

/**
 * The JVM's own sampling head ({@link BlockMasses}, the vector API): block masses as a float64
 * softmax has them, and the tokens and log-probabilities of the scalar sampler at real vocabulary
 * sizes; rows it cannot weigh and JVMs without the module keep the scalar passes.
 */
class VectorBlockMassesTest {

  private static final int QWEN3_WIDTH = 151_936;
  private static final int QWEN3_TOKENIZER = 151_669;

  private static boolean x86() {
    String arch = System.getProperty("os.arch", "");
    return arch.equals("amd64") || arch.equals("x86_64");
  }

  /** LM-like rows: a Gaussian bulk (std 3) and a few strong candidates. */
  private static float[] row(int width, Random r) {
    float[] row = new float[width];
    for (int i = 0; i < width; i++) {
      row[i] = (float) (r.nextGaussian() * 3);
    }
    for (int k = 0; k < 5; k++) {
      row[r.nextInt(width)] = (float) (12 + 4 * r.nextDouble());
    }
    return row;
  }

  private static BlockMasses masses() {
    BlockMasses masses = BlockMasses.vectorised();
    assumeTrue(x86(), "the vectorised pass runs on x86-64 only");
    assertThat(masses)
        .as("the tests' JVM has --add-modules=jdk.incubator.vector (the poms' vector.module.opts)")
        .isNotNull();
    return masses;
  }

  @Test
  void blockSizesAreWholeVectorsDividingTheRow() {
    assertThat(BlockMasses.blockSize(151_936)).isEqualTo(128);
    assertThat(BlockMasses.blockSize(128_256)).isEqualTo(384);
    assertThat(BlockMasses.blockSize(32_000)).isEqualTo(400);
    assertThat(BlockMasses.blockSize(32_768)).isEqualTo(512);
    assertThat(BlockMasses.blockSize(50_257)).isZero(); // odd: the scalar passes
    assertThat(BlockMasses.blockSize(961)).isZero(); // narrow: the scalar passes
  }

  @ParameterizedTest
  @ValueSource(doubles = {0.7, 1.0, 1.3})
  void massesAreTheSoftmaxesBlockShares(double temperature) {
    BlockMasses masses = masses();
    int width = 128_256;
    int d = BlockMasses.blockSize(width);
    Random r = new Random(7);
    for (int n = 0; n < 4; n++) {
      float[] row = row(width + 64, r);
      int offset = 64 * (n % 2); // rows inside a larger array, as a batch's
      float[] mass = new float[width / d];
      float[] warped = temperature == 1.0 ? mass : new float[width / d];
      assertThat(masses.weigh(row, offset, width, d, temperature, mass, warped)).isTrue();
      double top = Double.NEGATIVE_INFINITY;
      for (int i = 0; i < width; i++) {
        top = Math.max(top, row[offset + i]);
      }
      double[] exact = new double[width / d];
      double[] exactWarped = new double[width / d];
      double z = 0;
      double zt = 0;
      for (int i = 0; i < width; i++) {
        double e = Math.exp(row[offset + i] - top);
        double et = Math.exp((row[offset + i] - top) / temperature);
        exact[i / d] += e;
        exactWarped[i / d] += et;
        z += e;
        zt += et;
      }
      for (int b = 0; b < width / d; b++) {
        assertThat((double) mass[b]).isCloseTo(exact[b] / z, within(2e-6 * exact[b] / z + 1e-12));
        assertThat((double) warped[b])
            .isCloseTo(exactWarped[b] / zt, within(2e-6 * exactWarped[b] / zt + 1e-12));
      }
    }
  }

  /**
   * The same inverse CDF as the scalar sampler, with block masses in float: a draw moves only when
   * the target falls within about 1e-7 (cumulative probability) of a token boundary, which at 151k
   * ids happens to a draw in a few thousand; the token drawn then lies that close to the target.
   */
  @ParameterizedTest
  @ValueSource(doubles = {0.7, 1.0})
  void drawsAreTheScalarSamplersAtQwen3sVocabulary(double temperature) {
    masses();
    SamplingConfig config = new SamplingConfig(1, temperature, 0, 1.0, 8, List.of());
    TokenSampler vector = new TokenSampler(config, QWEN3_TOKENIZER);
    TokenSampler scalar = TokenSampler.scalarOnly(config, QWEN3_TOKENIZER);
    assertThat(vector.weighsRowsInVectors()).isTrue();
    assertThat(scalar.weighsRowsInVectors()).isFalse();
    Random r = new Random(11);
    int draws = 0;
    int moved = 0;
    for (int n = 0; n < 24; n++) {
      float[] row = row(QWEN3_WIDTH, r);
      double[] cdf = warpedCdf(row, QWEN3_TOKENIZER, temperature);
      for (int u = 0; u < 50; u++) {
        double uniform = r.nextDouble();
        TokenSampler.Choice v = vector.choose(row, 0, QWEN3_WIDTH, null, 0, uniform);
        TokenSampler.Choice s = scalar.choose(row, 0, QWEN3_WIDTH, null, 0, uniform);
        assertThat(v.token()).isBetween(0, QWEN3_TOKENIZER - 1);
        draws++;
        if (v.token() != s.token()) {
          moved++;
          double from = v.token() == 0 ? 0 : cdf[v.token() - 1];
          assertThat(Math.max(from - uniform, uniform - cdf[v.token()]))
              .as("row %d, uniform %s: token %d for %d", n, uniform, v.token(), s.token())
              .isLessThan(1e-6);
          continue;
        }
        assertThat(v.logprob()).isCloseTo(s.logprob(), within(1e-5));
        assertThat(v.samplingLogprob()).isCloseTo(s.samplingLogprob(), within(1e-5));
      }
    }
    assertThat(draws).isEqualTo(1200);
    assertThat(moved).as("draws that moved to a neighbour").isLessThanOrEqualTo(draws / 100);
  }

  /** The cumulative warped softmax over the sampleable ids, in id order, in double precision. */
  private static double[] warpedCdf(float[] row, int limit, double temperature) {
    double top = Double.NEGATIVE_INFINITY;
    for (int i = 0; i < limit; i++) {
      top = Math.max(top, row[i]);
    }
    double[] cdf = new double[limit];
    double acc = 0;
    for (int i = 0; i < limit; i++) {
      acc += Math.exp((row[i] - top) / temperature);
      cdf[i] = acc;
    }
    for (int i = 0; i < limit; i++) {
      cdf[i] /= acc;
    }
    return cdf;
  }

  @Test
  void greedyTakesTheScalarSamplersTokenAndLogprob() {
    masses();
    SamplingConfig config = SamplingConfig.greedy(8);
    TokenSampler vector = new TokenSampler(config, QWEN3_TOKENIZER);
    TokenSampler scalar = TokenSampler.scalarOnly(config, QWEN3_TOKENIZER);
    Random r = new Random(13);
    for (int n = 0; n < 8; n++) {
      float[] row = row(QWEN3_WIDTH, r);
      TokenSampler.Choice v = vector.choose(row, 0, QWEN3_WIDTH, null, 0, 0.5);
      TokenSampler.Choice s = scalar.choose(row, 0, QWEN3_WIDTH, null, 0, 0.5);
      assertThat(v.token()).isEqualTo(s.token());
      assertThat(v.logprob()).isCloseTo(s.logprob(), within(1e-5));
    }
  }

  @Test
  void rowsItCannotWeighAreSampledTheScalarWay() {
    BlockMasses masses = masses();
    int d = BlockMasses.blockSize(QWEN3_WIDTH);
    float[] mass = new float[QWEN3_WIDTH / d];
    float[] warped = new float[QWEN3_WIDTH / d];
    SamplingConfig config = new SamplingConfig(1, 0.7, 0, 1.0, 8, List.of());
    TokenSampler vector = new TokenSampler(config, QWEN3_TOKENIZER);
    TokenSampler scalar = TokenSampler.scalarOnly(config, QWEN3_TOKENIZER);
    Random r = new Random(17);
    List<float[]> rows = new ArrayList<>();
    float[] nan = row(QWEN3_WIDTH, r);
    nan[70_001] = Float.NaN;
    rows.add(nan);
    float[] infinite = row(QWEN3_WIDTH, r);
    infinite[3] = Float.POSITIVE_INFINITY;
    rows.add(infinite);
    float[] masked = new float[QWEN3_WIDTH];
    java.util.Arrays.fill(masked, Float.NEGATIVE_INFINITY);
    rows.add(masked);
    for (float[] row : rows) {
      assertThat(masses.weigh(row, 0, QWEN3_WIDTH, d, 0.7, mass, warped)).isFalse();
      TokenSampler.Choice v = vector.choose(row, 0, QWEN3_WIDTH, null, 0, 0.25);
      TokenSampler.Choice s = scalar.choose(row, 0, QWEN3_WIDTH, null, 0, 0.25);
      assertThat(v).isEqualTo(s);
    }
    // Blocks of -∞ ids (masked) have no mass, and the others still sum to 1.
    float[] partly = row(QWEN3_WIDTH, r);
    java.util.Arrays.fill(partly, 0, 50 * d, Float.NEGATIVE_INFINITY);
    assertThat(masses.weigh(partly, 0, QWEN3_WIDTH, d, 0.7, mass, warped)).isTrue();
    double sum = 0;
    for (int b = 0; b < mass.length; b++) {
      if (b < 50) {
        assertThat(mass[b]).isZero();
        assertThat(warped[b]).isZero();
      }
      sum += warped[b];
    }
    assertThat(sum).isCloseTo(1.0, within(1e-5));
  }

  /** A JVM started without the module: the scalar passes, and the draw works. */
  @Test
  void aJvmWithoutTheModuleSamplesTheScalarWay() throws Exception {
    ChildJvm.Exit exit = ChildJvm.run(WithoutModule.class, 60);
    String out = exit.output();
    assertThat(exit.status()).as(out).isZero();
    assertThat(out).contains("vectors=false token=");
  }

  /** The child JVM of {@link #aJvmWithoutTheModuleSamplesTheScalarWay}. */
  static final class WithoutModule {
    public static void main(String[] args) {
      SamplingConfig config = new SamplingConfig(1, 0.7, 0, 1.0, 8, List.of());
      TokenSampler sampler = new TokenSampler(config, QWEN3_WIDTH);
      float[] row = row(QWEN3_WIDTH, new Random(5));
      TokenSampler.Choice c = sampler.choose(row, 0, QWEN3_WIDTH, null, 0, 0.5);
      System.out.println("vectors=" + sampler.weighsRowsInVectors() + " token=" + c.token());
    }
  }
}
