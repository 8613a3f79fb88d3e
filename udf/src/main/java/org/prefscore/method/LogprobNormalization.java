package org.prefscore.method;

/**
 * How the likelihood filter reads ℓ(y) off log π(y|x) (method.md §2): the one definition of ℓ, used
 * for the filter's per-pair test and for the pooled quantile τ alike.
 */
public enum LogprobNormalization {
  /** The summed log-probability log π(y|x) as recorded. */
  SUM {
    @Override
    public double of(double logprob, int responseTokens) {
      return logprob;
    }
  },
  /**
   * log π(y|x) / (number of response tokens), so long responses are not penalised for length; a
   * response of zero tokens is divided by 1 (its sum is what it is).
   */
  PER_TOKEN {
    @Override
    public double of(double logprob, int responseTokens) {
      return logprob / Math.max(1, responseTokens);
    }
  };

  /** ℓ(y) of a response with summed log-probability {@code logprob} over {@code responseTokens}. */
  public abstract double of(double logprob, int responseTokens);

  /** ℓ(y) of a candidate. */
  public double of(Candidate candidate) {
    return of(candidate.policyLogprob(), candidate.responseTokens());
  }
}
