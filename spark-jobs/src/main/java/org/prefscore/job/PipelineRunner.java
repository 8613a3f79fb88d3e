package org.prefscore.job;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.udf;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.resource.ResourceProfile;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF2;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.storage.StorageLevel;
import org.prefscore.executor.ExecutorRegistry;
import org.prefscore.job.config.PipelineConfig;
import org.prefscore.job.config.Redactor;
import org.prefscore.job.io.InputReader;
import org.prefscore.job.io.RemoteModels;
import org.prefscore.job.io.RunOutput;
import org.prefscore.job.report.Accounting;
import org.prefscore.job.report.ProgressReporter;
import org.prefscore.job.report.RunManifest;
import org.prefscore.job.report.RunSummary;
import org.prefscore.job.report.StageTimer;
import org.prefscore.method.ConfidenceFilter;
import org.prefscore.method.LikelihoodFilter;
import org.prefscore.method.LogprobNormalization;
import org.prefscore.method.PairFilter;
import org.prefscore.method.PolicyEvaluation;
import org.prefscore.spark.GenerationFunction;
import org.prefscore.spark.GenerationSettings;
import org.prefscore.spark.OutputSchema;
import org.prefscore.spark.PairFilterFunction;
import org.prefscore.spark.PairScoringFunction;
import org.prefscore.spark.PipelineCounters;
import org.prefscore.spark.PromptRenderFunction;
import org.prefscore.spark.SamplingSettings;
import org.prefscore.spark.ScoringSettings;
import org.prefscore.spark.WestOfNGroupFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one validated configuration on a given SparkSession: the stages of its mode as Dataset
 * transformations, the writes, the accounting check and the manifest. Throws on any failure (the
 * entry point turns that into a non-zero exit); never stops the session it was given.
 *
 * <p>Each stage ends in an action on a persisted dataset, so the expensive model stages run once
 * and every stage has a wall time of its own.
 */
public final class PipelineRunner {

  private static final Logger LOG = LoggerFactory.getLogger(PipelineRunner.class);

  /** What a finished run produced. */
  public record RunResult(
      String runId,
      String outputPath,
      ObjectNode manifest,
      String summary,
      Optional<PolicyEvaluation> evaluation) {}

  private final SparkSession spark;
  private final PipelineConfig config;
  private final PrintStream progressOut;
  private final List<Dataset<Row>> persisted = new ArrayList<>();
  private final StageTimer timer = new StageTimer();

  /** The one resource profile of the model stages (generation, scoring); empty: none. */
  private final Optional<ResourceProfile> gpuProfile;

  public PipelineRunner(SparkSession spark, PipelineConfig config, PrintStream progressOut) {
    this.spark = spark;
    this.config = config;
    this.progressOut = progressOut;
    this.gpuProfile = config.runtime().gpuStages().profile();
  }

  public RunResult run() {
    Instant started = Instant.now();
    RunOutput output = new RunOutput(spark, config.outputPath(), config.runId());
    RemoteModels.check(config, spark.sparkContext().hadoopConfiguration());
    PipelineCounters counters = PipelineCounters.register(spark.sparkContext());
    RunManifest manifest =
        new RunManifest(config, output, started, spark.sparkContext().hadoopConfiguration());
    if (gpuProfile.isPresent()) {
      LOG.info(
          "model stages ask for GPUs through resource profile {} ({})",
          gpuProfile.get().id(),
          config.runtime().gpuStages().describe());
    }
    Redactor redactor = config.source().redactor();
    LOG.info(
        "run {} ({}) writing to {}", config.runId(), config.mode(), redactor.redact(output.path()));
    try (ProgressReporter progress =
        new ProgressReporter(
            spark, progressOut, config.progressSeconds(), timer, "prefscore " + config.mode())) {
      progress.start();
      output.clear();
      Optional<PolicyEvaluation> evaluation = Optional.empty();
      List<String> tables;
      long inputRows;
      progress.stage("read");
      Dataset<Row> input = persist(new InputReader(spark, config).read());
      inputRows = input.count();
      manifest.count("input_rows", inputRows);
      progress.stage("prepare");
      Dataset<Row> classified =
          persist(PromptPreparation.apply(input, config.mode(), config.input().responseFormat()));
      classified.count();
      Dataset<Row> prompts = PromptPreparation.prompts(classified);
      Dataset<Row> prepRejects = rejectsOf(classified);
      long promptCount = prompts.count();
      manifest.count(
          config.mode() == Mode.WEST_OF_N ? "prompts_after_prepare" : "tuples_after_prepare",
          promptCount);
      if (config.mode() == Mode.WEST_OF_N) {
        tables = westOfN(prompts, prepRejects, promptCount, output, counters, progress, manifest);
      } else {
        tables =
            scorePairs(prompts, prepRejects, promptCount, output, counters, progress, manifest);
      }
      progress.stage("verify");
      Accounting accounting = Accounting.check(spark, output, inputRows, tables);
      manifest.accounting(accounting);
      manifest.reasonCounts(output, tables.contains("filtered"));
      if (!accounting.holds()) {
        throw new Accounting.AccountingException(
            "nothing-lost identity violated: " + accounting.problem());
      }
      if (config.mode() == Mode.EVALUATE) {
        PolicyEvaluation e = evaluate(output);
        evaluation = Optional.of(e);
        String json = RunManifest.evaluationJson(e, config);
        output.writeText("evaluation.json", json);
        manifest.evaluation(e);
      }
      timer.stop();
      manifest.finish(timer.seconds(), timer.totalSeconds(), counters);
      output.finish(manifest.toJson());
      LOG.info("run {} finished: {}", config.runId(), redactor.redact(output.path()));
      return new RunResult(
          config.runId(),
          output.path(),
          manifest.node(),
          RunSummary.format(manifest.node()),
          evaluation);
    } finally {
      persisted.forEach(Dataset::unpersist);
    }
  }

  private List<String> westOfN(
      Dataset<Row> prompts,
      Dataset<Row> prepRejects,
      long promptCount,
      RunOutput output,
      PipelineCounters counters,
      ProgressReporter progress,
      RunManifest manifest) {
    PipelineConfig.Models models = config.models();
    GenerationSettings generation =
        new GenerationSettings(
            config.decoderSpec(models.policy().orElseThrow()),
            config.rewardSpec(models.reward().orElseThrow()),
            SamplingSettings.of(config.sampling()),
            config.runSeed(),
            config.runtime().tokenBudget(),
            config.runtime().logitsBudgetMb() << 20,
            config.runtime().promptsPerCall(),
            config.refinement(),
            config.templateKwargs(),
            counters,
            config.runtime().placement());
    progress.stage(
        "generate",
        "prompts",
        promptCount,
        ProgressReporter.live(
            counters.promptsGenerated, ExecutorRegistry.instance().progress().prompts),
        ProgressReporter.live(
            counters.generatedTokens, ExecutorRegistry.instance().progress().tokens));
    Dataset<Row> samples =
        persist(
            GpuStages.mapPartitions(
                spark,
                byPrompt(prompts),
                new GenerationFunction(generation),
                OutputSchema.SAMPLES,
                gpuProfile));
    long sampleRows = samples.count();
    Dataset<Row> sampled = samples.filter(col(OutputSchema.REJECT_REASON).isNull());

    progress.stage("select");
    Dataset<Row> selections =
        persist(
            sampled
                .groupByKey(
                    (MapFunction<Row, String>) r -> r.getAs(OutputSchema.PROMPT_ID),
                    Encoders.STRING())
                .flatMapGroups(new WestOfNGroupFunction(), Encoders.row(OutputSchema.PAIR_WORK)));
    long sampledPrompts = selections.count();
    manifest.count("prompts_sampled", sampledPrompts);
    manifest.count("samples", sampleRows - (promptCount - sampledPrompts));

    progress.stage("filter");
    Dataset<Row> selected = selections.filter(col(OutputSchema.REJECT_REASON).isNull());
    long selectedPairs = selected.count();
    manifest.count("pairs_selected", selectedPairs);
    List<PairFilter> filters = filters(selected, selectedPairs, manifest);
    Dataset<Row> judged =
        persist(
            selections.map(new PairFilterFunction(filters), Encoders.row(OutputSchema.PAIR_WORK)));
    Dataset<Row> kept =
        judged.filter(
            col(OutputSchema.FILTER_REASON).isNull().and(col(OutputSchema.REJECT_REASON).isNull()));
    long keptPairs = kept.count();
    manifest.count("pairs_after_filters", keptPairs);

    ScoringSettings scoring = scoringSettings(counters);
    progress.stage(
        "score",
        "pairs",
        keptPairs,
        ProgressReporter.live(counters.pairsScored, ExecutorRegistry.instance().progress().pairs),
        null);
    Dataset<Row> scored =
        persist(
            GpuStages.mapPartitions(
                spark,
                byPrompt(kept),
                new PairScoringFunction(scoring),
                OutputSchema.PAIR_WORK,
                gpuProfile));
    scored.count();

    progress.stage("write");
    output.write("candidates", sampled.select(columns(OutputSchema.CANDIDATES)));
    output.write(
        "pairs",
        scored
            .filter(col(OutputSchema.REJECT_REASON).isNull())
            .select(columns(OutputSchema.PAIRS)));
    output.write(
        "filtered",
        judged
            .filter(col(OutputSchema.FILTER_REASON).isNotNull())
            .select(columns(OutputSchema.FILTERED)));
    output.write(
        "rejects",
        prepRejects
            .unionByName(rejectsOf(samples))
            .unionByName(rejectsOf(judged))
            .unionByName(rejectsOf(scored)));
    return List.of("pairs", "filtered", "rejects");
  }

  private List<String> scorePairs(
      Dataset<Row> tuples,
      Dataset<Row> prepRejects,
      long tupleCount,
      RunOutput output,
      PipelineCounters counters,
      ProgressReporter progress,
      RunManifest manifest) {
    PromptRenderFunction render =
        new PromptRenderFunction(
            config.decoderSpec(config.templateModel()),
            config.refinement(),
            config.runtime().placement(),
            config.templateKwargs());
    progress.stage("render");
    Dataset<Row> rendered =
        persist(byPrompt(tuples).mapPartitions(render, Encoders.row(OutputSchema.PAIR_WORK)));
    rendered.count();
    Dataset<Row> ready = rendered.filter(col(OutputSchema.REJECT_REASON).isNull());
    long readyCount = ready.count();
    progress.stage(
        "score",
        "pairs",
        readyCount,
        ProgressReporter.live(counters.pairsScored, ExecutorRegistry.instance().progress().pairs),
        null);
    Dataset<Row> scored =
        persist(
            GpuStages.mapPartitions(
                spark,
                ready,
                new PairScoringFunction(scoringSettings(counters)),
                OutputSchema.PAIR_WORK,
                gpuProfile));
    scored.count();
    progress.stage("write");
    output.write(
        "pairs",
        scored
            .filter(col(OutputSchema.REJECT_REASON).isNull())
            .select(columns(OutputSchema.PAIRS)));
    output.write(
        "rejects", prepRejects.unionByName(rejectsOf(rendered)).unionByName(rejectsOf(scored)));
    return List.of("pairs", "rejects");
  }

  private ScoringSettings scoringSettings(PipelineCounters counters) {
    PipelineConfig.Models models = config.models();
    return new ScoringSettings(
        config.decoderSpec(models.reference().orElseThrow()),
        models.checkpoint().map(config::decoderSpec).orElse(null),
        config.runtime().tokenBudget(),
        config.runtime().logitsBudgetMb() << 20,
        config.runtime().promptsPerCall(),
        config.margin(),
        counters,
        config.runtime().placement());
  }

  /** Builds the filters; the quantile cuts are global, over every selected pair of the run. */
  private List<PairFilter> filters(Dataset<Row> pairs, long n, RunManifest manifest) {
    List<PairFilter> filters = new ArrayList<>();
    PipelineConfig.Filters f = config.filters();
    if (f.confidenceQuantile().isPresent()) {
      double q = f.confidenceQuantile().get();
      double cut =
          quantile(pairs.select(col(OutputSchema.CONFIDENCE).as("v")), q, f.relativeError());
      manifest.confidenceCut(q, cut, n);
      if (!Double.isNaN(cut)) {
        filters.add(new ConfidenceFilter(cut));
      }
    }
    if (f.likelihoodMode() != PipelineConfig.LikelihoodMode.OFF) {
      double tau = f.likelihoodThreshold();
      if (f.likelihoodMode() == PipelineConfig.LikelihoodMode.QUANTILE) {
        Dataset<Row> pooled =
            pairs
                .select(likelihood("chosen", f.normalization()).as("v"))
                .union(pairs.select(likelihood("rejected", f.normalization()).as("v")));
        tau = quantile(pooled, f.likelihoodQuantile(), f.relativeError());
      }
      manifest.likelihoodCut(tau, 2 * n);
      if (!Double.isNaN(tau)) {
        filters.add(new LikelihoodFilter(tau, f.normalization()));
      }
    }
    return filters;
  }

  /** ℓ(y) of one side's response, computed by {@link LogprobNormalization#of(double, int)}. */
  private static Column likelihood(String side, LogprobNormalization normalization) {
    UserDefinedFunction ell =
        udf((UDF2<Double, Integer, Double>) normalization::of, DataTypes.DoubleType);
    return ell.apply(col("policy_" + side + "_logprob"), col(side + "_tokens"));
  }

  private static double quantile(Dataset<Row> values, double q, double relativeError) {
    double[] r = values.stat().approxQuantile("v", new double[] {q}, relativeError);
    return r == null || r.length == 0 ? Double.NaN : r[0];
  }

  private PolicyEvaluation evaluate(RunOutput output) {
    List<PolicyEvaluation.Observation> observations = new ArrayList<>();
    for (Row r :
        output
            .read("pairs")
            .select(OutputSchema.DPO_MARGIN, OutputSchema.PX_MARGIN, OutputSchema.SCORE_GAP)
            .collectAsList()) {
      observations.add(
          new PolicyEvaluation.Observation(
              r.getDouble(0),
              r.getDouble(1),
              r.isNullAt(2) ? OptionalDouble.empty() : OptionalDouble.of(r.getDouble(2))));
    }
    return PolicyEvaluation.evaluate(observations);
  }

  private static Dataset<Row> rejectsOf(Dataset<Row> work) {
    return work.filter(col(OutputSchema.REJECT_REASON).isNotNull())
        .select(
            col(OutputSchema.INPUT_ROW),
            col(OutputSchema.PROMPT_ID),
            col(OutputSchema.REJECT_STAGE).as(OutputSchema.STAGE),
            col(OutputSchema.REJECT_REASON).as(OutputSchema.REASON_CODE),
            col(OutputSchema.REJECT_DETAIL).as(OutputSchema.DETAIL));
  }

  private static Column[] columns(org.apache.spark.sql.types.StructType schema) {
    return PromptPreparation.columns(schema);
  }

  /**
   * The rows spread over the model stages' partitions by a hash of prompt_id, each partition in
   * (prompt_id, input_row) order. So every task, first attempt or retry, and every rerun with the
   * same partitions, prompts-per-call and token budget, hands the runtime the same batches: the
   * same logits to the last bit, hence the same samples and scores. (Batches made of other rows
   * change the logits in their last float bits, which can flip a near-tie draw.)
   */
  private Dataset<Row> byPrompt(Dataset<Row> rows) {
    return rows.repartition(partitions(), col(OutputSchema.PROMPT_ID))
        .sortWithinPartitions(OutputSchema.PROMPT_ID, OutputSchema.INPUT_ROW);
  }

  private int partitions() {
    return config.partitions() > 0
        ? config.partitions()
        : spark.sparkContext().defaultParallelism();
  }

  private Dataset<Row> persist(Dataset<Row> d) {
    Dataset<Row> p = d.persist(StorageLevel.MEMORY_AND_DISK());
    persisted.add(p);
    return p;
  }
}
