package org.prefscore.job.report;

import java.io.PrintStream;
import java.util.Locale;
import java.util.function.LongSupplier;
import org.apache.spark.SparkStageInfo;
import org.apache.spark.SparkStatusTracker;
import org.apache.spark.sql.SparkSession;

/**
 * A driver thread that prints one progress line every few seconds: the stage, units done of the
 * total (prompts while generating, pairs while scoring) from accumulators, the rate, generated
 * tokens per second, and the tasks of Spark's active stages from {@link SparkStatusTracker}.
 * Accumulators from running tasks reach the driver when a task ends, so the counts move in steps of
 * a task's chunk. The counts are approximate (a retried task counts again) and never exceed the
 * stage's total.
 *
 * <p>The same thread samples the counters into {@link ProgressSamples} (every half second at first,
 * bounded in number; also at every stage boundary), whether or not progress lines are printed: the
 * run report draws tokens per second per stage over time from them.
 */
public final class ProgressReporter implements AutoCloseable {

  private final SparkSession spark;
  private final PrintStream out;
  private final long intervalMillis;
  private final StageTimer timer;
  private final String runLabel;
  private final ProgressSamples samples = new ProgressSamples(500, 2000);
  private final long runStart = System.nanoTime();
  private Thread thread;
  private String sampledStage;

  private volatile String unit;
  private volatile long total;
  private volatile LongSupplier done;
  private volatile LongSupplier tokens;
  private volatile long stageStart;
  private volatile long doneAtStart;
  private volatile long tokensAtStart;

  public ProgressReporter(
      SparkSession spark, PrintStream out, int intervalSeconds, StageTimer timer, String runLabel) {
    this.spark = spark;
    this.out = out;
    this.intervalMillis = intervalSeconds * 1000L;
    this.timer = timer;
    this.runLabel = runLabel;
  }

  /** Starts a stage; {@code done} counts units of {@code total} (null: tasks only). */
  public synchronized void stage(
      String name, String unit, long total, LongSupplier done, LongSupplier tokens) {
    sample(true);
    timer.start(name);
    this.unit = unit;
    this.total = total;
    this.done = done;
    this.tokens = tokens;
    this.stageStart = System.nanoTime();
    this.doneAtStart = done == null ? 0 : done.getAsLong();
    this.tokensAtStart = tokens == null ? 0 : tokens.getAsLong();
    this.sampledStage = name;
    sample(true);
  }

  /**
   * Records a sample of the current stage (none before the first stage or after {@link #finish}).
   */
  private synchronized void sample(boolean boundary) {
    if (sampledStage == null) {
      return;
    }
    LongSupplier d = done;
    LongSupplier t = tokens;
    samples.add(
        new ProgressSamples.Sample(
            (System.nanoTime() - runStart) / 1e9,
            sampledStage,
            d == null ? null : unit,
            d == null ? 0 : d.getAsLong() - doneAtStart,
            t == null ? 0 : t.getAsLong() - tokensAtStart,
            boundary));
  }

  /** Ends the sampling with a last sample of the current stage; returns the samples. */
  public synchronized ProgressSamples finish() {
    sample(true);
    sampledStage = null;
    return samples;
  }

  /** The samples so far. */
  public ProgressSamples samples() {
    return samples;
  }

  /**
   * Progress from an accumulator, or from the JVM-wide live counter when that has moved further
   * since the stage began (local mode, where executors share the driver's JVM).
   */
  public static LongSupplier live(
      org.apache.spark.util.LongAccumulator accumulator,
      java.util.concurrent.atomic.AtomicLong live) {
    long accumulatorStart = accumulator.value();
    long liveStart = live.get();
    return () -> Math.max(accumulator.value() - accumulatorStart, live.get() - liveStart);
  }

  public void stage(String name) {
    stage(name, null, 0, null, null);
  }

  public void start() {
    thread = new Thread(this::loop, "prefscore-progress");
    thread.setDaemon(true);
    thread.start();
  }

  private void loop() {
    try {
      long nextLine = System.nanoTime() + intervalMillis * 1_000_000L;
      long nextSample = System.nanoTime() + samples.periodMillis() * 1_000_000L;
      while (!Thread.currentThread().isInterrupted()) {
        long now = System.nanoTime();
        long wake = intervalMillis > 0 ? Math.min(nextLine, nextSample) : nextSample;
        if (wake > now) {
          Thread.sleep(Math.max(1, (wake - now) / 1_000_000L));
          continue;
        }
        if (now >= nextSample) {
          sample(false);
          nextSample = now + samples.periodMillis() * 1_000_000L;
        }
        if (intervalMillis > 0 && now >= nextLine) {
          String line = line();
          if (line != null) {
            out.println(line);
            out.flush();
          }
          nextLine = now + intervalMillis * 1_000_000L;
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  String line() {
    String stage = timer.current();
    if (stage == null) {
      return null;
    }
    double elapsed = (System.nanoTime() - stageStart) / 1e9;
    StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "[%s] %s:", runLabel, stage));
    LongSupplier d = done;
    if (d != null) {
      // Approximate: a retried or recomputed task counts again, so the count is capped at the
      // stage's total (exact counts come from the written tables, never from here).
      long now = Math.max(0, Math.min(d.getAsLong() - doneAtStart, total));
      sb.append(
          String.format(
              Locale.ROOT,
              " %d/%d %s (%.0f%%), %.1f %s/s,",
              now,
              total,
              unit,
              total == 0 ? 100.0 : 100.0 * now / total,
              elapsed > 0 ? now / elapsed : 0.0,
              unit));
    }
    LongSupplier t = tokens;
    if (t != null) {
      sb.append(
          String.format(
              Locale.ROOT,
              " %.0f tokens/s,",
              elapsed > 0 ? (t.getAsLong() - tokensAtStart) / elapsed : 0.0));
    }
    int tasksDone = 0;
    int tasks = 0;
    SparkStatusTracker tracker = spark.sparkContext().statusTracker();
    for (int id : tracker.getActiveStageIds()) {
      SparkStageInfo info = tracker.getStageInfo(id).getOrElse(() -> null);
      if (info != null) {
        tasksDone += info.numCompletedTasks();
        tasks += info.numTasks();
      }
    }
    if (tasks > 0) {
      sb.append(String.format(Locale.ROOT, " tasks %d/%d,", tasksDone, tasks));
    }
    sb.append(
        String.format(Locale.ROOT, " %.0fs in stage, %.0fs total", elapsed, timer.totalSeconds()));
    return sb.toString();
  }

  @Override
  public void close() {
    if (thread != null) {
      thread.interrupt();
      try {
        thread.join(1000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
