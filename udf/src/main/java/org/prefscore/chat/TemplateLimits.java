package org.prefscore.chat;

import java.time.Duration;

/**
 * What one render of a chat template may use. A template is code from whoever published the model,
 * so each render runs under these bounds; exceeding one fails that render with a {@link
 * ChatTemplate.LimitExceededException} naming the limit and the value (never a hung thread, a stack
 * overflow or an exhausted heap).
 *
 * @param renderTime wall-clock time for one render
 * @param outputChars characters of rendered text
 * @param allocatedChars characters (and list items) that one render may create in all, through
 *     concatenation, repetition, joins and the like: bounds memory however the template combines
 *     its values
 * @param loopIterations loop iterations, summed over all loops of one render
 * @param callDepth nested macro calls and recursive-loop levels
 * @param rangeItems items one {@code range(...)} may produce (Jinja2's sandbox allows 100,000)
 * @param nesting nesting depth of blocks and expressions, checked when the template is loaded
 */
public record TemplateLimits(
    Duration renderTime,
    long outputChars,
    long allocatedChars,
    long loopIterations,
    int callDepth,
    long rangeItems,
    int nesting) {

  /** Generous for any real chat template, small enough that no template can hurt an executor. */
  public static final TemplateLimits DEFAULTS =
      new TemplateLimits(
          Duration.ofSeconds(10), 4_000_000, 32_000_000, 1_000_000, 64, 100_000, 100);

  public TemplateLimits {
    if (renderTime.isNegative() || renderTime.isZero()) {
      throw new IllegalArgumentException("renderTime must be positive");
    }
    if (outputChars < 1
        || allocatedChars < 1
        || loopIterations < 1
        || callDepth < 1
        || rangeItems < 1
        || nesting < 1) {
      throw new IllegalArgumentException("every template limit must be at least 1: " + this);
    }
  }
}
