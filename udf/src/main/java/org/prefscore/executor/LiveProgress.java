package org.prefscore.executor;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Counters the executor functions bump as they go, next to the accumulators; one per JVM, in {@link
 * ExecutorRegistry#progress()}. In local mode the executors run in the driver's JVM, so the
 * driver's progress line reads these live; accumulators only reach the driver when a task ends. On
 * a cluster these stay 0 on the driver and the progress line falls back to the accumulators.
 */
public final class LiveProgress {

  /** Prompts through generation. */
  public final AtomicLong prompts = new AtomicLong();

  /** Tokens generated. */
  public final AtomicLong tokens = new AtomicLong();

  /** Pairs through the scoring pass. */
  public final AtomicLong pairs = new AtomicLong();

  /** Tokens (prompt + response) of the sequences the scoring pass scored. */
  public final AtomicLong scoredTokens = new AtomicLong();

  LiveProgress() {}
}
