package org.prefscore.method;

import java.util.Objects;
import java.util.Optional;

/**
 * Keeps a pair when its confidence P_θ(y+ ≻ y- | x) ≥ {@code cut}, else {@link
 * FilterReason#LOW_CONFIDENCE}. The cut is the q-quantile of the confidences of all pairs of the
 * run, computed globally by the caller (or with {@link #atQuantile} for a local run).
 *
 * @param cut in [0, 1]
 */
public record ConfidenceFilter(double cut) implements PairFilter {

  public ConfidenceFilter {
    if (!(cut >= 0.0 && cut <= 1.0)) {
      throw new IllegalArgumentException("confidence cut must be in [0, 1] but was " + cut);
    }
  }

  /** A filter whose cut is {@link Quantiles#exact}(confidences, q). */
  public static ConfidenceFilter atQuantile(double[] confidences, double q) {
    return new ConfidenceFilter(Quantiles.exact(confidences, q));
  }

  @Override
  public Optional<FilterReason> check(PreferencePair pair) {
    Objects.requireNonNull(pair, "pair");
    return pair.confidence() >= cut ? Optional.empty() : Optional.of(FilterReason.LOW_CONFIDENCE);
  }
}
