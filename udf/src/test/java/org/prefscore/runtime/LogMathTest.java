package org.prefscore.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class LogMathTest {

  @Test
  void expInPlaceIsWithinItsDocumentedErrorOfMathExp() {
    int n = 2_000_001;
    double[] x = new double[n];
    for (int i = 0; i < n; i++) {
      x[i] = -708.0 + 1408.0 * i / (n - 1); // [-708, 700]: every result a normal double
    }
    double[] e = x.clone();
    LogMath.expInPlace(e, n);
    double worst = 0;
    double worstRelevant = 0;
    double worstNear = 0;
    for (int i = 0; i < n; i++) {
      double want = Math.exp(x[i]);
      double rel = Math.abs(e[i] - want) / want;
      worst = Math.max(worst, rel);
      if (x[i] >= -100 && x[i] <= 100) {
        worstRelevant = Math.max(worstRelevant, rel);
      }
      if (x[i] >= -50 && x[i] <= 0) {
        worstNear = Math.max(worstNear, rel);
      }
    }
    assertThat(worst).isLessThan(2e-4);
    assertThat(worstRelevant).isLessThan(2e-9);
    assertThat(worstNear).isLessThan(3e-11);
  }

  @Test
  void expAffineIsExpInPlaceOfTheScaledAndShiftedArguments() {
    SplittableRandom random = new SplittableRandom(11);
    int n = 5_000;
    double[] x = new double[n];
    for (int i = 0; i < n; i++) {
      x[i] = (float) (random.nextGaussian() * 4);
    }
    double scale = 1 / 0.7;
    double shift = -9.25;
    double[] args = new double[n];
    for (int i = 0; i < n; i++) {
      args[i] = x[i] * scale + shift;
    }
    LogMath.expInPlace(args, n);
    double[] out = new double[n + 1];
    out[n] = 42;
    LogMath.expAffine(x, out, n, scale, shift);
    assertThat(java.util.Arrays.copyOf(out, n)).containsExactly(args);
    assertThat(out[n]).isEqualTo(42);
    double[] inPlace = x.clone();
    LogMath.expAffine(inPlace, inPlace, n, scale, shift);
    assertThat(inPlace).containsExactly(args);
  }

  @Test
  void widenCopiesTheFloatsAsDoubles() {
    float[] v = {1.5f, -2.25f, 3.1f, Float.NEGATIVE_INFINITY, Float.NaN};
    double[] out = new double[4];
    LogMath.widen(v, 1, 4, out);
    assertThat(out[0]).isEqualTo(-2.25);
    assertThat(out[1]).isEqualTo((double) 3.1f);
    assertThat(out[2]).isEqualTo(Double.NEGATIVE_INFINITY);
    assertThat(out[3]).isNaN();
  }

  @Test
  void expInPlaceOfLogitDifferencesMatchesMathExp() {
    // The sampler's arguments: float logit minus the row's largest, widened.
    SplittableRandom random = new SplittableRandom(3);
    int n = 151_936;
    double[] x = new double[n];
    for (int i = 0; i < n; i++) {
      x[i] = (float) (-Math.abs(random.nextGaussian()) * 12);
    }
    double[] e = x.clone();
    LogMath.expInPlace(e, n);
    for (int i = 0; i < n; i++) {
      double rel = Math.abs(e[i] - Math.exp(x[i])) / Math.exp(x[i]);
      assertThat(rel).as("exp(%s)", x[i]).isLessThan(x[i] >= -50 ? 3e-11 : 2e-9);
    }
  }

  @Test
  void logSumExpMatchesADoubleReferenceAcrossChunksAndBlocks() {
    SplittableRandom random = new SplittableRandom(17);
    for (int length : new int[] {1, 255, 1024, 1025, 3 * 1024 + 257, 151_936}) {
      float[] values = new float[length + 3];
      for (int i = 0; i < values.length; i++) {
        values[i] = (float) (random.nextGaussian() * 3);
      }
      if (length > 1) {
        values[3 + random.nextInt(length)] = Float.NEGATIVE_INFINITY; // exp gives exactly 0
      }
      double max = Double.NEGATIVE_INFINITY;
      for (int i = 3; i < length + 3; i++) {
        max = Math.max(max, values[i]);
      }
      double z = 0;
      for (int i = 3; i < length + 3; i++) {
        z += Math.exp(values[i] - max);
      }
      double got = LogMath.logSumExp(values, 3, length);
      assertThat(got).as("length %d", length).isCloseTo(max + Math.log(z), within(1e-12));
      double[] sums = new double[1];
      assertThat(
              LogMath.logSumExp(
                  values,
                  3,
                  length,
                  (float) max,
                  new double[LogMath.CHUNK],
                  new double[LogMath.CHUNK],
                  sums))
          .isEqualTo(got);
    }
    float[] none = {Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY};
    assertThat(LogMath.logSumExp(none, 0, 2)).isEqualTo(Double.NEGATIVE_INFINITY);
  }

  @Test
  void expInPlaceGivesZeroForVeryNegativeArgumentsAndKeepsNaN() {
    double[] x = {
      Double.NEGATIVE_INFINITY, -1000, -1e6, -Double.MAX_VALUE, 0, Double.NaN, -745.5, -740
    };
    LogMath.expInPlace(x, x.length);
    assertThat(x[0]).isZero();
    assertThat(x[1]).isZero();
    assertThat(x[2]).isZero();
    assertThat(x[3]).isZero();
    assertThat(x[4]).isEqualTo(1.0);
    assertThat(x[5]).isNaN();
    assertThat(x[6]).isZero(); // below the smallest subnormal, like Math.exp
    assertThat(x[7]).isPositive().isLessThan(Double.MIN_NORMAL); // subnormal, like Math.exp
  }

  @Test
  void expInPlaceOnlyTouchesTheGivenPrefix() {
    double[] x = {0, 0, 7};
    LogMath.expInPlace(x, 2);
    assertThat(x).containsExactly(1, 1, 7);
  }

  @Test
  void blockSumsAddEachBlockInOrder() {
    SplittableRandom random = new SplittableRandom(5);
    for (int length : new int[] {0, 1, 255, 256, 257, 1023, 1024, 1025, 4 * 256 + 3, 151_936}) {
      double[] v = new double[length];
      for (int i = 0; i < length; i++) {
        v[i] = random.nextDouble() * Math.pow(10, random.nextInt(-8, 3));
      }
      double[] sums = new double[LogMath.blocksFor(length) + 2];
      sums[0] = -1;
      int blocks = LogMath.blockSums(v, length, sums, 1);
      assertThat(sums[0]).isEqualTo(-1);
      assertThat(blocks).isEqualTo((length + LogMath.SUM_BLOCK - 1) / LogMath.SUM_BLOCK);
      for (int b = 0; b < blocks; b++) {
        double s = 0;
        for (int i = b * LogMath.SUM_BLOCK;
            i < Math.min(length, (b + 1) * LogMath.SUM_BLOCK);
            i++) {
          s += v[i];
        }
        assertThat(sums[1 + b]).as("length %d block %d", length, b).isEqualTo(s);
      }
    }
  }
}
