package org.prefscore.job.report;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.spark.Success$;
import org.apache.spark.TaskEndReason;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorRemoved;
import org.apache.spark.scheduler.SparkListenerStageCompleted;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.scheduler.SparkListenerTaskStart;
import org.apache.spark.scheduler.StageInfo;
import org.apache.spark.sql.SparkSession;
import org.prefscore.job.config.Redactor;

/**
 * A SparkListener that records the faults of one run for the manifest ({@code faults}) and the
 * summary: task attempts that failed (and why), tasks that ran more than once, speculative
 * attempts, stage attempts that failed or were resubmitted (a lost executor's shuffle output), and
 * executors lost (removed for any reason but the driver's own dynamic-allocation decision). Events
 * reach it on Spark's listener thread; {@link #drain} waits for the bus before the manifest reads
 * it.
 */
public final class FaultRecord extends SparkListener {

  /** Details kept per kind (the counts are exact, the lists bounded). */
  static final int MAX_DETAILS = 20;

  private final Redactor redactor;
  private long failedTaskAttempts;
  private long retriedTaskAttempts;
  private long speculativeAttempts;
  private long failedStageAttempts;
  private long resubmittedStageAttempts;
  private long executorsLost;
  private final List<String> taskFailures = new ArrayList<>();
  private final List<String> executorLosses = new ArrayList<>();

  private FaultRecord(Redactor redactor) {
    this.redactor = redactor;
  }

  /** Registers a fresh record on {@code spark}'s listener bus. */
  public static FaultRecord register(SparkSession spark, Redactor redactor) {
    FaultRecord r = new FaultRecord(redactor);
    spark.sparkContext().addSparkListener(r);
    return r;
  }

  /** Removes it from the bus. */
  public void unregister(SparkSession spark) {
    spark.sparkContext().removeSparkListener(this);
  }

  /** Waits (bounded) until Spark's listener bus has delivered every event posted so far. */
  public static void drain(SparkSession spark) {
    try {
      spark.sparkContext().listenerBus().waitUntilEmpty(10_000L);
    } catch (java.util.concurrent.TimeoutException | RuntimeException e) {
      // A bus that does not empty in 10 s: record what arrived.
    }
  }

  @Override
  public synchronized void onTaskStart(SparkListenerTaskStart e) {
    if (e.taskInfo().speculative()) {
      speculativeAttempts++;
    }
    if (e.taskInfo().attemptNumber() > 0) {
      retriedTaskAttempts++;
    }
  }

  @Override
  public synchronized void onTaskEnd(SparkListenerTaskEnd e) {
    TaskEndReason reason = e.reason();
    if (reason instanceof Success$) {
      return;
    }
    failedTaskAttempts++;
    if (taskFailures.size() < MAX_DETAILS) {
      taskFailures.add(
          String.format(
              Locale.ROOT,
              "stage %d.%d task %d attempt %d on executor %s: %s",
              e.stageId(),
              e.stageAttemptId(),
              e.taskInfo().index(),
              e.taskInfo().attemptNumber(),
              e.taskInfo().executorId(),
              shorten(redactor.redact(reason.toString()))));
    }
  }

  @Override
  public synchronized void onStageCompleted(SparkListenerStageCompleted e) {
    StageInfo s = e.stageInfo();
    if (s.failureReason().isDefined()) {
      failedStageAttempts++;
    }
    if (s.attemptNumber() > 0) {
      resubmittedStageAttempts++;
    }
  }

  @Override
  public synchronized void onExecutorRemoved(SparkListenerExecutorRemoved e) {
    String reason = e.reason() == null ? "" : e.reason();
    if (reason.toLowerCase(Locale.ROOT).contains("killed by driver")) {
      return; // dynamic allocation giving an idle executor back
    }
    executorsLost++;
    if (executorLosses.size() < MAX_DETAILS) {
      executorLosses.add("executor " + e.executorId() + ": " + shorten(redactor.redact(reason)));
    }
  }

  public synchronized long failedTaskAttempts() {
    return failedTaskAttempts;
  }

  public synchronized long executorsLost() {
    return executorsLost;
  }

  /** The manifest's {@code faults} object. */
  public synchronized ObjectNode toJson() {
    ObjectNode n = RunManifest.JSON.createObjectNode();
    n.put("failed_task_attempts", failedTaskAttempts);
    n.put("retried_task_attempts", retriedTaskAttempts);
    n.put("speculative_task_attempts", speculativeAttempts);
    n.put("failed_stage_attempts", failedStageAttempts);
    n.put("resubmitted_stage_attempts", resubmittedStageAttempts);
    n.put("executors_lost", executorsLost);
    ArrayNode t = n.putArray("task_failures");
    taskFailures.forEach(t::add);
    ArrayNode x = n.putArray("executor_losses");
    executorLosses.forEach(x::add);
    n.put(
        "note",
        "from Spark's listener events; the counts are exact, the lists hold the first "
            + MAX_DETAILS
            + " of each. Every count in counts/accounting/throughput comes from the written tables, so faults never change them");
    return n;
  }

  private static String shorten(String s) {
    String oneLine = s.replaceAll("\\s+", " ");
    return oneLine.length() <= 300 ? oneLine : oneLine.substring(0, 300) + "...";
  }
}
