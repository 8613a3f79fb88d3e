package org.prefscore.method;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * One sampled response y_i of one prompt x, with what the pipeline measured about it.
 *
 * <p>Contract, checked by the constructor (every violation is listed in one {@link
 * IllegalArgumentException}):
 *
 * <ul>
 *   <li>{@code promptId}: non-null and not blank; all candidates of one selection share it;
 *   <li>{@code sampleIndex}: ≥ 0, unique within a prompt; it breaks every tie (lowest wins);
 *   <li>{@code seed}: the seed the sample was drawn with (any value; recorded for replay);
 *   <li>{@code text}: the decoded response, non-null (may be empty); exact equality of text is what
 *       "duplicate response" means;
 *   <li>{@code reward}: r_θ(x, y_i), finite. A pairwise-only run has no pointwise reward and may
 *       put 0 here: the knockout never reads it;
 *   <li>{@code policyLogprob}: log π(y_i|x), the SUM over response tokens of the raw temperature-1
 *       log-softmax, finite and ≤ 0;
 *   <li>{@code responseTokens}: the number of response tokens that sum covers, ≥ 0.
 * </ul>
 */
public record Candidate(
    String promptId,
    int sampleIndex,
    long seed,
    String text,
    double reward,
    double policyLogprob,
    int responseTokens)
    implements Serializable {

  public Candidate {
    List<String> violations = new ArrayList<>();
    if (promptId == null || promptId.isBlank()) {
      violations.add("promptId must be non-blank but was " + quoted(promptId));
    }
    if (sampleIndex < 0) {
      violations.add("sampleIndex must be >= 0 but was " + sampleIndex);
    }
    if (text == null) {
      violations.add("text must be non-null");
    }
    if (!Double.isFinite(reward)) {
      violations.add("reward must be finite but was " + reward);
    }
    if (!Double.isFinite(policyLogprob) || policyLogprob > 0.0) {
      violations.add(
          "policyLogprob (a summed log-probability) must be finite and <= 0 but was "
              + policyLogprob);
    }
    if (responseTokens < 0) {
      violations.add("responseTokens must be >= 0 but was " + responseTokens);
    }
    if (!violations.isEmpty()) {
      throw new IllegalArgumentException(
          "Invalid candidate (promptId="
              + quoted(promptId)
              + ", sampleIndex="
              + sampleIndex
              + "): "
              + String.join("; ", violations));
    }
  }

  private static String quoted(String s) {
    return s == null ? "null" : "'" + s + "'";
  }
}
