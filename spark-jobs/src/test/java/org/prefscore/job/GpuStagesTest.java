package org.prefscore.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.resource.ExecutorResourceRequest;
import org.apache.spark.resource.ResourceProfile;
import org.apache.spark.resource.TaskResourceProfile;
import org.apache.spark.resource.TaskResourceRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.prefscore.job.config.ConfigException;
import org.prefscore.job.config.PipelineConfig;
import org.prefscore.job.config.ResolvedConfig;

/**
 * runtime.device and stage-level GPU scheduling: the config keys, their validation and the resource
 * profile the model stages get. No GPU and no cluster needed (a profile is a value).
 */
class GpuStagesTest {

  @TempDir Path tmp;

  private PipelineConfig config(String... sets) {
    List<String> all =
        new ArrayList<>(
            List.of(
                "input.path=in.jsonl",
                "output.path=" + tmp,
                "models.policy=" + TestSupport.model("tiny-llama"),
                "models.reward=" + TestSupport.model("tiny-reward")));
    all.addAll(List.of(sets));
    return PipelineConfig.from(Mode.WEST_OF_N, ResolvedConfig.resolve(null, all));
  }

  @Test
  void cpuIsTheDefaultAndNeedsNoProfile() {
    PipelineConfig c = config();
    assertThat(c.runtime().engine().useCuda()).isFalse();
    assertThat(c.runtime().gpuStages().kind()).isEqualTo(GpuStages.Kind.OFF);
    assertThat(c.runtime().gpuStages().profile()).isEmpty();
    assertThat(c.runtime().modelCacheDir()).isEmpty();
    assertThat(c.decoderSpec("x").engine().useCuda()).isFalse();
  }

  @Test
  void cudaWithoutStageResourcesAsksForCudaEverywhereWithoutAProfile() {
    PipelineConfig c = config("runtime.device=cuda", "runtime.model-cache-dir=/local/models");
    assertThat(c.decoderSpec("x").engine().useCuda()).isTrue();
    assertThat(c.rewardSpec("x").engine().useCuda()).isTrue();
    assertThat(c.runtime().gpuStages().profile()).isEmpty();
    assertThat(c.runtime().placement().cacheDir()).isEqualTo("/local/models");
  }

  @Test
  void aTaskProfileAsksForTheConfiguredGpuShareOnly() {
    PipelineConfig c =
        config(
            "runtime.device=cuda",
            "runtime.gpu.stage-resources=task",
            "runtime.gpu.task-amount=0.5",
            "spark.master=spark://master:7077");
    ResourceProfile p = c.runtime().gpuStages().profile().orElseThrow();
    assertThat(p).isInstanceOf(TaskResourceProfile.class);
    Map<String, TaskResourceRequest> task = p.taskResourcesJMap();
    assertThat(task).containsOnlyKeys("gpu");
    assertThat(task.get("gpu").amount()).isEqualTo(0.5);
    assertThat(p.executorResourcesJMap()).isEmpty();
  }

  @Test
  void anExecutorProfileAlsoAsksForGpuExecutors() {
    PipelineConfig c =
        config(
            "runtime.device=cuda",
            "runtime.gpu.stage-resources=executor",
            "runtime.gpu.task-amount=1",
            "runtime.gpu.executor-amount=2",
            "runtime.gpu.discovery-script=/opt/spark/getGpusResources.sh");
    ResourceProfile p = c.runtime().gpuStages().profile().orElseThrow();
    assertThat(p).isNotInstanceOf(TaskResourceProfile.class);
    assertThat(p.taskResourcesJMap().get("gpu").amount()).isEqualTo(1.0);
    ExecutorResourceRequest gpu = p.executorResourcesJMap().get("gpu");
    assertThat(gpu.amount()).isEqualTo(2);
    assertThat(gpu.discoveryScript()).isEqualTo("/opt/spark/getGpusResources.sh");
    assertThat(gpu.vendor()).isEqualTo(GpuStages.VENDOR);
    // One profile per run, built once: both model stages share it.
    assertThat(c.runtime().gpuStages().describe())
        .contains("2 GPU per executor", "1.0 GPU per model task");
  }

  @Test
  void invalidGpuSettingsAreListed() {
    assertThatThrownBy(
            () ->
                config(
                    "runtime.device=gpu",
                    "runtime.gpu.stage-resources=task",
                    "runtime.gpu.task-amount=0.7",
                    "runtime.gpu.executor-amount=0",
                    "spark.master=local[2]"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("runtime.device must be one of cpu, cuda, got 'gpu'")
        .hasMessageContaining("runtime.gpu.stage-resources=task needs runtime.device=cuda")
        .hasMessageContaining(
            "runtime.gpu.task-amount must be a whole number >= 1 or a fraction in (0, 0.5]")
        .hasMessageContaining("runtime.gpu.executor-amount must be >= 1")
        .hasMessageContaining("Spark does not support stage-level scheduling in local mode");
    assertThatThrownBy(() -> config("runtime.device=cuda", "runtime.gpu.stage-resources=sometimes"))
        .hasMessageContaining("runtime.gpu.stage-resources must be one of off, task, executor");
    assertThatThrownBy(
            () ->
                config(
                    "runtime.device=cuda",
                    "runtime.gpu.stage-resources=executor",
                    "runtime.gpu.task-amount=2",
                    "runtime.gpu.executor-amount=1"))
        .hasMessageContaining(
            "runtime.gpu.task-amount (2.0) exceeds runtime.gpu.executor-amount (1)");
    // local-cluster is a (test) cluster manager that supports task profiles.
    assertThat(
            config(
                    "runtime.device=cuda",
                    "runtime.gpu.stage-resources=task",
                    "spark.master=local-cluster[2,1,1024]")
                .runtime()
                .gpuStages()
                .kind())
        .isEqualTo(GpuStages.Kind.TASK);
  }

  @Test
  void theDryRunPlanShowsDeviceGpuStagesAndRemoteModels() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PrefscoreJob.execute(
        new String[] {
          "west-of-n",
          "--dry-run",
          "--set",
          "input.path=s3a://bucket/in.jsonl",
          "--set",
          "output.path=s3a://bucket/out",
          "--set",
          "models.policy=s3a://bucket/models/policy",
          "--set",
          "models.reward=s3a://bucket/models/reward",
          "--set",
          "runtime.device=cuda",
          "--set",
          "runtime.gpu.stage-resources=task",
          "--set",
          "runtime.gpu.task-amount=0.5"
        },
        new PrintStream(out, true, StandardCharsets.UTF_8),
        System.err,
        c -> {
          throw new AssertionError("a dry run must not start Spark");
        });
    String plan = out.toString(StandardCharsets.UTF_8);
    assertThat(plan)
        .contains(
            "device cuda",
            "gpu stages  task profile: 0.5 GPU per model task",
            "models      on a Hadoop FS: their files are checked when the run starts; each executor copies them once to <java.io.tmpdir>/prefscore-models and opens them there",
            "model check (on the driver, before Spark starts):",
            "models.policy  s3a://bucket/models/policy: on a Hadoop FS, not opened on the driver");
  }
}
