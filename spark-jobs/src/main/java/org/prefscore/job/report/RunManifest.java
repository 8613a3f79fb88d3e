package org.prefscore.job.report;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.max;
import static org.apache.spark.sql.functions.min;
import static org.apache.spark.sql.functions.sum;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.prefscore.job.Mode;
import org.prefscore.job.config.ConfigKeys;
import org.prefscore.job.config.PipelineConfig;
import org.prefscore.job.config.Redactor;
import org.prefscore.job.io.ModelFingerprint;
import org.prefscore.job.io.RunOutput;
import org.prefscore.method.PolicyEvaluation;
import org.prefscore.spark.OutputSchema;
import org.prefscore.spark.PipelineCounters;

/**
 * Builds {@code manifest.json}: the redacted configuration, model fingerprints ({@link
 * ModelFingerprint}: one SHA-256 per file that changes behaviour and one for the directory), counts
 * per stage and reason, the accounting identity, timings per stage, throughput, the quantile method
 * and cuts, which model gave the policy terms, the faults Spark saw ({@link FaultRecord}), what a
 * resume reused and the list of data files. Written last (with {@code _SUCCESS}) by {@link
 * RunOutput#publish}.
 */
public final class RunManifest {

  static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  static final String QUANTILE_METHOD =
      "Greenwald-Khanna epsilon-approximate quantile summary (Spark DataFrameStatFunctions.approxQuantile)";

  private final ObjectNode root = JSON.createObjectNode();
  private final ObjectNode counts;
  private final ObjectNode quantiles;
  private final PipelineConfig config;

  public RunManifest(PipelineConfig config, RunOutput output, Instant started) {
    this(config, output, started, null);
  }

  /** {@code hadoop}: to fingerprint model directories on a Hadoop FS (null: local ones only). */
  public RunManifest(
      PipelineConfig config, RunOutput output, Instant started, Configuration hadoop) {
    this.config = config;
    Redactor redactor = config.source().redactor();
    root.put("run_id", config.runId());
    root.put("mode", config.mode().cliName());
    root.put("round", config.iteration().round());
    root.put("status", "RUNNING");
    root.put("output", redactor.redact(output.path()));
    root.put("started_at", started.toString());
    ObjectNode cfg = root.putObject("config");
    config.redacted().forEach(cfg::put);
    root.set("models", models(config, hadoop));
    PipelineConfig.Models m = config.models();
    ObjectNode terms = root.putObject("policy_terms");
    if (m.checkpoint().isPresent()) {
      terms.put("source", OutputSchema.POLICY_TERMS_CHECKPOINT);
      terms.put("model", redactor.redact(m.checkpoint().get()));
      terms.put(
          "note",
          "ckpt_* columns are log-probs of models.policy-checkpoint; margins and refinement use them as π");
    } else {
      terms.put("source", OutputSchema.POLICY_TERMS_REFERENCE);
      terms.put(
          "note",
          "no models.policy-checkpoint: policy terms = reference terms (π = π_ref), so dpo_margin,"
              + " px_margin and refinement (Δ) are 0; ckpt_* columns are null");
    }
    if (m.referenceIsPolicy()) {
      root.put("reference_note", "models.reference not set: the reference is models.policy");
    }
    ObjectNode sr = root.putObject("srdpo");
    sr.put("beta", config.margin().beta());
    sr.put("lambda", config.margin().lambda());
    sr.put("refinement_prompt", config.refinement().text());
    sr.put("refinement_separator", config.refinement().separator());
    counts = root.putObject("counts");
    quantiles = JSON.createObjectNode();
    if (config.mode() == Mode.WEST_OF_N) {
      root.set("quantiles", quantiles);
      quantiles.put("method", QUANTILE_METHOD);
      quantiles.put("relative_error", config.filters().relativeError());
      quantiles.put(
          "error_bound",
          "the cut's rank among the n values is within relative_error * n of ceil(q * n)");
    }
  }

  /**
   * The manifest's {@code models} object: per configured model (policy, reward, reference,
   * policy_checkpoint) its path, {@code fingerprint_sha256} and the SHA-256 of each file ({@code
   * <file>_sha256}, null for an optional file the directory lacks), the loaded graph ({@code
   * onnx_file}, its {@code model_onnx_sha256}) and its {@code external_data_sha256}.
   *
   * @param hadoop to fingerprint directories on a Hadoop FS (null: local ones only)
   */
  public static ObjectNode models(PipelineConfig config, Configuration hadoop) {
    Redactor redactor = config.source().redactor();
    ObjectNode models = JSON.createObjectNode();
    PipelineConfig.Models m = config.models();
    m.policy()
        .ifPresent(
            p ->
                fingerprint(
                    models, "policy", p, m.onnxFile(ConfigKeys.MODEL_POLICY), hadoop, redactor));
    m.reward()
        .ifPresent(
            p ->
                fingerprint(
                    models, "reward", p, m.onnxFile(ConfigKeys.MODEL_REWARD), hadoop, redactor));
    m.reference()
        .ifPresent(
            p ->
                fingerprint(
                    models,
                    "reference",
                    p,
                    m.onnxFile(ConfigKeys.MODEL_REFERENCE),
                    hadoop,
                    redactor));
    m.checkpoint()
        .ifPresent(
            p ->
                fingerprint(
                    models,
                    "policy_checkpoint",
                    p,
                    m.onnxFile(ConfigKeys.MODEL_CHECKPOINT),
                    hadoop,
                    redactor));
    PipelineConfig.Teacher teacher = config.teacher();
    if (teacher != null && teacher.pairwise()) {
      fingerprint(
          models, teacher.label().replace('-', '_'), teacher.directory(), "", hadoop, redactor);
    }
    return models;
  }

  private static void fingerprint(
      ObjectNode models,
      String role,
      String dir,
      String onnxFile,
      Configuration hadoop,
      Redactor redactor) {
    ModelFingerprint f = ModelFingerprint.of(dir, onnxFile, hadoop);
    ObjectNode n = models.putObject(role);
    n.put("path", redactor.redact(dir));
    n.put("fingerprint_sha256", f.sha256());
    n.put("onnx_file", f.graph());
    for (String file :
        java.util.stream.Stream.concat(
                ModelFingerprint.REQUIRED.stream(), ModelFingerprint.OPTIONAL.stream())
            .toList()) {
      String key = file.replace('.', '_') + "_sha256";
      String sha = f.files().get(file);
      if (sha == null) {
        n.putNull(key);
      } else {
        n.put(key, sha);
      }
    }
    n.put("model_onnx_sha256", f.modelOnnxSha256());
    if (!f.externalDataSha256().isEmpty()) {
      ObjectNode external = n.putObject("external_data_sha256");
      f.externalDataSha256().forEach(external::put);
    }
  }

  /**
   * The manifest's {@code knockout} object (pairwise teacher only), counted from the selections as
   * they are (not from accumulators, which count a retried task twice): prompts judged, comparisons
   * as method.md counts them (2(N − 1) + 1 per prompt) and the distinct pairs the teacher scored
   * (each in both orders), per prompt (mean, min, max); the teacher's model time (summed over
   * tasks) and its time per scored comparison; the confidence quantiles of the selected pairs
   * (exact: relative error 0).
   */
  public void knockout(Dataset<Row> selections, PipelineCounters counters) {
    PipelineConfig.Teacher teacher = config.teacher();
    ObjectNode k = root.putObject("knockout");
    k.put("teacher", teacher.label());
    k.put("model", config.source().redactor().redact(teacher.directory()));
    if (teacher.kind() == PipelineConfig.Teacher.Kind.JUDGE) {
      k.put("judge_prompt", teacher.prompt().template());
      k.put("labels", teacher.prompt().firstLabel() + "," + teacher.prompt().secondLabel());
    } else {
      k.put("pair_template", teacher.prompt().template());
    }
    k.put("bracket_seed", "SampleSeeds.derive(run.seed, prompt_id, -1); order in knockout_bracket");
    Row r =
        selections
            .filter(col(OutputSchema.KNOCKOUT_COMPARISONS).isNotNull())
            .agg(
                org.apache.spark.sql.functions.count(lit(1)),
                sum(OutputSchema.KNOCKOUT_COMPARISONS),
                sum(OutputSchema.KNOCKOUT_SCORED),
                min(OutputSchema.KNOCKOUT_COMPARISONS),
                max(OutputSchema.KNOCKOUT_COMPARISONS))
            .first();
    long prompts = r.getLong(0);
    long comparisons = r.isNullAt(1) ? 0 : r.getLong(1);
    long scored = r.isNullAt(2) ? 0 : r.getLong(2);
    k.put("prompts", prompts);
    k.put("comparisons", comparisons);
    k.put("comparisons_scored", scored);
    k.put("teacher_calls", 2 * scored);
    k.put("comparisons_per_prompt_mean", prompts > 0 ? round((double) comparisons / prompts) : 0.0);
    k.put("comparisons_per_prompt_min", r.isNullAt(3) ? 0 : r.getInt(3));
    k.put("comparisons_per_prompt_max", r.isNullAt(4) ? 0 : r.getInt(4));
    k.put(
        "comparisons_scored_per_prompt_mean", prompts > 0 ? round((double) scored / prompts) : 0.0);
    double seconds = counters.judgeNanos.value() / 1e9;
    k.put("teacher_seconds_summed_over_tasks", round(seconds));
    k.put(
        "teacher_ms_per_scored_comparison",
        scored > 0 ? Math.round(seconds * 1e6 / scored) / 1000.0 : 0.0);
    Dataset<Row> pairs = selections.filter(col(OutputSchema.REJECT_REASON).isNull());
    double[] probs = {0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0};
    double[] q = pairs.stat().approxQuantile(OutputSchema.CONFIDENCE, probs, 0.0);
    ObjectNode cq = k.putObject("confidence_quantiles");
    for (int i = 0; q != null && i < q.length; i++) {
      cq.put(String.valueOf(probs[i]), q[i]);
    }
  }

  /**
   * The manifest's {@code mix} object (west-of-n with mix.base-preferences): the sizes of the
   * iterative West-of-N training mix, counted on its tables as written.
   */
  public void mix(ObjectNode mix) {
    root.set("mix", mix);
  }

  /**
   * The shuffle partitions the run's shuffles used: {@code spark.shuffle_partitions}, and {@code
   * spark.shuffle_partitions_source} {@code configured} or {@code sized to the data}.
   */
  public void shufflePartitions(int partitions, boolean sized) {
    ObjectNode spark = root.putObject("spark");
    spark.put("shuffle_partitions", partitions);
    spark.put("shuffle_partitions_source", sized ? "sized to the data" : "configured");
  }

  public void count(String name, long value) {
    counts.put(name, value);
  }

  /** A count per key (e.g. samples per finish reason) under {@code counts.<name>}, keys sorted. */
  public void counts(String name, Map<String, Long> values) {
    ObjectNode n = counts.putObject(name);
    new TreeMap<>(values).forEach(n::put);
  }

  public void confidenceCut(double q, double cut, long population) {
    ObjectNode c = quantiles.putObject("confidence");
    c.put("quantile", q);
    c.put("cut", cut);
    c.put("population", population);
  }

  public void likelihoodCut(double tau, long population) {
    PipelineConfig.Filters f = config.filters();
    ObjectNode l = quantiles.putObject("likelihood");
    l.put("mode", f.likelihoodMode().name().toLowerCase());
    l.put(
        "normalization",
        f.normalization() == org.prefscore.method.LogprobNormalization.SUM ? "sum" : "per-token");
    if (f.likelihoodMode() == PipelineConfig.LikelihoodMode.QUANTILE) {
      l.put("quantile", f.likelihoodQuantile());
      l.put("population", population);
    }
    l.put("threshold", tau);
  }

  public void accounting(Accounting a) {
    ObjectNode n = root.putObject("accounting");
    n.put("input_rows", a.inputRows());
    a.perTable().forEach(n::put);
    n.put("identity", "input_rows = " + String.join(" + ", a.perTable().keySet()));
    n.put("holds", a.holds());
    if (!a.holds()) {
      n.put("problem", a.problem());
    }
  }

  /**
   * The reasons' counts of {@code check}: {@code counts.rejects_by_stage_and_reason} and, when the
   * run writes a filtered table, {@code counts.filtered_by_reason}.
   */
  public void reasonCounts(OutputCheck check, boolean hasFiltered) {
    ObjectNode rejects = counts.putObject("rejects_by_stage_and_reason");
    check
        .rejectsByStageAndReason()
        .forEach(
            (stage, reasons) -> {
              ObjectNode s = rejects.putObject(stage);
              reasons.forEach(s::put);
            });
    if (hasFiltered) {
      ObjectNode filtered = counts.putObject("filtered_by_reason");
      check.filteredByReason().forEach(filtered::put);
    }
  }

  public void evaluation(PolicyEvaluation e) {
    root.set("evaluation", evaluationNode(e));
  }

  /**
   * Timings and throughput, the last part of the manifest before publishing. The counts come from
   * {@code work} (the written tables); model seconds are the accumulators' sum over every task
   * attempt, retried and recomputed ones included (time actually spent).
   */
  public void finish(
      Map<String, Double> stageSeconds,
      double totalSeconds,
      WorkCounts work,
      PipelineCounters counters) {
    ObjectNode t = root.putObject("timings_seconds");
    stageSeconds.forEach((k, v) -> t.put(k, round(v)));
    t.put("total", round(totalSeconds));
    ObjectNode p = root.putObject("throughput");
    long tokens = work.generatedTokens();
    p.put("generated_tokens", tokens);
    double genSeconds = stageSeconds.getOrDefault("generate", 0.0);
    p.put("generate_stage_tokens_per_second", genSeconds > 0 ? round(tokens / genSeconds) : 0.0);
    p.put("run_tokens_per_second", totalSeconds > 0 ? round(tokens / totalSeconds) : 0.0);
    p.put("reward_texts", work.rewardTexts());
    p.put("sequences_scored", work.sequencesScored());
    p.put("prefix_mismatch_pairs", work.prefixMismatchPairs());
    p.put(
        "counted_from",
        "the written tables and action results (exact under retried tasks and lost executors)");
    ObjectNode model = p.putObject("model_seconds_summed_over_tasks");
    model.put("generation", round(counters.generationNanos.value() / 1e9));
    model.put("reward", round(counters.rewardNanos.value() / 1e9));
    model.put("judge", round(counters.judgeNanos.value() / 1e9));
    model.put("scoring", round(counters.scoringNanos.value() / 1e9));
    model.put("total", round(counters.modelNanos() / 1e9));
    model.put("note", "every task attempt's time, retried and recomputed attempts included");
    root.put("finished_at", Instant.now().toString());
    root.put("status", "SUCCEEDED");
  }

  /** The {@code faults} object: what Spark's listener saw go wrong ({@link FaultRecord}). */
  public void faults(FaultRecord faults) {
    root.set("faults", faults.toJson());
  }

  /** The {@code resume} object: whether the run reused persisted work, and how much per stage. */
  public void resume(ObjectNode resume) {
    root.set("resume", resume);
  }

  /**
   * The {@code files} object: every data file of the output, per table, with its size; a reader of
   * an object store reads exactly these (docs/outputs.md).
   */
  public void files(Map<String, java.util.List<RunOutput.DataFile>> files, String commit) {
    ObjectNode n = root.putObject("files");
    n.put("commit", commit);
    files.forEach(
        (table, list) -> {
          com.fasterxml.jackson.databind.node.ArrayNode a =
              n.putArray(table.isEmpty() ? "top" : table);
          for (RunOutput.DataFile f : list) {
            ObjectNode e = a.addObject();
            e.put("path", f.path());
            e.put("bytes", f.bytes());
          }
        });
  }

  /** Where the progress samples went ({@link ProgressSamples#FILE}) and how many there are. */
  public void progressSamples(ProgressSamples samples) {
    ObjectNode n = root.putObject("progress_samples");
    n.put("file", ProgressSamples.FILE);
    n.put("samples", samples.samples().size());
    n.put("sample_period_seconds", samples.periodMillis() / 1000.0);
  }

  /** Where the run report went, or why it could not be written. */
  public static void report(ObjectNode manifest, String file, String error) {
    ObjectNode n = manifest.putObject("report");
    n.put("file", file);
    if (error != null) {
      n.put("error", error);
    }
  }

  public ObjectNode node() {
    return root;
  }

  public String toJson() {
    try {
      return JSON.writeValueAsString(root) + "\n";
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  static ObjectNode evaluationNode(PolicyEvaluation e) {
    ObjectNode n = JSON.createObjectNode();
    n.put("tuples", e.tuples());
    n.put("average_marginal", e.averageMarginal());
    n.put("accuracy", e.accuracy());
    n.put("prompt_augmented_accuracy", e.promptAugmentedAccuracy());
    n.put("scored_tuples", e.scoredTuples());
    putOptional(n, "pearson", e.pearson());
    putOptional(n, "spearman", e.spearman());
    putOptional(n, "kendall", e.kendall());
    return n;
  }

  public static String evaluationJson(PolicyEvaluation e, PipelineConfig config) {
    ObjectNode n = evaluationNode(e);
    Redactor redactor = config.source().redactor();
    n.put("policy", redactor.redact(config.models().checkpoint().orElse("")));
    n.put("reference", redactor.redact(config.models().reference().orElse("")));
    n.put("beta", config.margin().beta());
    try {
      return JSON.writeValueAsString(n) + "\n";
    } catch (JsonProcessingException ex) {
      throw new IllegalStateException(ex);
    }
  }

  private static void putOptional(ObjectNode n, String name, java.util.OptionalDouble v) {
    if (v.isPresent()) {
      n.put(name, v.getAsDouble());
    } else {
      n.putNull(name);
    }
  }

  private static double round(double v) {
    return Math.round(v * 1000.0) / 1000.0;
  }
}
