package org.prefscore.runtime;

/** Numerically stable log-space helpers over float logits. */
public final class LogMath {

  private LogMath() {}

  /**
   * Ids summed one after the other into one partial sum by {@link #blockSums}: a row's sum is the
   * sum, in id order, of its blocks' sums.
   */
  public static final int SUM_BLOCK = 256;

  /** Arguments at or below this give 0 from {@link #expInPlace}: exp(-1000) underflows. */
  static final double EXP_FLOOR = -1000.0;

  private static final double TWO_POW_MINUS_12 = 1.0 / 4096;

  /** {@link #EXP_FLOOR} / 2^12, the floor of the polynomial's argument. */
  private static final double SCALED_FLOOR = EXP_FLOOR * TWO_POW_MINUS_12;

  /**
   * Ids per pass of a chunked row function ({@link #logSumExp} and the sampler's): its scratch
   * arrays of doubles (8 KB each) stay in the core's L1 cache. A multiple of {@link #SUM_BLOCK}.
   */
  public static final int CHUNK = 1024;

  /** log Σ exp(x_i) over {@code values[offset, offset + length)}, in double precision. */
  public static double logSumExp(float[] values, int offset, int length) {
    float max = Float.NEGATIVE_INFINITY;
    for (int i = offset; i < offset + length; i++) {
      float v = values[i];
      max = v > max ? v : max;
    }
    return logSumExp(values, offset, length, max);
  }

  /**
   * {@link #logSumExp(float[], int, int)} when the caller already knows {@code max}, the largest of
   * the values: the same result, bit for bit, one pass fewer.
   */
  public static double logSumExp(float[] values, int offset, int length, float max) {
    return logSumExp(
        values, offset, length, max, new double[CHUNK], new double[CHUNK], new double[0]);
  }

  /**
   * {@link #logSumExp(float[], int, int, float)} with the caller's scratch arrays (each at least
   * {@link #CHUNK} long; {@code sums} is replaced by a longer array when it holds fewer than {@link
   * #blocksFor}(length) values): the same result, bit for bit. Each chunk of the row is widened to
   * double, exp(x - max) taken by {@link #expAffine} and summed by {@link #blockSums}; the row's
   * sum is its block sums added in order. The arguments are exact differences of floats, so no
   * rounding happens before the exp.
   */
  public static double logSumExp(
      float[] values,
      int offset,
      int length,
      float max,
      double[] widened,
      double[] exps,
      double[] sums) {
    if (max == Float.NEGATIVE_INFINITY) {
      return Double.NEGATIVE_INFINITY;
    }
    double[] blockSums = sums.length >= blocksFor(length) ? sums : new double[blocksFor(length)];
    for (int base = 0; base < length; base += CHUNK) {
      int n = Math.min(CHUNK, length - base);
      widen(values, offset + base, n, widened);
      expAffine(widened, exps, n, 1.0, -max);
      blockSums(exps, n, blockSums, base / SUM_BLOCK);
    }
    return max + Math.log(sumInOrder(blockSums, blocksFor(length)));
  }

  /** {@code values[0, count)} added one after the other. */
  public static double sumInOrder(double[] values, int count) {
    double total = 0;
    for (int i = 0; i < count; i++) {
      total += values[i];
    }
    return total;
  }

  /**
   * Replaces {@code values[0, length)} by their exponentials: {@link #expAffine} with scale 1 and
   * shift 0, the same bits.
   */
  public static void expInPlace(double[] values, int length) {
    for (int i = 0; i < length; i++) {
      values[i] = expOfScaled(Math.max(values[i] * TWO_POW_MINUS_12, SCALED_FLOOR));
    }
  }

  /**
   * Writes exp(src[i]·scale + shift) into {@code dst[i]} for i in [0, length); {@code dst} may be
   * {@code src}. The sampler's arguments are logits scaled by 1/T and shifted by the row's largest,
   * so at most 0. Relative error below 2e-9 for arguments in [-100, 0] (below 3e-11 in [-50, 0];
   * measured against {@link Math#exp}), below 2e-4 down to -708 (such a weight is under e^-100 of
   * the row's largest, of weight 1: it changes neither a double sum of the row nor a draw), exactly
   * 0 at or below -1000 and for -∞, NaN for NaN; arguments above 0 up to about 700 are as accurate
   * as their negatives.
   *
   * <p>Pure double arithmetic, so the result is the same, bit for bit, on every JVM, compiled or
   * interpreted (Java 17 has strict IEEE semantics and never fuses a multiply and an add): exp(x) =
   * e(x / 2^12)^(2^12), where e(y) is the degree-5 Taylor polynomial (|y| ≤ 0.0245 where it
   * matters, truncation below 3e-13 relative) followed by 12 squarings (which multiply its relative
   * error by 2^12). The division by 2^12 is folded into scale and shift (exact: a power of two).
   * Without tables, branches or conversions, Java 17's C2 compiles the loop to SIMD instructions:
   * about 0.7 ns per value on an AVX-512 core, against 4.5-6 ns for {@code Math.exp}.
   */
  public static void expAffine(double[] src, double[] dst, int length, double scale, double shift) {
    double s = scale * TWO_POW_MINUS_12;
    double b = shift * TWO_POW_MINUS_12;
    for (int i = 0; i < length; i++) {
      dst[i] = expOfScaled(Math.max(src[i] * s + b, SCALED_FLOOR));
    }
  }

  /** exp(2^12·y) for y at least {@link #SCALED_FLOOR} (inlined into its loops by the JIT). */
  private static double expOfScaled(double y) {
    double p = 1.0 + y * (1.0 + y * (0.5 + y * (1.0 / 6 + y * (1.0 / 24 + y * (1.0 / 120)))));
    p *= p;
    p *= p;
    p *= p;
    p *= p;
    p *= p;
    p *= p;
    p *= p;
    p *= p;
    p *= p;
    p *= p;
    p *= p;
    p *= p;
    return p;
  }

  /** Widens {@code values[offset, offset + length)} into {@code out[0, length)}. */
  public static void widen(float[] values, int offset, int length, double[] out) {
    for (int i = 0; i < length; i++) {
      out[i] = values[offset + i];
    }
  }

  /**
   * Writes into {@code sums[first + b]} the sum of {@code values[b·SUM_BLOCK, min(length,
   * (b+1)·SUM_BLOCK))} added one after the other in index order, for every block b, and returns the
   * number of blocks. Four blocks are summed side by side (independent additions the CPU overlaps);
   * each block's sum is still its values added in order, so the result does not depend on that.
   */
  public static int blockSums(double[] values, int length, double[] sums, int first) {
    int blocks = blocksFor(length);
    int b = 0;
    for (; (b + 4) * SUM_BLOCK <= length; b += 4) {
      int base = b * SUM_BLOCK;
      double s0 = 0;
      double s1 = 0;
      double s2 = 0;
      double s3 = 0;
      for (int j = 0; j < SUM_BLOCK; j++) {
        s0 += values[base + j];
        s1 += values[base + SUM_BLOCK + j];
        s2 += values[base + 2 * SUM_BLOCK + j];
        s3 += values[base + 3 * SUM_BLOCK + j];
      }
      sums[first + b] = s0;
      sums[first + b + 1] = s1;
      sums[first + b + 2] = s2;
      sums[first + b + 3] = s3;
    }
    for (; b < blocks; b++) {
      double s = 0;
      for (int i = b * SUM_BLOCK, end = Math.min(length, i + SUM_BLOCK); i < end; i++) {
        s += values[i];
      }
      sums[first + b] = s;
    }
    return blocks;
  }

  /** The number of block sums {@link #blockSums} writes for {@code length} values. */
  public static int blocksFor(int length) {
    return (length + SUM_BLOCK - 1) / SUM_BLOCK;
  }
}
