package org.prefscore.method;

import java.util.Arrays;
import java.util.Objects;

/**
 * Exact empirical quantiles, for tests and small local runs; a cluster run computes the same
 * statistic distributed.
 */
public final class Quantiles {

  private Quantiles() {}

  /**
   * The q-quantile of {@code values} as the inverse of the empirical CDF F_n (Hyndman–Fan type 1,
   * numpy's {@code inverted_cdf}): the smallest value v with F_n(v) ≥ q, that is the value of
   * 1-based rank ⌈q·n⌉ in ascending order (rank 1 when q = 0). This is what Spark's {@code
   * approxQuantile} returns with relative error 0 (target rank ⌈q·n⌉).
   *
   * <p>Consequence for a filter that keeps {@code value ≥ quantile}: fewer than q·n values are
   * dropped, and with n distinct values exactly n − ⌈q·n⌉ + 1 are kept (q > 0).
   *
   * @param values non-empty, no NaN (infinities are ordered as usual); not modified
   * @param q in [0, 1]
   */
  public static double exact(double[] values, double q) {
    Objects.requireNonNull(values, "values");
    if (values.length == 0) {
      throw new IllegalArgumentException("cannot take a quantile of no values");
    }
    if (!(q >= 0.0 && q <= 1.0)) {
      throw new IllegalArgumentException("q must be in [0, 1] but was " + q);
    }
    double[] sorted = values.clone();
    for (double v : sorted) {
      if (Double.isNaN(v)) {
        throw new IllegalArgumentException("values must not contain NaN");
      }
    }
    Arrays.sort(sorted);
    long rank = (long) Math.ceil(q * sorted.length);
    int index = (int) Math.max(0L, Math.min(sorted.length, rank) - 1L);
    return sorted[index];
  }
}
