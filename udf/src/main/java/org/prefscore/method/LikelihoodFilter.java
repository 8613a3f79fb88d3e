package org.prefscore.method;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Keeps a pair when both responses stay in distribution: ℓ(y+) ≥ τ and ℓ(y-) ≥ τ with ℓ the policy
 * log-likelihood read by {@code normalization}; else {@link FilterReason#LOW_LIKELIHOOD}.
 *
 * <p>τ is an absolute threshold, or a quantile of ℓ that the caller computes. This project defines
 * that quantile over the pooled values {ℓ(y+), ℓ(y-)} of every pair of the run ({@link
 * #pooledLikelihoods}, {@link #atQuantile}).
 *
 * @param threshold τ, not NaN (−∞ keeps everything)
 */
public record LikelihoodFilter(double threshold, LogprobNormalization normalization)
    implements PairFilter {

  public LikelihoodFilter {
    if (Double.isNaN(threshold)) {
      throw new IllegalArgumentException("likelihood threshold must not be NaN");
    }
    Objects.requireNonNull(normalization, "normalization");
  }

  /** τ on the summed log π(y|x). */
  public static LikelihoodFilter onSum(double threshold) {
    return new LikelihoodFilter(threshold, LogprobNormalization.SUM);
  }

  /** τ on the per-token log π(y|x) / tokens. */
  public static LikelihoodFilter perToken(double threshold) {
    return new LikelihoodFilter(threshold, LogprobNormalization.PER_TOKEN);
  }

  /** ℓ(y+) and ℓ(y-) of every pair, in pair order: the population τ is a quantile of. */
  public static double[] pooledLikelihoods(
      List<PreferencePair> pairs, LogprobNormalization normalization) {
    double[] values = new double[2 * pairs.size()];
    for (int i = 0; i < pairs.size(); i++) {
      values[2 * i] = normalization.of(pairs.get(i).chosen());
      values[2 * i + 1] = normalization.of(pairs.get(i).rejected());
    }
    return values;
  }

  /** A filter with τ = {@link Quantiles#exact}(pooled likelihoods of {@code pairs}, q). */
  public static LikelihoodFilter atQuantile(
      List<PreferencePair> pairs, double q, LogprobNormalization normalization) {
    return new LikelihoodFilter(
        Quantiles.exact(pooledLikelihoods(pairs, normalization), q), normalization);
  }

  @Override
  public Optional<FilterReason> check(PreferencePair pair) {
    Objects.requireNonNull(pair, "pair");
    boolean keep =
        normalization.of(pair.chosen()) >= threshold
            && normalization.of(pair.rejected()) >= threshold;
    return keep ? Optional.empty() : Optional.of(FilterReason.LOW_LIKELIHOOD);
  }
}
