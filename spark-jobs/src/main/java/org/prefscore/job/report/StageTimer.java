package org.prefscore.job.report;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Wall time per stage. Spark is lazy, so each stage of the runner ends in an action (a count of a
 * persisted dataset, or a write); a stage's time is from its start to the start of the next.
 */
public final class StageTimer {

  private final Map<String, Double> seconds = new LinkedHashMap<>();
  private final long start = System.nanoTime();
  private String current;
  private long currentStart;

  public synchronized void start(String stage) {
    stop();
    current = stage;
    currentStart = System.nanoTime();
  }

  public synchronized void stop() {
    if (current != null) {
      seconds.merge(current, (System.nanoTime() - currentStart) / 1e9, Double::sum);
      current = null;
    }
  }

  synchronized String current() {
    return current;
  }

  public synchronized Map<String, Double> seconds() {
    return new LinkedHashMap<>(seconds);
  }

  public double totalSeconds() {
    return (System.nanoTime() - start) / 1e9;
  }
}
