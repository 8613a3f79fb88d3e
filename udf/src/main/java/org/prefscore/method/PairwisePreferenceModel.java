package org.prefscore.method;

import java.io.Serializable;

/**
 * A pairwise preference model P_θ(a ≻ b | x): the probability that {@code first} is the better
 * response to their shared prompt when the model is shown {@code first} in the first position and
 * {@code second} in the second. The prompt text x is the implementation's to look up (by {@link
 * Candidate#promptId()}); the two candidates always belong to one prompt.
 *
 * <p>Implementations must return a value in [0, 1]; they may be position-biased, which {@link
 * #symmetricPreference} cancels. Serializable so a lambda can travel in a Spark closure.
 */
@FunctionalInterface
public interface PairwisePreferenceModel extends Serializable {

  double preferenceProbability(Candidate first, Candidate second);

  /**
   * ½[P(a≻b) + 1 − P(b≻a)]: the order-symmetrised probability that {@code a} beats {@code b}
   * (method.md §1.4). It costs two model calls, satisfies s(a,b) + s(b,a) = 1 and removes any bias
   * that adds a constant to the probability of whichever response is shown first.
   *
   * @throws IllegalStateException if the model returns NaN or a value outside [0, 1]
   */
  default double symmetricPreference(Candidate a, Candidate b) {
    double ab = checked(preferenceProbability(a, b), a, b);
    double ba = checked(preferenceProbability(b, a), b, a);
    return 0.5 * (ab + 1.0 - ba);
  }

  private static double checked(double p, Candidate first, Candidate second) {
    if (!(p >= 0.0 && p <= 1.0)) {
      throw new IllegalStateException(
          "pairwise preference model returned "
              + p
              + " (not a probability) for prompt '"
              + first.promptId()
              + "', samples "
              + first.sampleIndex()
              + " vs "
              + second.sampleIndex());
    }
    return p;
  }
}
