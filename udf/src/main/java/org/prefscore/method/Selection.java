package org.prefscore.method;

/**
 * What West-of-N selection yields for one prompt: a {@link PreferencePair}, or a {@link NoPair}
 * carrying the reason. Both report how many distinct responses were considered and how many exact
 * duplicates were removed first, so a run can account for every prompt.
 */
public sealed interface Selection permits PreferencePair, NoPair {

  String promptId();

  /** Responses left after removing exact duplicates. */
  int distinctCandidates();

  /** Exact-duplicate responses removed before selection. */
  int duplicatesRemoved();
}
