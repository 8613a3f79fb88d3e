package org.prefscore.spark;

/**
 * What West-of-N selection does with a sample that stopped at {@code sampling.max-new-tokens}
 * (finish reason LENGTH): {@code selection.truncated}.
 */
public enum TruncatedSamples {
  /**
   * Not a candidate: a truncated response would teach the policy to stop mid-sentence (its EOS is
   * appended when it is scored). A prompt left with fewer than two complete distinct samples yields
   * no pair ({@code FEWER_THAN_TWO_COMPLETE_SAMPLES}).
   */
  EXCLUDE,
  /** A candidate like any other. */
  KEEP;

  /** Parses a config value (case-insensitive). */
  public static TruncatedSamples parse(String value) {
    return valueOf(value.trim().toUpperCase(java.util.Locale.ROOT));
  }
}
