package org.prefscore.job;

import static org.apache.spark.sql.functions.array;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.not;
import static org.apache.spark.sql.functions.struct;
import static org.apache.spark.sql.functions.udf;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import org.apache.hadoop.fs.Path;
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
import org.prefscore.job.config.ConfigKeys;
import org.prefscore.job.config.PipelineConfig;
import org.prefscore.job.config.Redactor;
import org.prefscore.job.config.RunControl;
import org.prefscore.job.io.InputReader;
import org.prefscore.job.io.RemoteModels;
import org.prefscore.job.io.ResumableWork;
import org.prefscore.job.io.RunLease;
import org.prefscore.job.io.RunOutput;
import org.prefscore.job.io.RunRefusedException;
import org.prefscore.job.report.Accounting;
import org.prefscore.job.report.FaultRecord;
import org.prefscore.job.report.OutputCheck;
import org.prefscore.job.report.ProgressReporter;
import org.prefscore.job.report.ProgressSamples;
import org.prefscore.job.report.RunManifest;
import org.prefscore.job.report.RunSummary;
import org.prefscore.job.report.StageTimer;
import org.prefscore.job.report.WorkCounts;
import org.prefscore.job.report.html.RunReport;
import org.prefscore.method.ConfidenceFilter;
import org.prefscore.method.LikelihoodFilter;
import org.prefscore.method.LogprobNormalization;
import org.prefscore.method.PairFilter;
import org.prefscore.method.PolicyEvaluation;
import org.prefscore.runtime.decode.FinishReason;
import org.prefscore.spark.GenerationFunction;
import org.prefscore.spark.GenerationSettings;
import org.prefscore.spark.JudgeSettings;
import org.prefscore.spark.KnockoutFunction;
import org.prefscore.spark.OutputSchema;
import org.prefscore.spark.PairFilterFunction;
import org.prefscore.spark.PairScoringFunction;
import org.prefscore.spark.PipelineCounters;
import org.prefscore.spark.PromptRenderFunction;
import org.prefscore.spark.SamplingSettings;
import org.prefscore.spark.ScoringSettings;
import org.prefscore.spark.TruncatedSamples;
import org.prefscore.spark.WestOfNSelectFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one validated configuration on a given SparkSession: the stages of its mode as Dataset
 * transformations, the writes, the accounting check and the manifest. Throws on any failure (the
 * entry point turns that into a non-zero exit); never stops the session it was given.
 *
 * <p>Each stage ends in an action on a persisted dataset, so the expensive model stages run once
 * and every stage has a wall time of its own.
 *
 * <p>A run holds its run id's {@link RunLease} throughout, writes into a staging folder and
 * publishes at the end ({@link RunOutput}); the model stages persist their partitions as they
 * finish ({@link ResumableWork}), so a resume redoes only what is missing. Every count in the
 * manifest comes from the written tables or from action results ({@link WorkCounts}); Spark's task
 * and executor faults are recorded by {@link FaultRecord}.
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

  /** Rows out of the scoring stage (pairs and score rejects): an action result. */
  private long scoredRows;

  /** Whether this run set spark.sql.shuffle.partitions (and unsets it at the end). */
  private boolean sizedShuffles;

  /** The {@link PlanningSettings} this run set (and unsets at the end). */
  private List<String> plannedSettings = List.of();

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
    RunControl control = config.runControl();
    RunOutput output =
        new RunOutput(
            spark,
            config.outputPath(),
            config.runId(),
            control.commitFor(config.outputPath()),
            config.iteration().round());
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
        "run {} ({}) writing to {} (staging in {} until published)",
        config.runId(),
        config.mode(),
        redactor.redact(output.path()),
        redactor.redact(output.stagingPath()));
    try (RunLease lease =
            RunLease.acquire(
                output.fileSystem(),
                new Path(output.area(), RunLease.FILE),
                config.runId(),
                control.leaseSeconds(),
                output.commit() == RunControl.Commit.MANIFEST);
        ProgressReporter progress =
            new ProgressReporter(
                spark,
                progressOut,
                config.progressSeconds(),
                timer,
                "prefscore " + config.mode())) {
      plannedSettings = PlanningSettings.apply(spark.conf());
      FaultRecord faults = FaultRecord.register(spark, redactor);
      try {
        output.begin();
        RunResult result = stages(output, control, counters, manifest, faults, progress, lease);
        LOG.info("run {} published: {}", config.runId(), redactor.redact(output.path()));
        return result;
      } catch (Throwable e) {
        // Throwable: Spark's actions throw SparkException, checked in Scala's eyes, unseen by
        // javac (precise rethrow keeps this method's signature).
        output.markFailed(redactor.redact(e.toString()));
        throw e;
      } finally {
        faults.unregister(spark);
      }
    } finally {
      persisted.forEach(Dataset::unpersist);
      if (sizedShuffles) {
        spark.conf().unset(ShufflePartitions.PROPERTY);
      }
      PlanningSettings.restore(spark.conf(), plannedSettings);
    }
  }

  /** The stages of the run's mode, the verify stage and the publish; under the run id's lease. */
  private RunResult stages(
      RunOutput output,
      RunControl control,
      PipelineCounters counters,
      RunManifest manifest,
      FaultRecord faults,
      ProgressReporter progress,
      RunLease lease) {
    progress.start();
    Optional<PolicyEvaluation> evaluation = Optional.empty();
    List<String> tables;
    long inputRows;
    progress.stage("read");
    Dataset<Row> input = persist(new InputReader(spark, config).read());
    inputRows = input.count();
    if (inputRows == 0 && !control.allowEmptyInput()) {
      throw new RunRefusedException(
          "the input "
              + config.source().redactor().redact(config.input().path())
              + " holds no rows (no file content, or only blank lines); nothing would be"
              + " generated. Set "
              + ConfigKeys.INPUT_ALLOW_EMPTY.name()
              + "=true to publish an empty run");
    }
    manifest.count("input_rows", inputRows);
    sizeShuffles(inputRows, manifest);
    ResumableWork work =
        ResumableWork.open(
            output,
            config,
            partitions(),
            manifest.node().path("models"),
            spark.sparkContext().hadoopConfiguration(),
            control.resume());
    progress.stage("prepare");
    Dataset<Row> classified =
        persist(
            PromptPreparation.apply(
                input,
                config.mode(),
                config.input().responseFormat(),
                marks -> {
                  Dataset<Row> m = persist(marks);
                  m.count();
                  return m;
                }));
    long promptCount = StageTally.of(classified, StageTally.notRejected(), null).kept();
    Dataset<Row> prompts = PromptPreparation.prompts(classified);
    Dataset<Row> prepRejects = rejectsOf(classified);
    manifest.count(
        config.mode() == Mode.WEST_OF_N ? "prompts_after_prepare" : "tuples_after_prepare",
        promptCount);
    if (config.mode() == Mode.WEST_OF_N) {
      tables =
          westOfN(prompts, prepRejects, promptCount, output, counters, progress, manifest, work);
    } else {
      tables =
          scorePairs(prompts, prepRejects, promptCount, output, counters, progress, manifest, work);
    }
    progress.stage("verify");
    OutputCheck check =
        OutputCheck.of(spark, output, inputRows, tables, config.mode() == Mode.WEST_OF_N);
    Accounting accounting = check.accounting();
    manifest.accounting(accounting);
    manifest.reasonCounts(check, tables.contains("filtered"));
    if (!accounting.holds()) {
      throw new Accounting.AccountingException(
          "nothing-lost identity violated: " + accounting.problem());
    }
    WorkCounts workCounts = workCounts(check);
    LOG.info(
        "exact work counts (from the written tables): generated_tokens {}, reward_texts {},"
            + " sequences_scored {}; the accumulators (approximate: retried and recomputed tasks"
            + " count again, reused partitions not at all) say {}, {}, {}",
        workCounts.generatedTokens(),
        workCounts.rewardTexts(),
        workCounts.sequencesScored(),
        counters.generatedTokens.value(),
        counters.rewardTexts.value(),
        counters.sequencesScored.value());
    if (config.mode() == Mode.EVALUATE) {
      PolicyEvaluation e = evaluate(output);
      evaluation = Optional.of(e);
      String json = RunManifest.evaluationJson(e, config);
      output.writeText("evaluation.json", json);
      manifest.evaluation(e);
    }
    FaultRecord.drain(spark);
    manifest.faults(faults);
    manifest.resume(work.manifestNode());
    ProgressSamples samples = progress.finish();
    timer.stop();
    manifest.finish(timer.seconds(), timer.totalSeconds(), workCounts, counters);
    output.writeText(ProgressSamples.FILE, samples.toJson().toString() + "\n");
    manifest.progressSamples(samples);
    RunReport.writeQuietly(spark, output, manifest.node(), config.source().redactor());
    // Last: the list of every file the run publishes, the report included.
    manifest.files(output.dataFiles(), output.commit().name().toLowerCase(java.util.Locale.ROOT));
    output.publish(manifest.toJson(), lease);
    work.delete();
    return new RunResult(
        config.runId(),
        output.path(),
        manifest.node(),
        RunSummary.format(manifest.node()),
        evaluation);
  }

  /**
   * The manifest's work figures, counted on the staged tables ({@link OutputCheck}) and the scoring
   * stage's action result ({@link WorkCounts}).
   */
  private WorkCounts workCounts(OutputCheck check) {
    int models = config.models().checkpoint().isPresent() ? 2 : 1;
    return new WorkCounts(
        check.generatedTokens(),
        check.candidates(),
        4L * scoredRows * models,
        check.prefixMismatchPairs());
  }

  private List<String> westOfN(
      Dataset<Row> prompts,
      Dataset<Row> prepRejects,
      long promptCount,
      RunOutput output,
      PipelineCounters counters,
      ProgressReporter progress,
      RunManifest manifest,
      ResumableWork work) {
    // Iterative West-of-N: the base pairs are read and checked before any model work.
    Optional<IterativeMix> mix =
        config
            .iteration()
            .basePreferences()
            .map(p -> IterativeMix.read(spark, config, p, this::persist));
    GenerationSettings generation =
        new GenerationSettings(
            config.spec(ConfigKeys.MODEL_POLICY),
            config.teacher().pairwise() ? null : config.spec(ConfigKeys.MODEL_REWARD),
            SamplingSettings.of(config.sampling()),
            config.runSeed(),
            config.runtime().tokenBudget(),
            config.runtime().logitsBudgetMb() << 20,
            config.runtime().promptsPerCall(),
            config.refinement(),
            config.templateKwargs(),
            counters,
            config.runtime().placement(),
            config.pairOptions().format(),
            config.runtime().decodeLanes(),
            config.runtime().samplingHead());
    progress.stage(
        "generate",
        "prompts",
        promptCount,
        ProgressReporter.live(
            counters.promptsGenerated, ExecutorRegistry.instance().progress().prompts),
        ProgressReporter.live(
            counters.generatedTokens, ExecutorRegistry.instance().progress().tokens));
    ResumableWork.Stage generate = work.stage("generate");
    Dataset<Row> samples =
        persist(
            GpuStages.mapPartitions(
                spark,
                byPrompt(prompts),
                generate.wrap(new GenerationFunction(generation)),
                OutputSchema.SAMPLES,
                gpuProfile));
    StageTally sampleTally =
        StageTally.of(samples, StageTally.notRejected(), col(OutputSchema.FINISH_REASON));
    long sampleRows = sampleTally.rows();
    Dataset<Row> sampled = samples.filter(col(OutputSchema.REJECT_REASON).isNull());
    generate.record("samples", sampleTally.keptByPartition(), partitions());
    finishReasons(sampleTally.keptByValue(), manifest);

    Dataset<Row> selections;
    ResumableWork.Stage knockout = null;
    if (config.teacher().pairwise()) {
      knockout = work.stage("knockout");
      selections = persist(knockouts(sampled, counters, progress, knockout));
    } else {
      progress.stage("select");
      // Where the samples are: generation drew all N of a prompt in one task (no shuffle).
      selections =
          persist(
              sampled.mapPartitions(
                  new WestOfNSelectFunction(config.pairOptions().truncated()),
                  Encoders.row(OutputSchema.PAIR_WORK)));
    }
    StageTally selectionTally = StageTally.of(selections, StageTally.notRejected(), null);
    long sampledPrompts = selectionTally.rows();
    if (knockout != null) {
      knockout.record("prompts", selectionTally.rowsByPartition(), partitions());
    }
    if (config.teacher().pairwise()) {
      manifest.knockout(selections, counters);
    }
    manifest.count("prompts_sampled", sampledPrompts);
    manifest.count("samples", sampleRows - (promptCount - sampledPrompts));

    progress.stage("filter");
    Dataset<Row> selected = selections.filter(col(OutputSchema.REJECT_REASON).isNull());
    long selectedPairs = selectionTally.kept();
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
        ProgressReporter.live(
            counters.scoredTokens, ExecutorRegistry.instance().progress().scoredTokens));
    ResumableWork.Stage score = work.stage("score");
    // The kept pairs are still on generation's partitions, in its order: what byPrompt would
    // give them (the same hash of prompt_id, the same partition count, one pair per prompt in
    // prompt_id order), so scoring sees the batches it always saw, and x and p ⊕ x are not
    // shuffled again.
    Dataset<Row> scored =
        persist(
            GpuStages.mapPartitions(
                spark,
                kept,
                score.wrap(new PairScoringFunction(scoring)),
                OutputSchema.PAIR_WORK,
                gpuProfile));
    StageTally scoreTally = StageTally.of(scored);
    scoredRows = scoreTally.rows();
    score.record("pairs", scoreTally.rowsByPartition(), partitions());

    progress.stage("write");
    Dataset<Row> scoredPairs = scored.filter(col(OutputSchema.REJECT_REASON).isNull());
    Column conversational =
        col(OutputSchema.RESPONSE_FORMAT)
            .eqNullSafe(lit(OutputSchema.RESPONSE_FORMAT_CONVERSATIONAL));
    Map<String, Dataset<Row>> tables = new LinkedHashMap<>();
    tables.put("candidates", sampled.select(columns(OutputSchema.CANDIDATES)));
    tables.put(
        "pairs", scoredPairs.filter(not(conversational)).select(columns(OutputSchema.PAIRS)));
    tables.put(
        "pairs_conversational", scoredPairs.filter(conversational).select(conversationalColumns()));
    tables.put(
        "filtered",
        judged
            .filter(col(OutputSchema.FILTER_REASON).isNotNull())
            .select(columns(OutputSchema.FILTERED)));
    tables.put(
        "rejects",
        rejectsTable(prepRejects, rejectsOf(samples), rejectsOf(judged), rejectsOf(scored)));
    output.writeAll(tables);
    // The mix reads the pairs tables as written.
    if (mix.isPresent()) {
      manifest.mix(mix.get().write(output));
    }
    return List.of("pairs", "pairs_conversational", "filtered", "rejects");
  }

  /**
   * Samples per finish reason ({@code counts.samples_by_finish_reason}) and, with {@code
   * selection.truncated=exclude}, how many were left out of selection for stopping at
   * max-new-tokens ({@code counts.samples_excluded_by_reason}).
   */
  private void finishReasons(Map<String, Long> byReason, RunManifest manifest) {
    manifest.counts("samples_by_finish_reason", byReason);
    long truncated = byReason.getOrDefault(FinishReason.LENGTH.name(), 0L);
    manifest.counts(
        "samples_excluded_by_reason",
        config.pairOptions().truncated() == TruncatedSamples.EXCLUDE && truncated > 0
            ? java.util.Map.of(FinishReason.LENGTH.name(), truncated)
            : java.util.Map.of());
  }

  /**
   * The columns of {@link OutputSchema#PAIRS_CONVERSATIONAL} from a scored pair: the conversation
   * as {@code prompt}, each response as one assistant turn.
   */
  private static Column[] conversationalColumns() {
    List<Column> out = new ArrayList<>();
    for (String name : OutputSchema.PAIRS_CONVERSATIONAL.fieldNames()) {
      out.add(
          switch (name) {
            case OutputSchema.PROMPT -> col(OutputSchema.MESSAGES).as(name);
            case OutputSchema.CHOSEN, OutputSchema.REJECTED ->
                array(struct(lit("assistant").as("role"), col(name).as("content"))).as(name);
            default -> col(name);
          });
    }
    return out.toArray(Column[]::new);
  }

  /**
   * West-of-N step 3 with a pairwise teacher, on generation's partitions (all N samples of a prompt
   * are there, grouped by prompt in prompt_id order): {@link KnockoutFunction} plays every prompt's
   * knockouts of a partition together, one batch of teacher calls per round (a model stage,
   * persisted per partition for --resume: the partitioning is the model stages' own).
   */
  private Dataset<Row> knockouts(
      Dataset<Row> sampled,
      PipelineCounters counters,
      ProgressReporter progress,
      ResumableWork.Stage checkpoint) {
    JudgeSettings judge =
        new JudgeSettings(
            config.teacherSpec(),
            config.teacher().prompt(),
            config.runSeed(),
            config.runtime().tokenBudget(),
            counters,
            config.runtime().placement());
    progress.stage(
        "select",
        "prompts",
        -1,
        ProgressReporter.live(
            counters.promptsJudged, ExecutorRegistry.instance().progress().prompts),
        null);
    return GpuStages.mapPartitions(
        spark,
        sampled,
        checkpoint.wrap(new KnockoutFunction(judge, config.pairOptions().truncated())),
        OutputSchema.PAIR_WORK,
        gpuProfile);
  }

  private List<String> scorePairs(
      Dataset<Row> tuples,
      Dataset<Row> prepRejects,
      long tupleCount,
      RunOutput output,
      PipelineCounters counters,
      ProgressReporter progress,
      RunManifest manifest,
      ResumableWork work) {
    PromptRenderFunction render =
        new PromptRenderFunction(
            config.spec(config.templateModelKey()),
            config.refinement(),
            config.runtime().placement(),
            config.templateKwargs());
    progress.stage("render");
    Dataset<Row> rendered =
        persist(byPrompt(tuples).mapPartitions(render, Encoders.row(OutputSchema.PAIR_WORK)));
    long readyCount = StageTally.of(rendered, StageTally.notRejected(), null).kept();
    Dataset<Row> ready = rendered.filter(col(OutputSchema.REJECT_REASON).isNull());
    progress.stage(
        "score",
        "pairs",
        readyCount,
        ProgressReporter.live(counters.pairsScored, ExecutorRegistry.instance().progress().pairs),
        ProgressReporter.live(
            counters.scoredTokens, ExecutorRegistry.instance().progress().scoredTokens));
    ResumableWork.Stage score = work.stage("score");
    Dataset<Row> scored =
        persist(
            GpuStages.mapPartitions(
                spark,
                ready,
                score.wrap(new PairScoringFunction(scoringSettings(counters))),
                OutputSchema.PAIR_WORK,
                gpuProfile));
    StageTally scoreTally = StageTally.of(scored);
    scoredRows = scoreTally.rows();
    score.record("pairs", scoreTally.rowsByPartition(), partitions());
    progress.stage("write");
    Map<String, Dataset<Row>> tables = new LinkedHashMap<>();
    tables.put(
        "pairs",
        scored
            .filter(col(OutputSchema.REJECT_REASON).isNull())
            .select(columns(OutputSchema.PAIRS)));
    tables.put("rejects", rejectsTable(prepRejects, rejectsOf(rendered), rejectsOf(scored)));
    output.writeAll(tables);
    return List.of("pairs", "rejects");
  }

  private ScoringSettings scoringSettings(PipelineCounters counters) {
    PipelineConfig.Models models = config.models();
    return new ScoringSettings(
        config.spec(ConfigKeys.MODEL_REFERENCE),
        models.checkpoint().isPresent() ? config.spec(ConfigKeys.MODEL_CHECKPOINT) : null,
        config.runtime().tokenBudget(),
        config.runtime().logitsBudgetMb() << 20,
        config.runtime().promptsPerCall(),
        config.margin(),
        counters,
        config.runtime().placement(),
        config.refinement(),
        config.templateKwargs());
  }

  /**
   * Builds the filters; the quantile cuts are global, over every selected pair of the run. With
   * both cuts quantiles, one Spark job computes them ({@link #quantileCuts}).
   */
  private List<PairFilter> filters(Dataset<Row> pairs, long n, RunManifest manifest) {
    List<PairFilter> filters = new ArrayList<>();
    PipelineConfig.Filters f = config.filters();
    boolean likelihoodQuantile = f.likelihoodMode() == PipelineConfig.LikelihoodMode.QUANTILE;
    double[] cuts =
        f.confidenceQuantile().isPresent() && likelihoodQuantile ? quantileCuts(pairs, f) : null;
    if (f.confidenceQuantile().isPresent()) {
      double q = f.confidenceQuantile().get();
      double cut =
          cuts != null
              ? cuts[0]
              : quantile(pairs.select(col(OutputSchema.CONFIDENCE).as("v")), q, f.relativeError());
      manifest.confidenceCut(q, cut, n);
      if (!Double.isNaN(cut)) {
        filters.add(new ConfidenceFilter(cut));
      }
    }
    if (f.likelihoodMode() != PipelineConfig.LikelihoodMode.OFF) {
      double tau = f.likelihoodThreshold();
      if (likelihoodQuantile) {
        tau =
            cuts != null
                ? cuts[1]
                : quantile(
                    pairs
                        .select(likelihood("chosen", f.normalization()).as("v"))
                        .union(pairs.select(likelihood("rejected", f.normalization()).as("v"))),
                    f.likelihoodQuantile(),
                    f.relativeError());
      }
      manifest.likelihoodCut(tau, 2 * n);
      if (!Double.isNaN(tau)) {
        filters.add(new LikelihoodFilter(tau, f.normalization()));
      }
    }
    return filters;
  }

  /**
   * The confidence cut and the likelihood cut in one Spark job: the pairs' chosen likelihoods, then
   * their rejected ones, in column {@code l} (the pool), the confidences in column {@code c} beside
   * the first half (null beside the second: the quantiles skip nulls). Each column's summaries are
   * built from the same partitions, rows in the same order, as a job of its own would build them
   * (the confidences on the pairs' partitions, the pool on those partitions twice over), so the
   * cuts are the values two jobs give.
   *
   * @return the confidence cut and the likelihood cut; NaN where there are no values
   */
  private static double[] quantileCuts(Dataset<Row> pairs, PipelineConfig.Filters f) {
    Dataset<Row> values =
        pairs
            .select(
                col(OutputSchema.CONFIDENCE).cast(DataTypes.DoubleType).as("c"),
                likelihood("chosen", f.normalization()).as("l"))
            .union(
                pairs.select(
                    lit(null).cast(DataTypes.DoubleType).as("c"),
                    likelihood("rejected", f.normalization()).as("l")));
    double[][] r =
        values
            .stat()
            .approxQuantile(
                new String[] {"c", "l"},
                new double[] {f.confidenceQuantile().get(), f.likelihoodQuantile()},
                f.relativeError());
    return new double[] {
      r[0].length == 0 ? Double.NaN : r[0][0], r[1].length == 0 ? Double.NaN : r[1][1]
    };
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

  /**
   * The rejects table: every stage's rejects, on as many partitions as the model stages use. A
   * plain union keeps each part's partitions (four stages' worth), so it wrote that many small
   * files and ran that many write tasks for what is usually a handful of rows; coalescing (no
   * shuffle) reads several cached partitions per task instead.
   */
  @SafeVarargs
  private Dataset<Row> rejectsTable(Dataset<Row> first, Dataset<Row>... rest) {
    Dataset<Row> all = first;
    for (Dataset<Row> d : rest) {
      all = all.unionByName(d);
    }
    return all.coalesce(partitions());
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

  /**
   * Sizes {@code spark.sql.shuffle.partitions} to the data ({@link ShufflePartitions}) when the run
   * does not set it (through {@code spark.conf.spark.sql.shuffle.partitions}, {@code spark-submit
   * --conf} or spark-defaults), for the rest of this run; the session gets its setting back at the
   * end. The manifest records the value the shuffles ran with.
   */
  private void sizeShuffles(long inputRows, RunManifest manifest) {
    if (spark.conf().contains(ShufflePartitions.PROPERTY)) {
      try {
        manifest.shufflePartitions(
            Integer.parseInt(spark.conf().get(ShufflePartitions.PROPERTY).trim()), false);
      } catch (NumberFormatException e) {
        // Spark itself refuses the value when it plans the first shuffle.
      }
      return;
    }
    long rows =
        config.mode() == Mode.WEST_OF_N
            ? inputRows * Math.max(1, config.sampling().samplesPerPrompt())
            : inputRows;
    int partitions = ShufflePartitions.forRows(rows, spark.sparkContext().defaultParallelism());
    spark.conf().set(ShufflePartitions.PROPERTY, Integer.toString(partitions));
    sizedShuffles = true;
    manifest.shufflePartitions(partitions, true);
    LOG.info(
        "{} not set: {} shuffle partitions for {} rows ({})",
        ShufflePartitions.PROPERTY,
        partitions,
        rows,
        config.mode() == Mode.WEST_OF_N ? "input rows × sampling.n" : "input rows");
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
