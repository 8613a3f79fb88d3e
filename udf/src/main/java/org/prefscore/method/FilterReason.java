package org.prefscore.method;

/**
 * Why a West-of-N pair was filtered out; written next to the pair so filtered pairs are kept for
 * inspection.
 */
public enum FilterReason {
  /** The base model's confidence P(y+ ≻ y-) is below the confidence cut. */
  LOW_CONFIDENCE,
  /** log π(y+|x) or log π(y-|x) (optionally per token) is below the likelihood threshold τ. */
  LOW_LIKELIHOOD
}
