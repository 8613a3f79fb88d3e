package org.prefscore.method;

/** How the likelihood filter reads log π(y|x) off a {@link Candidate}. */
public enum LogprobNormalization {
  /** The summed log-probability log π(y|x) as recorded. */
  SUM {
    @Override
    public double of(Candidate candidate) {
      return candidate.policyLogprob();
    }
  },
  /**
   * log π(y|x) / (number of response tokens), so long responses are not penalised for length; a
   * response of zero tokens is divided by 1 (its sum is what it is).
   */
  PER_TOKEN {
    @Override
    public double of(Candidate candidate) {
      return candidate.policyLogprob() / Math.max(1, candidate.responseTokens());
    }
  };

  public abstract double of(Candidate candidate);
}
