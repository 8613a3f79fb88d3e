package org.prefscore.runtime;

/**
 * Why the runtime declined one item of a batch, typed so a caller can turn it into a reject row
 * instead of failing the whole batch.
 *
 * @param reason the reason code
 * @param detail a human-readable explanation with the numbers involved
 */
public record Refusal(Reason reason, String detail) {

  /** Reason codes; stable, they end up in the rejects output. */
  public enum Reason {
    /** The prompt's tokens plus the requested new tokens exceed the model's context window. */
    PROMPT_TOO_LONG,
    /** Prompt plus response exceed the context window of the scoring model. */
    SEQUENCE_TOO_LONG,
    /** The prompt has no tokens, so there is nothing to condition the first response token on. */
    EMPTY_PROMPT
  }
}
