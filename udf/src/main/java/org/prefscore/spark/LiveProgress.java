package org.prefscore.spark;

import java.util.concurrent.atomic.AtomicLong;

/**
 * JVM-wide counters the executor functions bump as they go, next to the accumulators. In local
 * mode the executors run in the driver's JVM, so the driver's progress line reads these live;
 * accumulators only reach the driver when a task ends. On a cluster these stay 0 on the driver
 * and the progress line falls back to the accumulators.
 */
public final class LiveProgress {

  /** Prompts through generation. */
  public static final AtomicLong PROMPTS = new AtomicLong();
  /** Tokens generated. */
  public static final AtomicLong TOKENS = new AtomicLong();
  /** Pairs through the scoring pass. */
  public static final AtomicLong PAIRS = new AtomicLong();

  private LiveProgress() {}
}
