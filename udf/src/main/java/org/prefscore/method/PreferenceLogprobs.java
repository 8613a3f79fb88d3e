package org.prefscore.method;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * The eight summed log-probabilities of one preference tuple (x, y+, y-) that Sr-DPO/IPO need:
 * policy π and reference π_ref, chosen y+ and rejected y-, on the prompt x and on p ⊕ x. Each must
 * be finite and ≤ 0 (every violation is listed in one {@link IllegalArgumentException}).
 *
 * <p>The reference terms are fixed for a whole training run and are what the pipeline caches. The
 * policy terms come from a given policy checkpoint π_t, or equal the reference terms when none is
 * given ({@link #referenceOnly}); then both margins are exactly 0.
 */
public record PreferenceLogprobs(
    double policyChosen,
    double policyRejected,
    double referenceChosen,
    double referenceRejected,
    double policyChosenWithPrompt,
    double policyRejectedWithPrompt,
    double referenceChosenWithPrompt,
    double referenceRejectedWithPrompt)
    implements Serializable {

  public PreferenceLogprobs {
    List<String> violations = new ArrayList<>();
    ResponseLogprobs.check("policyChosen", policyChosen, violations);
    ResponseLogprobs.check("policyRejected", policyRejected, violations);
    ResponseLogprobs.check("referenceChosen", referenceChosen, violations);
    ResponseLogprobs.check("referenceRejected", referenceRejected, violations);
    ResponseLogprobs.check("policyChosenWithPrompt", policyChosenWithPrompt, violations);
    ResponseLogprobs.check("policyRejectedWithPrompt", policyRejectedWithPrompt, violations);
    ResponseLogprobs.check("referenceChosenWithPrompt", referenceChosenWithPrompt, violations);
    ResponseLogprobs.check("referenceRejectedWithPrompt", referenceRejectedWithPrompt, violations);
    if (!violations.isEmpty()) {
      throw new IllegalArgumentException(
          "Invalid preference log-probabilities: " + String.join("; ", violations));
    }
  }

  /** The tuple whose chosen response is {@code chosen} and rejected response {@code rejected}. */
  public static PreferenceLogprobs of(ResponseLogprobs chosen, ResponseLogprobs rejected) {
    return new PreferenceLogprobs(
        chosen.policy(), rejected.policy(),
        chosen.reference(), rejected.reference(),
        chosen.policyWithPrompt(), rejected.policyWithPrompt(),
        chosen.referenceWithPrompt(), rejected.referenceWithPrompt());
  }

  /** No policy checkpoint: the policy terms are the reference terms (π = π_ref). */
  public static PreferenceLogprobs referenceOnly(
      double referenceChosen,
      double referenceRejected,
      double referenceChosenWithPrompt,
      double referenceRejectedWithPrompt) {
    return of(
        ResponseLogprobs.referenceOnly(referenceChosen, referenceChosenWithPrompt),
        ResponseLogprobs.referenceOnly(referenceRejected, referenceRejectedWithPrompt));
  }

  public ResponseLogprobs chosen() {
    return new ResponseLogprobs(
        policyChosen, referenceChosen, policyChosenWithPrompt, referenceChosenWithPrompt);
  }

  public ResponseLogprobs rejected() {
    return new ResponseLogprobs(
        policyRejected, referenceRejected, policyRejectedWithPrompt, referenceRejectedWithPrompt);
  }

  /** The same tuple with y+ and y- exchanged; both margins change sign exactly. */
  public PreferenceLogprobs swapped() {
    return of(rejected(), chosen());
  }

  /** DPO margin m(x) = [log π(y+|x) − log π_ref(y+|x)] − [log π(y-|x) − log π_ref(y-|x)]. */
  public double margin() {
    return (policyChosen - referenceChosen) - (policyRejected - referenceRejected);
  }

  /** Prompt-augmented margin m_p(x): {@link #margin()} with p ⊕ x in place of x. */
  public double promptAugmentedMargin() {
    return (policyChosenWithPrompt - referenceChosenWithPrompt)
        - (policyRejectedWithPrompt - referenceRejectedWithPrompt);
  }
}
