package org.prefscore.method;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * The four summed log-probabilities of one response y needed by Sr-DPO/IPO: under the policy π and
 * the reference π_ref, given the prompt x and given p ⊕ x. Each is a sum over response tokens of
 * the raw temperature-1 log-softmax; each must be finite and ≤ 0 (every violation is listed in one
 * {@link IllegalArgumentException}).
 *
 * <p>"Policy" is the checkpoint the pipeline was given; without one the policy terms equal the
 * reference terms ({@link #referenceOnly}), which is π = π_ref at training step 0.
 */
public record ResponseLogprobs(
    double policy, double reference, double policyWithPrompt, double referenceWithPrompt)
    implements Serializable {

  public ResponseLogprobs {
    List<String> violations = new ArrayList<>();
    check("policy", policy, violations);
    check("reference", reference, violations);
    check("policyWithPrompt", policyWithPrompt, violations);
    check("referenceWithPrompt", referenceWithPrompt, violations);
    if (!violations.isEmpty()) {
      throw new IllegalArgumentException(
          "Invalid response log-probabilities: " + String.join("; ", violations));
    }
  }

  /** π = π_ref: the policy terms are the reference terms. */
  public static ResponseLogprobs referenceOnly(double reference, double referenceWithPrompt) {
    return new ResponseLogprobs(reference, reference, referenceWithPrompt, referenceWithPrompt);
  }

  /** log π(y|x) − log π_ref(y|x). */
  public double logRatio() {
    return policy - reference;
  }

  /** log π(y|p⊕x) − log π_ref(y|p⊕x). */
  public double promptAugmentedLogRatio() {
    return policyWithPrompt - referenceWithPrompt;
  }

  static void check(String name, double value, List<String> violations) {
    if (!Double.isFinite(value) || value > 0.0) {
      violations.add(name + " (a summed log-probability) must be finite and <= 0 but was " + value);
    }
  }
}
