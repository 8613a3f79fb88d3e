package org.prefscore.method;

import java.io.Serializable;
import java.util.Objects;

/** A prompt that yielded no preference pair, with the reason. */
public record NoPair(
    String promptId, NoPairReason reason, int distinctCandidates, int duplicatesRemoved)
    implements Selection, Serializable {

  public NoPair {
    Objects.requireNonNull(promptId, "promptId");
    Objects.requireNonNull(reason, "reason");
    if (distinctCandidates < 0 || duplicatesRemoved < 0) {
      throw new IllegalArgumentException(
          "counts must be >= 0 but were distinctCandidates="
              + distinctCandidates
              + ", duplicatesRemoved="
              + duplicatesRemoved);
    }
  }
}
