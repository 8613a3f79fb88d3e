package org.prefscore.job.config;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.prefscore.chat.PromptRenderer;
import org.prefscore.executor.LocalModelCache;
import org.prefscore.job.Mode;
import org.prefscore.judge.TeacherCheck;
import org.prefscore.runtime.ModelCheck;
import org.prefscore.runtime.ModelFiles;
import org.prefscore.runtime.ModelSpec;
import org.prefscore.runtime.decode.SamplingConfig;
import org.prefscore.runtime.decode.TokenSampler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The driver's check of every configured model directory, before Spark starts and in {@code
 * --dry-run} too: each local directory is opened by {@link ModelCheck} (files parse, tokenizer
 * loads and agrees with the special token ids, graph loads and runs one tiny pass), and the chat
 * template of the model that renders chat prompts ({@link PipelineConfig#templateModel()}) compiles
 * and renders a probe conversation with {@code chat.template-kwargs} ({@link
 * PromptRenderer#probe}). Every problem, with its key, file and reason, is one {@link
 * ConfigException} (exit status 2).
 *
 * <p>A directory on a Hadoop FS (s3a://, hdfs://) is not opened on the driver: that would mean
 * copying its graph, gigabytes, to the driver. The run checks that it holds its files when it
 * starts ({@code job.io.RemoteModels}), and each executor opens it (the same checks, as {@code
 * ModelLoader} applies them on every load) when it first loads it; the plan says so.
 */
public final class ModelPreflight {

  private static final Logger LOG = LoggerFactory.getLogger(ModelPreflight.class);

  /**
   * What the check found.
   *
   * @param lines one line per configured model (key, directory, what was checked), for the dry-run
   *     plan and the log
   */
  public record Report(List<String> lines) {}

  private ModelPreflight() {}

  /**
   * Checks every model {@code config} names.
   *
   * @throws ConfigException listing every directory that fails, with its key and file
   */
  public static Report check(PipelineConfig config) {
    long start = System.nanoTime();
    Map<String, ModelSpec> specs = new LinkedHashMap<>();
    PipelineConfig.Models m = config.models();
    m.policy()
        .ifPresent(
            d -> specs.put(ConfigKeys.MODEL_POLICY.name(), config.spec(ConfigKeys.MODEL_POLICY)));
    m.reward()
        .ifPresent(
            d -> specs.put(ConfigKeys.MODEL_REWARD.name(), config.spec(ConfigKeys.MODEL_REWARD)));
    if (config.teacher() != null && config.teacher().pairwise()) {
      specs.put(config.teacher().key(), config.teacherSpec());
    }
    if (!m.referenceIsPolicy()) {
      m.reference()
          .ifPresent(
              d ->
                  specs.put(
                      ConfigKeys.MODEL_REFERENCE.name(), config.spec(ConfigKeys.MODEL_REFERENCE)));
    }
    m.checkpoint()
        .ifPresent(
            d ->
                specs.put(
                    ConfigKeys.MODEL_CHECKPOINT.name(), config.spec(ConfigKeys.MODEL_CHECKPOINT)));
    ModelSpec templateModel = config.spec(config.templateModelKey());

    List<String> lines = new ArrayList<>();
    List<String> problems = new ArrayList<>();
    Map<ModelSpec, ModelCheck.Result> checked = new LinkedHashMap<>();
    boolean templateChecked = false;
    for (Map.Entry<String, ModelSpec> e : specs.entrySet()) {
      String key = e.getKey();
      ModelSpec spec = e.getValue();
      String dir = spec.directory();
      if (LocalModelCache.isRemote(dir)) {
        lines.add(
            key
                + "  "
                + dir
                + ": on a Hadoop FS, not opened on the driver (its files are checked when the run"
                + " starts; each executor opens and checks it as it loads it)");
        continue;
      }
      ModelSpec local = spec.withDirectory(localDirectory(dir));
      ModelCheck.Result result;
      boolean graphLoaded;
      try {
        long limitMb = config.runtime().driverCheckMaxGraphMb();
        long graphMb = (ModelCheck.graphBytes(local) + (1 << 20) - 1) >> 20;
        graphLoaded = graphMb <= limitMb;
        result =
            checked.computeIfAbsent(
                local,
                s ->
                    graphLoaded
                        ? ModelCheck.check(s)
                        : ModelCheck.checkWithoutGraph(
                            s,
                            graphMb
                                + " MB > "
                                + ConfigKeys.DRIVER_CHECK_MAX_GRAPH_MB.name()
                                + "="
                                + limitMb));
      } catch (RuntimeException ex) {
        problems.add(key + ": " + ex.getMessage());
        continue;
      }
      String line = key + "  " + dir + ": " + result.summary();
      if (key.equals(ConfigKeys.MODEL_POLICY.name())
          && samplesWholeDistribution(config, result.files().tokenizerVocabSize())) {
        // This JVM's vector API stands for the executors' (the same launcher in local mode).
        boolean vectorPass = TokenSampler.weighsRowsInVectors(result.logitsWidth());
        line += ModelCheck.samplingHeadHint(result, vectorPass).map(h -> "; " + h).orElse("");
      }
      if (!templateChecked && spec.equals(templateModel) && spec.kind() == ModelSpec.Kind.DECODER) {
        templateChecked = true;
        try {
          line += "; " + template(result.files(), config);
        } catch (RuntimeException ex) {
          problems.add(key + ": " + ex.getMessage());
          continue;
        }
      }
      if (graphLoaded
          && config.teacher() != null
          && config.teacher().pairwise()
          && key.equals(config.teacher().key())) {
        try {
          line += "; " + TeacherCheck.check(local, config.teacher().prompt());
        } catch (RuntimeException ex) {
          problems.add(key + ": " + ex.getMessage());
          continue;
        }
      }
      lines.add(line);
    }
    if (!problems.isEmpty()) {
      throw new ConfigException(problems);
    }
    Redactor redactor = config.source().redactor();
    LOG.info(
        "model check on the driver ({} ms):{}",
        (System.nanoTime() - start) / 1_000_000,
        lines.stream().map(l -> "\n  " + redactor.redact(l)).reduce("", String::concat));
    return new Report(List.copyOf(lines));
  }

  private static String template(ModelFiles files, PipelineConfig config) {
    Optional<String> probe = PromptRenderer.probe(files, config.templateKwargs());
    String kwargs =
        config.templateKwargs().isEmpty()
            ? ""
            : " with chat.template-kwargs " + config.templateKwargs().keySet();
    String role = config.mode() == Mode.WEST_OF_N ? "chat prompts" : "chat tuples";
    return probe.isPresent()
        ? "chat template compiles and renders a probe conversation" + kwargs + " (" + role + ")"
        : "no chat template: " + role + " become CHAT_TEMPLATE_ERROR rejects";
  }

  /**
   * Whether the run samples the policy from its whole warped distribution over {@code
   * sampleableVocab} ids, where a sampling head does the work (west-of-n, not greedy, see {@link
   * SamplingConfig#drawsFromWholeDistribution}).
   */
  private static boolean samplesWholeDistribution(PipelineConfig config, int sampleableVocab) {
    SamplingConfig s = config.sampling();
    return config.mode() == Mode.WEST_OF_N
        && s != null
        && !s.isGreedy()
        && s.drawsFromWholeDistribution(sampleableVocab);
  }

  private static String localDirectory(String dir) {
    Path path = PipelineConfig.localPath(dir);
    return path == null ? dir : path.toString();
  }
}
