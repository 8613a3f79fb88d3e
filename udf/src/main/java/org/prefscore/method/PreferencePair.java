package org.prefscore.method;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * A synthetic preference (x, y+, y-) produced by West-of-N for one prompt.
 *
 * <p>{@code confidence} is the base model's probability that {@code chosen} is preferred to {@code
 * rejected}: σ(r+ − r-) under Bradley–Terry for a pointwise reward model ({@link WestOfNSelector}),
 * the symmetric score ½[P(y+≻y-) + 1 − P(y-≻y+)] for a pairwise one ({@link
 * PairwiseKnockoutSelector}). It is in [0, 1] and is what the confidence filter thresholds.
 *
 * <p>The constructor checks that both responses belong to {@code promptId}, are different samples
 * with different texts, and that the counts are consistent.
 */
public record PreferencePair(
    String promptId,
    Candidate chosen,
    Candidate rejected,
    double confidence,
    int distinctCandidates,
    int duplicatesRemoved)
    implements Selection, Serializable {

  public PreferencePair {
    List<String> violations = new ArrayList<>();
    if (promptId == null) {
      violations.add("promptId must be non-null");
    }
    if (chosen == null || rejected == null) {
      violations.add("chosen and rejected must be non-null");
    } else {
      if (!chosen.promptId().equals(promptId) || !rejected.promptId().equals(promptId)) {
        violations.add(
            "chosen and rejected must belong to prompt '"
                + promptId
                + "' but belong to '"
                + chosen.promptId()
                + "' and '"
                + rejected.promptId()
                + "'");
      }
      if (chosen.sampleIndex() == rejected.sampleIndex()) {
        violations.add("chosen and rejected are the same sample " + chosen.sampleIndex());
      } else if (chosen.text().equals(rejected.text())) {
        violations.add("chosen and rejected have identical text");
      }
    }
    if (!(confidence >= 0.0 && confidence <= 1.0)) {
      violations.add("confidence must be in [0, 1] but was " + confidence);
    }
    if (distinctCandidates < 2) {
      violations.add("distinctCandidates must be >= 2 but was " + distinctCandidates);
    }
    if (duplicatesRemoved < 0) {
      violations.add("duplicatesRemoved must be >= 0 but was " + duplicatesRemoved);
    }
    if (!violations.isEmpty()) {
      throw new IllegalArgumentException(
          "Invalid preference pair for prompt '"
              + promptId
              + "': "
              + String.join("; ", violations));
    }
  }

  /** r+ − r- as recorded on the two candidates (meaningless in a pairwise-only run). */
  public double rewardGap() {
    return chosen.reward() - rejected.reward();
  }
}
