package org.prefscore.job.config;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Pattern;
import org.prefscore.chat.ChatTemplate;
import org.prefscore.chat.PromptRenderer;
import org.prefscore.executor.LocalModelCache;
import org.prefscore.job.GpuStages;
import org.prefscore.job.Mode;
import org.prefscore.job.io.RemoteModels;
import org.prefscore.judge.JudgePrompt;
import org.prefscore.method.LogprobNormalization;
import org.prefscore.method.RefinementMargin;
import org.prefscore.method.RefinementPrompt;
import org.prefscore.runtime.EngineOptions;
import org.prefscore.runtime.ModelSpec;
import org.prefscore.runtime.OnnxGraphs;
import org.prefscore.runtime.decode.SamplingConfig;
import org.prefscore.spark.ModelPlacement;
import org.prefscore.spark.PairFormat;
import org.prefscore.spark.TruncatedSamples;

/**
 * The validated, typed configuration of one run. {@link #from} checks everything on the driver
 * before Spark starts and throws one {@link ConfigException} listing every problem.
 *
 * @param templateKwargs {@code chat.template-kwargs}: extra chat-template variables, plain Java
 *     values (String, Boolean, Long, Double, null, unmodifiable Lists and Maps of them)
 * @param pairOptions west-of-n: {@code output.pair-format} and {@code selection.truncated}
 * @param iteration {@code run.round} and {@code mix.base-preferences}
 */
public record PipelineConfig(
    Mode mode,
    String runId,
    long runSeed,
    Input input,
    String outputPath,
    Models models,
    Runtime runtime,
    SamplingConfig sampling,
    Filters filters,
    RefinementMargin margin,
    RefinementPrompt refinement,
    Map<String, Object> templateKwargs,
    PairOptions pairOptions,
    String sparkMaster,
    int partitions,
    int progressSeconds,
    ResolvedConfig source,
    Teacher teacher,
    Iteration iteration) {

  /**
   * Iterative West-of-N (method.md §1.6).
   *
   * @param round {@code run.round}, at least 1
   * @param basePreferences {@code mix.base-preferences}: the base pairs of the mix; empty: no mix
   */
  public record Iteration(int round, Optional<String> basePreferences) {}

  /**
   * The base preference model of west-of-n: a pointwise reward model (argmax/argmin) or a pairwise
   * teacher (knockouts, method.md §1.4); absent in score-pairs and evaluate.
   *
   * @param key the configuration key that named it
   * @param prompt the judge prompt and labels, or the classifier's pair text; null for REWARD
   */
  public record Teacher(Kind kind, String key, String directory, JudgePrompt prompt) {

    /** Which kind of base preference model. */
    public enum Kind {
      REWARD,
      JUDGE,
      PAIRWISE_CLASSIFIER
    }

    /** Whether y+ and y- come from knockouts. */
    public boolean pairwise() {
      return kind != Kind.REWARD;
    }

    /** The manifest's name of the kind: reward, judge or pairwise-classifier. */
    public String label() {
      return kind.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
  }

  /** Input format. */
  public enum Format {
    JSONL,
    PARQUET
  }

  /** How score-pairs/evaluate inputs hold chosen and rejected. */
  public enum ResponseFormat {
    /** Strings, scored with EOS appended (TRL's plain-text convention). */
    TEXT,
    /** Assistant turns (arrays of {role, content}) continuing a chat prompt. */
    MESSAGES
  }

  /**
   * Where and how to read rows.
   *
   * @param idColumn empty: prompt ids are hashes
   * @param messagesColumn empty: chat prompts are not read
   * @param scoreGapColumn empty: none
   * @param responseFormat how chosen/rejected are held (score-pairs, evaluate)
   * @param limit 0: all rows
   */
  public record Input(
      String path,
      Format format,
      String idColumn,
      String promptColumn,
      String messagesColumn,
      String chosenColumn,
      String rejectedColumn,
      String scoreGapColumn,
      ResponseFormat responseFormat,
      long limit) {}

  /** Model directories; absent when not configured. */
  public record Models(
      Optional<String> policy,
      Optional<String> reward,
      Optional<String> reference,
      Optional<String> checkpoint,
      boolean referenceIsPolicy,
      Map<String, String> onnxFiles) {

    public Models {
      onnxFiles = Map.copyOf(onnxFiles);
    }

    /** The models without a choice of graph (each directory's only one). */
    public Models(
        Optional<String> policy,
        Optional<String> reward,
        Optional<String> reference,
        Optional<String> checkpoint,
        boolean referenceIsPolicy) {
      this(policy, reward, reference, checkpoint, referenceIsPolicy, Map.of());
    }

    /**
     * The configured graph of a model ({@code models.<model>.onnx-file}); empty: the directory's
     * only one.
     *
     * @param modelKey {@link ConfigKeys#MODEL_POLICY} and the like
     */
    public String onnxFile(ConfigKey modelKey) {
      return onnxFiles.getOrDefault(modelKey.name(), "");
    }
  }

  /**
   * Runtime settings shared by every model stage.
   *
   * @param logitsBudgetMb bound on the logits one forward pass outputs (scoring and generation), in
   *     MB
   * @param modelCacheDir executor-local root for copies of remote model directories; empty: the
   *     executors' java.io.tmpdir
   * @param gpuStages stage-level GPU scheduling of the model stages
   * @param decodeLanes pieces of each generation batch decoded at once (runtime.decode-lanes)
   * @param driverCheckMaxGraphMb largest graph the driver's model check loads, in MB
   *     (runtime.driver-check-max-graph-mb)
   * @param samplingHead use a decoder's sampling head where its graph has one
   *     (runtime.sampling-head)
   */
  public record Runtime(
      long tokenBudget,
      long logitsBudgetMb,
      int promptsPerCall,
      EngineOptions engine,
      String modelCacheDir,
      GpuStages gpuStages,
      int decodeLanes,
      long driverCheckMaxGraphMb,
      boolean samplingHead) {

    /** Where executors load models from and on which GPU. */
    public ModelPlacement placement() {
      return new ModelPlacement(modelCacheDir);
    }
  }

  /** Likelihood filter mode. */
  public enum LikelihoodMode {
    OFF,
    ABSOLUTE,
    QUANTILE
  }

  /**
   * Filter settings.
   *
   * @param confidenceQuantile empty: no confidence filter
   * @param relativeError ε of approxQuantile
   */
  public record Filters(
      Optional<Double> confidenceQuantile,
      double relativeError,
      LikelihoodMode likelihoodMode,
      double likelihoodThreshold,
      double likelihoodQuantile,
      LogprobNormalization normalization) {}

  /**
   * West-of-N pair options.
   *
   * @param format output.pair-format: which table a pair goes to and how its terms are tokenized
   * @param truncated selection.truncated: whether samples that stopped at max-new-tokens are
   *     candidates
   */
  public record PairOptions(PairFormat format, TruncatedSamples truncated) {}

  private static final Pattern RUN_ID = Pattern.compile("[A-Za-z0-9._-]+");
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final ObjectMapper STRICT_JSON =
      new ObjectMapper()
          .enable(com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
          .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  /** Validates {@code config} for {@code mode}; throws listing every problem. */
  public static PipelineConfig from(Mode mode, ResolvedConfig config) {
    Checker c = new Checker(config);
    c.problems.addAll(config.problems());

    String runId = config.get(ConfigKeys.RUN_ID).trim();
    if (runId.isEmpty()) {
      runId =
          ZonedDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"))
              + "-"
              + UUID.randomUUID().toString().substring(0, 6);
    } else if (!RUN_ID.matcher(runId).matches() || runId.equals(".") || runId.equals("..")) {
      c.problems.add(
          ConfigKeys.RUN_ID.name()
              + " must be letters, digits, '.', '_' or '-', got '"
              + runId
              + "'");
    }
    long seed = c.longValue(ConfigKeys.RUN_SEED, Long.MIN_VALUE);

    String inputPath = c.required(ConfigKeys.INPUT_PATH);
    Format format =
        switch (c.choice(ConfigKeys.INPUT_FORMAT, "auto", "jsonl", "parquet")) {
          case "jsonl" -> Format.JSONL;
          case "parquet" -> Format.PARQUET;
          default ->
              inputPath.toLowerCase(Locale.ROOT).matches(".*\\.(jsonl|json)(\\.gz|\\.bz2)?$")
                  ? Format.JSONL
                  : Format.PARQUET;
        };
    String promptColumn = config.get(ConfigKeys.INPUT_PROMPT_COLUMN).trim();
    if (promptColumn.isEmpty() && config.get(ConfigKeys.INPUT_MESSAGES_COLUMN).trim().isEmpty()) {
      c.problems.add(
          ConfigKeys.INPUT_PROMPT_COLUMN.name()
              + " and "
              + ConfigKeys.INPUT_MESSAGES_COLUMN.name()
              + " are both empty: set at least one");
    }
    String chosen = config.get(ConfigKeys.INPUT_CHOSEN_COLUMN).trim();
    String rejected = config.get(ConfigKeys.INPUT_REJECTED_COLUMN).trim();
    if (mode != Mode.WEST_OF_N) {
      c.required(ConfigKeys.INPUT_CHOSEN_COLUMN);
      c.required(ConfigKeys.INPUT_REJECTED_COLUMN);
    }
    ResponseFormat responseFormat =
        c.choice(ConfigKeys.INPUT_RESPONSE_FORMAT, "text", "messages").equals("messages")
            ? ResponseFormat.MESSAGES
            : ResponseFormat.TEXT;
    String messagesColumn = config.get(ConfigKeys.INPUT_MESSAGES_COLUMN).trim();
    if (responseFormat == ResponseFormat.MESSAGES) {
      if (mode == Mode.WEST_OF_N) {
        c.problems.add(
            ConfigKeys.INPUT_RESPONSE_FORMAT.name()
                + "=messages applies to score-pairs and evaluate;"
                + " west-of-n generates its responses");
      } else if (messagesColumn.isEmpty()) {
        c.problems.add(
            ConfigKeys.INPUT_RESPONSE_FORMAT.name()
                + "=messages needs the prompts as conversations: set "
                + ConfigKeys.INPUT_MESSAGES_COLUMN.name());
      }
    }
    Input input =
        new Input(
            inputPath,
            format,
            config.get(ConfigKeys.INPUT_ID_COLUMN).trim(),
            promptColumn,
            messagesColumn,
            chosen,
            rejected,
            config.get(ConfigKeys.INPUT_SCORE_GAP_COLUMN).trim(),
            responseFormat,
            c.longValue(ConfigKeys.INPUT_LIMIT, 0));
    checkDistinctColumns(input, mode, c);
    String outputPath = c.required(ConfigKeys.OUTPUT_PATH);

    Optional<String> policy = c.model(ConfigKeys.MODEL_POLICY, mode == Mode.WEST_OF_N);
    Optional<String> reward = c.model(ConfigKeys.MODEL_REWARD, false);
    Optional<String> reference = c.model(ConfigKeys.MODEL_REFERENCE, mode != Mode.WEST_OF_N);
    Optional<String> checkpoint = c.model(ConfigKeys.MODEL_CHECKPOINT, mode == Mode.EVALUATE);
    Map<String, String> onnxFiles = new LinkedHashMap<>();
    for (ConfigKey key :
        List.of(
            ConfigKeys.MODEL_POLICY,
            ConfigKeys.MODEL_REWARD,
            ConfigKeys.MODEL_REFERENCE,
            ConfigKeys.MODEL_CHECKPOINT)) {
      String file = config.get(ConfigKeys.onnxFileKey(key)).trim();
      if (!file.isEmpty()) {
        onnxFiles.put(key.name(), file);
      }
    }
    boolean referenceIsPolicy = false;
    if (mode == Mode.WEST_OF_N && reference.isEmpty()) {
      if (onnxFiles.containsKey(ConfigKeys.MODEL_REFERENCE.name())) {
        c.problems.add(
            ConfigKeys.MODEL_REFERENCE_ONNX_FILE.name()
                + " is set but models.reference is not (the reference is then models.policy with"
                + " models.policy.onnx-file): set models.reference to the policy's directory to"
                + " score the reference with another of its graphs");
      }
      reference = policy;
      referenceIsPolicy = true;
      String policyFile = onnxFiles.get(ConfigKeys.MODEL_POLICY.name());
      if (policyFile != null) {
        onnxFiles.put(ConfigKeys.MODEL_REFERENCE.name(), policyFile);
      }
    }
    for (Map.Entry<ConfigKey, Optional<String>> m :
        List.of(
            Map.entry(ConfigKeys.MODEL_POLICY, policy),
            Map.entry(ConfigKeys.MODEL_REWARD, reward),
            Map.entry(ConfigKeys.MODEL_REFERENCE, reference),
            Map.entry(ConfigKeys.MODEL_CHECKPOINT, checkpoint))) {
      if (m.getValue().isEmpty() && onnxFiles.containsKey(m.getKey().name())) {
        c.problems.add(
            ConfigKeys.onnxFileKey(m.getKey()).name()
                + " is set but "
                + m.getKey().name()
                + " is not");
      } else if (m.getValue().isPresent()
          && !(referenceIsPolicy && m.getKey() == ConfigKeys.MODEL_REFERENCE)) {
        c.graph(m.getKey(), m.getValue().get(), onnxFiles.getOrDefault(m.getKey().name(), ""));
      }
    }
    Models models = new Models(policy, reward, reference, checkpoint, referenceIsPolicy, onnxFiles);
    Teacher teacher = mode == Mode.WEST_OF_N ? teacher(config, reward, c) : null;

    long budget = c.longValue(ConfigKeys.TOKEN_BUDGET, 1);
    int perCall = c.intValue(ConfigKeys.PROMPTS_PER_CALL, 1);
    int threads = c.intValue(ConfigKeys.INTRA_OP_THREADS, 0);
    int lanes = c.intValue(ConfigKeys.DECODE_LANES, 1);
    long driverCheckMb = c.longValue(ConfigKeys.DRIVER_CHECK_MAX_GRAPH_MB, 0);
    if (lanes > 64) {
      c.problems.add(ConfigKeys.DECODE_LANES.name() + " must be <= 64, got " + lanes);
    }
    boolean cuda = c.choice(ConfigKeys.DEVICE, "cpu", "cuda").equals("cuda");
    GpuStages gpuStages =
        GpuStages.from(config, cuda, config.get(ConfigKeys.SPARK_MASTER).trim(), c.problems);
    long logitsMb = c.longValue(ConfigKeys.LOGITS_BUDGET_MB, 1);
    if (logitsMb > (1L << 20)) {
      c.problems.add(
          ConfigKeys.LOGITS_BUDGET_MB.name() + " must be <= 1048576 (1 TB), got " + logitsMb);
    }
    Runtime runtime =
        new Runtime(
            budget,
            logitsMb,
            perCall,
            new EngineOptions(cuda, 0, Math.max(0, threads), 1, c.bool(ConfigKeys.ENGINE_SPINNING)),
            config.get(ConfigKeys.MODEL_CACHE_DIR).trim(),
            gpuStages,
            Math.max(1, lanes),
            Math.max(0, driverCheckMb),
            c.bool(ConfigKeys.SAMPLING_HEAD));

    SamplingConfig sampling = null;
    int n = c.intValue(ConfigKeys.SAMPLING_N, mode == Mode.WEST_OF_N ? 2 : 1);
    double temperature = c.doubleValue(ConfigKeys.SAMPLING_TEMPERATURE);
    int topK = c.intValue(ConfigKeys.SAMPLING_TOP_K, 0);
    double topP = c.doubleValue(ConfigKeys.SAMPLING_TOP_P);
    int maxNew = c.intValue(ConfigKeys.SAMPLING_MAX_NEW_TOKENS, 1);
    List<String> stops = c.stringList(ConfigKeys.SAMPLING_STOP_STRINGS);
    if (!Double.isNaN(temperature) && !Double.isNaN(topP)) {
      try {
        sampling = new SamplingConfig(Math.max(1, n), temperature, topK, topP, maxNew, stops);
      } catch (IllegalArgumentException e) {
        c.problems.add(e.getMessage());
      }
    }

    Optional<Double> confidenceQ = c.optionalDouble(ConfigKeys.CONFIDENCE_QUANTILE, 0, 1);
    double relErr = c.doubleIn(ConfigKeys.QUANTILE_RELATIVE_ERROR, 0, 1);
    LikelihoodMode lmode =
        LikelihoodMode.valueOf(
            c.choice(ConfigKeys.LIKELIHOOD_MODE, "off", "absolute", "quantile")
                .toUpperCase(Locale.ROOT));
    double tau = Double.NaN;
    double lq = Double.NaN;
    if (lmode == LikelihoodMode.ABSOLUTE) {
      tau =
          c.optionalDouble(
                  ConfigKeys.LIKELIHOOD_THRESHOLD,
                  Double.NEGATIVE_INFINITY,
                  Double.POSITIVE_INFINITY)
              .orElseGet(
                  () -> {
                    c.problems.add(
                        ConfigKeys.LIKELIHOOD_THRESHOLD.name()
                            + " must be set when "
                            + ConfigKeys.LIKELIHOOD_MODE.name()
                            + "=absolute");
                    return Double.NaN;
                  });
    } else if (lmode == LikelihoodMode.QUANTILE) {
      lq =
          c.optionalDouble(ConfigKeys.LIKELIHOOD_QUANTILE, 0, 1)
              .orElseGet(
                  () -> {
                    c.problems.add(
                        ConfigKeys.LIKELIHOOD_QUANTILE.name()
                            + " must be set when "
                            + ConfigKeys.LIKELIHOOD_MODE.name()
                            + "=quantile");
                    return Double.NaN;
                  });
    }
    LogprobNormalization norm =
        c.choice(ConfigKeys.LIKELIHOOD_NORMALIZATION, "sum", "per-token").equals("per-token")
            ? LogprobNormalization.PER_TOKEN
            : LogprobNormalization.SUM;
    Filters filters = new Filters(confidenceQ, relErr, lmode, tau, lq, norm);

    RefinementMargin margin = null;
    double beta = c.doubleValue(ConfigKeys.BETA);
    double lambda = c.doubleValue(ConfigKeys.LAMBDA);
    try {
      margin = new RefinementMargin(beta, lambda);
    } catch (IllegalArgumentException e) {
      c.problems.add(e.getMessage());
    }
    RefinementPrompt refinement = null;
    try {
      refinement =
          new RefinementPrompt(
              config.get(ConfigKeys.REFINEMENT_PROMPT),
              config.get(ConfigKeys.REFINEMENT_SEPARATOR));
    } catch (IllegalArgumentException e) {
      c.problems.add(ConfigKeys.REFINEMENT_PROMPT.name() + ": " + e.getMessage());
    }

    Map<String, Object> templateKwargs = c.templateKwargs(ConfigKeys.CHAT_TEMPLATE_KWARGS);

    PairOptions pairOptions =
        new PairOptions(
            PairFormat.parse(
                c.choice(ConfigKeys.OUTPUT_PAIR_FORMAT, "auto", "text", "conversational")),
            TruncatedSamples.parse(c.choice(ConfigKeys.SELECTION_TRUNCATED, "exclude", "keep")));

    String master = config.get(ConfigKeys.SPARK_MASTER).trim();
    int partitions = c.intValue(ConfigKeys.SPARK_PARTITIONS, 0);
    int progress = c.intValue(ConfigKeys.PROGRESS_INTERVAL, 0);
    c.problems.addAll(RunControl.problems(config));
    int round = c.intValue(ConfigKeys.RUN_ROUND, 1);
    String base = config.get(ConfigKeys.MIX_BASE_PREFERENCES).trim();
    if (!base.isEmpty() && mode != Mode.WEST_OF_N) {
      c.problems.add(
          ConfigKeys.MIX_BASE_PREFERENCES.name()
              + " applies to west-of-n (the mix needs the run's West-of-N pairs)");
    }
    Iteration iteration =
        new Iteration(round, base.isEmpty() ? Optional.empty() : Optional.of(base));

    if (!c.problems.isEmpty()) {
      throw new ConfigException(c.problems);
    }
    return new PipelineConfig(
        mode,
        runId,
        seed,
        input,
        outputPath,
        models,
        runtime,
        sampling,
        filters,
        margin,
        refinement,
        templateKwargs,
        pairOptions,
        master,
        partitions,
        progress,
        config,
        teacher,
        iteration);
  }

  /**
   * Exactly one base preference model: models.reward, models.judge or models.pairwise-classifier.
   */
  private static Teacher teacher(ResolvedConfig config, Optional<String> reward, Checker c) {
    Optional<String> judge = c.model(ConfigKeys.MODEL_JUDGE, false);
    Optional<String> pairwise = c.model(ConfigKeys.MODEL_PAIRWISE_CLASSIFIER, false);
    int given =
        (reward.isPresent() ? 1 : 0) + (judge.isPresent() ? 1 : 0) + (pairwise.isPresent() ? 1 : 0);
    String keys =
        ConfigKeys.MODEL_REWARD.name()
            + ", "
            + ConfigKeys.MODEL_JUDGE.name()
            + " or "
            + ConfigKeys.MODEL_PAIRWISE_CLASSIFIER.name();
    if (given != 1) {
      c.problems.add(
          given == 0
              ? "west-of-n needs a base preference model: set one of " + keys
              : "set only one of " + keys + " (the base preference model)");
      return null;
    }
    if (reward.isPresent()) {
      return new Teacher(Teacher.Kind.REWARD, ConfigKeys.MODEL_REWARD.name(), reward.get(), null);
    }
    try {
      if (judge.isPresent()) {
        String template = config.get(ConfigKeys.JUDGE_PROMPT);
        template = template.isBlank() ? JudgePrompt.DEFAULT_TEMPLATE : template;
        String[] labels = config.get(ConfigKeys.JUDGE_LABELS).split(",", -1);
        if (labels.length != 2) {
          c.problems.add(
              ConfigKeys.JUDGE_LABELS.name()
                  + " must be two labels separated by a comma, got '"
                  + config.get(ConfigKeys.JUDGE_LABELS)
                  + "'");
          return null;
        }
        return new Teacher(
            Teacher.Kind.JUDGE,
            ConfigKeys.MODEL_JUDGE.name(),
            judge.get(),
            new JudgePrompt(template, labels[0].trim(), labels[1].trim()));
      }
      String template = config.get(ConfigKeys.JUDGE_PAIR_TEMPLATE);
      template = template.isBlank() ? JudgePrompt.DEFAULT_PAIR_TEMPLATE : template;
      return new Teacher(
          Teacher.Kind.PAIRWISE_CLASSIFIER,
          ConfigKeys.MODEL_PAIRWISE_CLASSIFIER.name(),
          pairwise.get(),
          JudgePrompt.pairText(template));
    } catch (IllegalArgumentException e) {
      c.problems.add(
          (judge.isPresent() ? ConfigKeys.JUDGE_PROMPT : ConfigKeys.JUDGE_PAIR_TEMPLATE).name()
              + ": "
              + e.getMessage());
      return null;
    }
  }

  /** The spec of the pairwise teacher's model (a decoder or a single-logit classifier). */
  public ModelSpec teacherSpec() {
    return teacher.kind() == Teacher.Kind.JUDGE
        ? decoderSpec(teacher.directory())
        : rewardSpec(teacher.directory());
  }

  private static void checkDistinctColumns(Input input, Mode mode, Checker c) {
    List<String> used = new ArrayList<>();
    List<String> names = new ArrayList<>(List.of(input.promptColumn()));
    if (!input.messagesColumn().isEmpty()) {
      names.add(input.messagesColumn());
    }
    if (!input.idColumn().isEmpty()) {
      names.add(input.idColumn());
    }
    if (mode != Mode.WEST_OF_N) {
      names.add(input.chosenColumn());
      names.add(input.rejectedColumn());
      if (!input.scoreGapColumn().isEmpty()) {
        names.add(input.scoreGapColumn());
      }
    }
    for (String n : names) {
      if (!n.isEmpty() && used.contains(n)) {
        c.problems.add("input column '" + n + "' is configured for two roles");
      }
      used.add(n);
    }
  }

  /** The spec of a decoder directory (its only graph). */
  public ModelSpec decoderSpec(String directory) {
    return ModelSpec.decoder(directory, runtime.engine());
  }

  /** The spec of a reward model directory (its only graph). */
  public ModelSpec rewardSpec(String directory) {
    return ModelSpec.reward(directory, runtime.engine());
  }

  /**
   * The spec of a configured model, with its {@code models.<model>.onnx-file}.
   *
   * @param modelKey {@link ConfigKeys#MODEL_POLICY}, {@link ConfigKeys#MODEL_REWARD}, {@link
   *     ConfigKeys#MODEL_REFERENCE} or {@link ConfigKeys#MODEL_CHECKPOINT}; the model must be set
   */
  public ModelSpec spec(ConfigKey modelKey) {
    Optional<String> dir;
    if (modelKey == ConfigKeys.MODEL_POLICY) {
      dir = models.policy();
    } else if (modelKey == ConfigKeys.MODEL_REWARD) {
      dir = models.reward();
    } else if (modelKey == ConfigKeys.MODEL_REFERENCE) {
      dir = models.reference();
    } else if (modelKey == ConfigKeys.MODEL_CHECKPOINT) {
      dir = models.checkpoint();
    } else {
      throw new IllegalArgumentException("not a model key: " + modelKey.name());
    }
    String directory =
        dir.orElseThrow(() -> new IllegalStateException(modelKey.name() + " is not set"));
    ModelSpec spec =
        modelKey == ConfigKeys.MODEL_REWARD ? rewardSpec(directory) : decoderSpec(directory);
    return spec.withOnnxFile(models.onnxFile(modelKey));
  }

  /** The model whose chat template renders chat prompts in this mode. */
  public String templateModel() {
    return spec(templateModelKey()).directory();
  }

  /** The key of {@link #templateModel()}. */
  public ConfigKey templateModelKey() {
    return switch (mode) {
      case WEST_OF_N -> ConfigKeys.MODEL_POLICY;
      case SCORE_PAIRS ->
          models.checkpoint().isPresent()
              ? ConfigKeys.MODEL_CHECKPOINT
              : ConfigKeys.MODEL_REFERENCE;
      case EVALUATE -> ConfigKeys.MODEL_CHECKPOINT;
    };
  }

  /** Collects problems while reading typed values. */
  private static final class Checker {
    final ResolvedConfig config;
    final List<String> problems = new ArrayList<>();

    Checker(ResolvedConfig config) {
      this.config = config;
    }

    String required(ConfigKey key) {
      String v = config.get(key).trim();
      if (v.isEmpty()) {
        problems.add(key.name() + " is required");
      }
      return v;
    }

    String choice(ConfigKey key, String... allowed) {
      String v = config.get(key).trim().toLowerCase(Locale.ROOT);
      for (String a : allowed) {
        if (a.equals(v)) {
          return v;
        }
      }
      problems.add(
          key.name()
              + " must be one of "
              + String.join(", ", allowed)
              + ", got '"
              + config.get(key)
              + "'");
      return allowed[0];
    }

    long longValue(ConfigKey key, long min) {
      String v = config.get(key).trim();
      try {
        long x = Long.parseLong(v);
        if (x < min) {
          problems.add(key.name() + " must be >= " + min + ", got " + x);
        }
        return x;
      } catch (NumberFormatException e) {
        problems.add(key.name() + " must be an integer, got '" + v + "'");
        return min;
      }
    }

    int intValue(ConfigKey key, int min) {
      long x = longValue(key, min);
      if (x > Integer.MAX_VALUE) {
        problems.add(key.name() + " is too large: " + x);
        return min;
      }
      return (int) x;
    }

    double doubleValue(ConfigKey key) {
      String v = config.get(key).trim();
      try {
        double x = Double.parseDouble(v);
        if (Double.isNaN(x)) {
          throw new NumberFormatException();
        }
        return x;
      } catch (NumberFormatException e) {
        problems.add(key.name() + " must be a number, got '" + v + "'");
        return Double.NaN;
      }
    }

    double doubleIn(ConfigKey key, double lo, double hi) {
      double x = doubleValue(key);
      if (!Double.isNaN(x) && !(x >= lo && x <= hi)) {
        problems.add(key.name() + " must be in [" + lo + ", " + hi + "], got " + x);
      }
      return x;
    }

    Optional<Double> optionalDouble(ConfigKey key, double lo, double hi) {
      if (config.get(key).trim().isEmpty()) {
        return Optional.empty();
      }
      double x = doubleIn(key, lo, hi);
      return Double.isNaN(x) ? Optional.empty() : Optional.of(x);
    }

    boolean bool(ConfigKey key) {
      String v = config.get(key).trim().toLowerCase(Locale.ROOT);
      if (!v.equals("true") && !v.equals("false")) {
        problems.add(key.name() + " must be true or false, got '" + config.get(key) + "'");
      }
      return v.equals("true");
    }

    List<String> stringList(ConfigKey key) {
      try {
        List<String> list = JSON.readValue(config.get(key), new TypeReference<List<String>>() {});
        return list == null ? List.of() : list;
      } catch (Exception e) {
        problems.add(
            key.name() + " must be a JSON array of strings, got '" + config.get(key) + "'");
        return List.of();
      }
    }

    /**
     * A JSON object of chat template keyword arguments, as plain Java values; reserved names
     * ({@link ChatTemplate#RESERVED_KWARGS}), duplicate names and numbers that fit neither a long
     * nor a finite double are problems.
     */
    Map<String, Object> templateKwargs(ConfigKey key) {
      String text = config.get(key).trim();
      if (text.isEmpty()) {
        return Map.of();
      }
      JsonNode node;
      try {
        node = STRICT_JSON.readTree(text);
      } catch (Exception e) {
        problems.add(
            key.name()
                + " must be a JSON object, got '"
                + text
                + "' ("
                + e.getMessage().lines().findFirst().orElse("")
                + ")");
        return Map.of();
      }
      if (node == null || !node.isObject()) {
        problems.add(
            key.name()
                + " must be a JSON object of keyword arguments, got "
                + (node == null ? "nothing" : node.getNodeType().name().toLowerCase(Locale.ROOT)));
        return Map.of();
      }
      Map<String, Object> kwargs = new LinkedHashMap<>();
      int before = problems.size();
      node.fields()
          .forEachRemaining(
              f -> {
                if (ChatTemplate.RESERVED_KWARGS.contains(f.getKey())) {
                  problems.add(
                      key.name()
                          + ": '"
                          + f.getKey()
                          + "' is bound by apply_chat_template itself, not a keyword argument");
                } else {
                  kwargs.put(f.getKey(), plain(key, f.getKey(), f.getValue()));
                }
              });
      return problems.size() > before ? Map.of() : PromptRenderer.checked(kwargs);
    }

    private Object plain(ConfigKey key, String name, JsonNode v) {
      switch (v.getNodeType()) {
        case NULL:
          return null;
        case STRING:
          return v.textValue();
        case BOOLEAN:
          return v.booleanValue();
        case NUMBER:
          if (v.isIntegralNumber()) {
            if (v.canConvertToLong()) {
              return v.longValue();
            }
            problems.add(key.name() + ": '" + name + "' holds an integer beyond 64 bits: " + v);
            return null;
          }
          double d = v.doubleValue();
          if (!Double.isFinite(d)) {
            problems.add(key.name() + ": '" + name + "' holds a number beyond a double: " + v);
            return null;
          }
          return d;
        case ARRAY:
          List<Object> list = new ArrayList<>();
          v.forEach(item -> list.add(plain(key, name, item)));
          return list;
        case OBJECT:
          Map<String, Object> map = new LinkedHashMap<>();
          v.fields().forEachRemaining(f -> map.put(f.getKey(), plain(key, name, f.getValue())));
          return map;
        default:
          problems.add(key.name() + ": '" + name + "' holds a " + v.getNodeType() + " value");
          return null;
      }
    }

    /**
     * A model directory: required or optional; when local, it must hold the files a model needs. A
     * Hadoop FS directory (s3a://, hdfs://) is checked when the run starts ({@link RemoteModels}),
     * since that needs the session's Hadoop configuration.
     */
    Optional<String> model(ConfigKey key, boolean required) {
      String v = config.get(key).trim();
      if (v.isEmpty()) {
        if (required) {
          problems.add(key.name() + " is required in this mode");
        }
        return Optional.empty();
      }
      if (LocalModelCache.isRemote(v)) {
        return Optional.of(v);
      }
      Path dir = localPath(v);
      if (dir == null) {
        problems.add(
            key.name()
                + " must be a local directory (copy models to every executor), got '"
                + v
                + "'");
      } else if (!Files.isDirectory(dir)) {
        problems.add(key.name() + ": no such directory: " + v);
      } else {
        for (String f : List.of("config.json", "tokenizer.json")) {
          if (!Files.isRegularFile(dir.resolve(f))) {
            problems.add(key.name() + ": " + v + " has no " + f);
          }
        }
      }
      return Optional.of(v);
    }

    /**
     * A local model directory's graph can be chosen ({@link OnnxGraphs#choose}): exactly one, or
     * the configured {@code models.<model>.onnx-file}. A Hadoop FS directory is checked when the
     * run starts ({@link RemoteModels}).
     */
    void graph(ConfigKey key, String directory, String onnxFile) {
      Path dir = LocalModelCache.isRemote(directory) ? null : localPath(directory);
      if (dir == null || !Files.isDirectory(dir)) {
        return;
      }
      try {
        OnnxGraphs.choose(OnnxGraphs.list(dir), onnxFile);
      } catch (IllegalArgumentException | java.io.UncheckedIOException e) {
        String name = onnxFile.isEmpty() ? key.name() : ConfigKeys.onnxFileKey(key).name();
        problems.add(name + ": " + directory + " " + e.getMessage());
      }
    }
  }

  /** A local filesystem path for a plain or file: path, else null. */
  public static Path localPath(String v) {
    if (v.startsWith("file:")) {
      return Path.of(URI.create(v));
    }
    return v.matches("^[A-Za-z][A-Za-z0-9+.-]*://.*") ? null : Path.of(v);
  }

  /** Resume, lease, commit and empty-input handling of this run (validated by {@link #from}). */
  public RunControl runControl() {
    return RunControl.of(source);
  }

  /** The redacted effective configuration, for logs and the manifest. */
  public Map<String, String> redacted() {
    return source.redacted();
  }
}
