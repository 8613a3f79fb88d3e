package org.prefscore.job;

import java.util.Arrays;
import java.util.Optional;

/** The three things the job does; the first CLI argument names one. */
public enum Mode {
  /** prompts → N samples → rewards → West-of-N pairs with filters → Sr-DPO terms. */
  WEST_OF_N("west-of-n"),
  /** (prompt, chosen, rejected) → reference (and checkpoint) log-prob terms and margins. */
  SCORE_PAIRS("score-pairs"),
  /** a trained policy against its reference on held-out tuples → accuracy and correlations. */
  EVALUATE("evaluate");

  private final String cliName;

  Mode(String cliName) {
    this.cliName = cliName;
  }

  public String cliName() {
    return cliName;
  }

  public static Optional<Mode> parse(String name) {
    return Arrays.stream(values()).filter(m -> m.cliName.equals(name)).findFirst();
  }

  @Override
  public String toString() {
    return cliName;
  }
}
