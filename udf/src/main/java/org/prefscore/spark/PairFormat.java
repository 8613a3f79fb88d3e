package org.prefscore.spark;

/**
 * The format of west-of-n's preference pairs ({@code output.pair-format}): which table a pair goes
 * to and how its log-prob terms are tokenized, so that they equal what TRL's DPOTrainer computes on
 * the written rows.
 */
public enum PairFormat {
  /**
   * A chat prompt's pair goes to {@code pairs_conversational} (TRL's conversational format), a
   * plain prompt's to {@code pairs} (plain text).
   */
  AUTO,
  /**
   * Every pair goes to {@code pairs} as plain text; a chat prompt's {@code prompt} is its rendered
   * template, scored as TRL scores that text (the tokenizer's special tokens added: a template that
   * writes BOS gets a second one, as in TRL).
   */
  TEXT,
  /**
   * Every pair goes to {@code pairs_conversational}: a plain prompt is made the conversation {@code
   * [{"role": "user", "content": prompt}]} before it is rendered and sampled.
   */
  CONVERSATIONAL;

  /** Parses a config value (case-insensitive). */
  public static PairFormat parse(String value) {
    return valueOf(value.trim().toUpperCase(java.util.Locale.ROOT));
  }
}
