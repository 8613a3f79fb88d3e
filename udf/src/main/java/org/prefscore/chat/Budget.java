package org.prefscore.chat;

/** What one render has used of its {@link TemplateLimits}; one per render, one thread. */
final class Budget {

  /** A limit was exceeded; the renderer turns it into a LimitExceededException. */
  static final class Exceeded extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final String limit;
    final String value;

    Exceeded(String limit, String value) {
      super(limit + " exceeded: " + value, null, false, false);
      this.limit = limit;
      this.value = value;
    }
  }

  private final TemplateLimits limits;
  private final long deadline;
  private long iterations;
  private long allocated;
  private int depth;
  private int ticks;

  Budget(TemplateLimits limits) {
    this.limits = limits;
    this.deadline = System.nanoTime() + limits.renderTime().toNanos();
  }

  TemplateLimits limits() {
    return limits;
  }

  /** One loop iteration. */
  void iteration() {
    if (++iterations > limits.loopIterations()) {
      throw new Exceeded(
          "loop iterations", "more than " + limits.loopIterations() + " in one render");
    }
    tick();
  }

  /** Creating {@code n} characters or list items. */
  void allocate(long n) {
    if (n > limits.allocatedChars() || (allocated += n) > limits.allocatedChars()) {
      throw new Exceeded(
          "allocated characters", "more than " + limits.allocatedChars() + " in one render");
    }
  }

  /** Fails when a value of {@code length} characters would not fit what is left to allocate. */
  void ensureRoom(long length) {
    if (length > limits.allocatedChars() - allocated) {
      throw new Exceeded(
          "allocated characters", "more than " + limits.allocatedChars() + " in one render");
    }
  }

  /** The output has grown to {@code length} characters. */
  void output(long length) {
    if (length > limits.outputChars()) {
      throw new Exceeded("output length", "more than " + limits.outputChars() + " characters");
    }
    tick();
  }

  void enterCall() {
    if (++depth > limits.callDepth()) {
      throw new Exceeded(
          "call depth", "more than " + limits.callDepth() + " nested macro calls or loop levels");
    }
    tick();
  }

  void exitCall() {
    depth--;
  }

  void range(long items) {
    if (items > limits.rangeItems()) {
      throw new Exceeded(
          "range size", "range of " + items + " items (at most " + limits.rangeItems() + ")");
    }
    allocate(items);
  }

  /** Checks the clock now and then. */
  void tick() {
    if ((++ticks & 63) == 0 && System.nanoTime() > deadline) {
      throw new Exceeded("render time", "longer than " + limits.renderTime().toMillis() + " ms");
    }
  }
}
