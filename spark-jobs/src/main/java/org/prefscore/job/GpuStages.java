package org.prefscore.job;

import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.resource.ExecutorResourceRequests;
import org.apache.spark.resource.ResourceProfile;
import org.apache.spark.resource.ResourceProfileBuilder;
import org.apache.spark.resource.TaskResourceRequests;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;
import org.prefscore.job.config.ConfigKeys;
import org.prefscore.job.config.ResolvedConfig;

/**
 * Stage-level GPU scheduling (Spark 3.4+): the stages that run models (generation + reward,
 * scoring, with {@code runtime.device=cuda}) ask for GPUs through a resource profile, the others
 * (read, prepare) do not. Spark gives a stage the profiles of all its RDDs back to the last
 * shuffle, so the cheap steps that read the persisted samples or pairs in place (west-of-n
 * selection and filters, which need no shuffle, the counts, the writes) run under the profile too.
 *
 * <ul>
 *   <li>{@link Kind#TASK}: a task resource profile ({@code TaskResourceRequests} only). Executors
 *       already have GPUs ({@code spark.executor.resource.gpu.amount} + discovery script) and no
 *       global {@code spark.task.resource.gpu.amount} is set: only model tasks take GPU slots.
 *       Works without dynamic allocation on standalone, YARN and Kubernetes.
 *   <li>{@link Kind#EXECUTOR}: a resource profile with executor GPU requests as well: Spark starts
 *       GPU executors for the model stages. Needs dynamic allocation.
 * </ul>
 *
 * Local mode supports neither (Spark rejects non-default profiles there), so the configuration
 * refuses it with a {@code local[...]} master.
 *
 * @param kind off, task or executor
 * @param taskAmount GPUs per model task (whole, or a fraction &lt;= 0.5 to share a GPU)
 * @param executorAmount GPUs per executor (executor kind)
 * @param discoveryScript the executors' GPU discovery script (executor kind); empty: Spark's {@code
 *     spark.executor.resource.gpu.discoveryScript}
 */
public record GpuStages(Kind kind, double taskAmount, int executorAmount, String discoveryScript) {

  /** Spark's resource name for GPUs. */
  public static final String GPU = "gpu";

  /** Device vendor of an executor GPU request (used by Kubernetes, ignored elsewhere). */
  public static final String VENDOR = "nvidia.com";

  /** How the model stages ask for GPUs. */
  public enum Kind {
    OFF,
    TASK,
    EXECUTOR
  }

  /** No stage-level scheduling. */
  public static GpuStages off() {
    return new GpuStages(Kind.OFF, 1, 1, "");
  }

  /** Reads and checks the runtime.gpu.* keys, adding any problem to {@code problems}. */
  public static GpuStages from(
      ResolvedConfig config, boolean cuda, String master, List<String> problems) {
    String kindText = config.get(ConfigKeys.GPU_STAGE_RESOURCES).trim().toLowerCase(Locale.ROOT);
    Kind kind;
    switch (kindText) {
      case "off" -> kind = Kind.OFF;
      case "task" -> kind = Kind.TASK;
      case "executor" -> kind = Kind.EXECUTOR;
      default -> {
        problems.add(
            ConfigKeys.GPU_STAGE_RESOURCES.name()
                + " must be one of off, task, executor, got '"
                + config.get(ConfigKeys.GPU_STAGE_RESOURCES)
                + "'");
        kind = Kind.OFF;
      }
    }
    double taskAmount = 1;
    String taskText = config.get(ConfigKeys.GPU_TASK_AMOUNT).trim();
    try {
      taskAmount = Double.parseDouble(taskText);
      if (!(taskAmount > 0)
          || Double.isInfinite(taskAmount)
          || (taskAmount > 0.5 && taskAmount % 1 != 0)) {
        problems.add(
            ConfigKeys.GPU_TASK_AMOUNT.name()
                + " must be a whole number >= 1 or a fraction in (0, 0.5] (Spark's rule for task resources), got "
                + taskText);
        taskAmount = 1;
      }
    } catch (NumberFormatException e) {
      problems.add(ConfigKeys.GPU_TASK_AMOUNT.name() + " must be a number, got '" + taskText + "'");
    }
    int executorAmount = 1;
    String execText = config.get(ConfigKeys.GPU_EXECUTOR_AMOUNT).trim();
    try {
      executorAmount = Integer.parseInt(execText);
      if (executorAmount < 1) {
        problems.add(
            ConfigKeys.GPU_EXECUTOR_AMOUNT.name() + " must be >= 1, got " + executorAmount);
        executorAmount = 1;
      }
    } catch (NumberFormatException e) {
      problems.add(
          ConfigKeys.GPU_EXECUTOR_AMOUNT.name() + " must be an integer, got '" + execText + "'");
    }
    if (kind != Kind.OFF) {
      if (!cuda) {
        problems.add(
            ConfigKeys.GPU_STAGE_RESOURCES.name()
                + "="
                + kindText
                + " needs "
                + ConfigKeys.DEVICE.name()
                + "=cuda");
      }
      if (master.startsWith("local") && !master.startsWith("local-cluster")) {
        problems.add(
            ConfigKeys.GPU_STAGE_RESOURCES.name()
                + "="
                + kindText
                + " needs a cluster manager (standalone, YARN, Kubernetes): Spark does not support stage-level"
                + " scheduling in local mode (spark.master="
                + master
                + ")");
      }
      if (kind == Kind.EXECUTOR && taskAmount > executorAmount) {
        problems.add(
            ConfigKeys.GPU_TASK_AMOUNT.name()
                + " ("
                + taskAmount
                + ") exceeds "
                + ConfigKeys.GPU_EXECUTOR_AMOUNT.name()
                + " ("
                + executorAmount
                + ")");
      }
    }
    return new GpuStages(
        kind, taskAmount, executorAmount, config.get(ConfigKeys.GPU_DISCOVERY_SCRIPT).trim());
  }

  /**
   * The resource profile of the model stages; empty when off. Build it once per run and give the
   * same instance to every model stage, so that Spark sees one profile (with dynamic allocation,
   * one set of GPU executors).
   */
  public Optional<ResourceProfile> profile() {
    if (kind == Kind.OFF) {
      return Optional.empty();
    }
    ResourceProfileBuilder builder =
        new ResourceProfileBuilder().require(new TaskResourceRequests().resource(GPU, taskAmount));
    if (kind == Kind.EXECUTOR) {
      builder.require(
          new ExecutorResourceRequests().resource(GPU, executorAmount, discoveryScript, VENDOR));
    }
    return Optional.of(builder.build());
  }

  /** One line for logs and the dry-run plan. */
  public String describe() {
    return switch (kind) {
      case OFF -> "off";
      case TASK -> "task profile: " + taskAmount + " GPU per model task";
      case EXECUTOR ->
          "executor profile: "
              + executorAmount
              + " GPU per executor"
              + (discoveryScript.isEmpty() ? "" : " (discovery " + discoveryScript + ")")
              + ", "
              + taskAmount
              + " GPU per model task";
    };
  }

  /**
   * {@code input.mapPartitions(function)} as a model stage: unchanged without a profile; with one,
   * through the RDD API ({@code withResources} exists on RDDs only) and back to a Dataset of {@code
   * schema}, so that exactly this stage carries the GPU request.
   */
  static Dataset<Row> mapPartitions(
      SparkSession spark,
      Dataset<Row> input,
      MapPartitionsFunction<Row, Row> function,
      StructType schema,
      Optional<ResourceProfile> profile) {
    if (profile.isEmpty()) {
      return input.mapPartitions(function, Encoders.row(schema));
    }
    FlatMapFunction<java.util.Iterator<Row>, Row> f = function::call;
    JavaRDD<Row> rows = input.javaRDD().mapPartitions(f).withResources(profile.get());
    return spark.createDataFrame(rows, schema);
  }
}
