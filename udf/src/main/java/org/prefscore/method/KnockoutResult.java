package org.prefscore.method;

import java.io.Serializable;
import java.util.Objects;

/**
 * The response that survives a knockout and how many symmetric comparisons it took (N − 1 for N
 * entrants; each comparison is two model calls).
 */
public record KnockoutResult(Candidate survivor, int comparisons) implements Serializable {

  public KnockoutResult {
    Objects.requireNonNull(survivor, "survivor");
    if (comparisons < 0) {
      throw new IllegalArgumentException("comparisons must be >= 0 but was " + comparisons);
    }
  }
}
