package org.prefscore.runtime;

/** Numerically stable log-space helpers over float logits. */
public final class LogMath {

  private LogMath() {}

  /** log Σ exp(x_i) over {@code values[offset, offset + length)}, in double precision. */
  public static double logSumExp(float[] values, int offset, int length) {
    float max = Float.NEGATIVE_INFINITY;
    for (int i = offset; i < offset + length; i++) {
      if (values[i] > max) {
        max = values[i];
      }
    }
    return logSumExp(values, offset, length, max);
  }

  /**
   * {@link #logSumExp(float[], int, int)} when the caller already knows {@code max}, the largest of
   * the values: the same result, bit for bit, one pass fewer.
   */
  public static double logSumExp(float[] values, int offset, int length, float max) {
    if (max == Float.NEGATIVE_INFINITY) {
      return Double.NEGATIVE_INFINITY;
    }
    double sum = 0;
    for (int i = offset; i < offset + length; i++) {
      sum += Math.exp(values[i] - max);
    }
    return max + Math.log(sum);
  }
}
