package org.prefscore.method;

/**
 * The logistic function σ and −log σ, evaluated without overflow or cancellation for any finite
 * argument; NaN propagates.
 */
public final class Logistic {

  private Logistic() {}

  /** σ(z) = 1 / (1 + e^−z), in [0, 1]; never evaluates e^t for t > 0. */
  public static double sigmoid(double z) {
    if (z >= 0) {
      return 1.0 / (1.0 + Math.exp(-z));
    }
    double e = Math.exp(z);
    return e / (1.0 + e);
  }

  /**
   * −log σ(z) = log(1 + e^−z) (softplus of −z), ≥ 0: about e^−z for large z, about −z for very
   * negative z, and finite for every finite z.
   */
  public static double negativeLogSigmoid(double z) {
    if (z >= 0) {
      return Math.log1p(Math.exp(-z));
    }
    return -z + Math.log1p(Math.exp(z));
  }
}
