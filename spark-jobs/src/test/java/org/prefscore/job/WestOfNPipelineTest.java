package org.prefscore.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.prefscore.executor.ExecutorRegistry;
import org.prefscore.job.config.ConfigException;
import org.prefscore.job.config.RunControl;
import org.prefscore.job.io.ModelFingerprint;
import org.prefscore.job.io.RunOutput;
import org.prefscore.method.Logistic;
import org.prefscore.runtime.score.SequenceScorer;
import org.prefscore.spark.OutputSchema;

/**
 * west-of-n end to end on local[2] with the fixture models, on input with deliberately bad rows;
 * outputs are read back by DuckDB, an engine independent of Spark.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WestOfNPipelineTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String LONG_PROMPT =
      "Repeat after me: " + "the quick brown fox jumps over the lazy dog ".repeat(40);

  /** One input line and the reject reason it must end in (null: a pair or a filtered pair). */
  private record Line(String json, String reason) {}

  private static final List<Line> LINES =
      List.of(
          new Line("{\"prompt\": \"Explain why the sky is blue.\"}", null),
          new Line("{\"prompt\": \"Write a haiku about rain.\"}", null),
          new Line("", null), // blank: Spark skips it, it is not a row
          new Line("{\"prompt\": \"\"}", "EMPTY_PROMPT"),
          new Line("{\"prompt\": null}", "EMPTY_PROMPT"),
          new Line("{\"other\": 1}", "EMPTY_PROMPT"),
          new Line("{\"prompt\": \" \\t \"}", "EMPTY_PROMPT"),
          new Line("{\"prompt\": \"Give three tips for studying.\"}", null),
          new Line("{\"prompt\": \"Explain why the sky is blue.\"}", "DUPLICATE_PROMPT"),
          new Line("{\"prompt\": \"  Write a haiku about rain.\\n\"}", "DUPLICATE_PROMPT"),
          new Line("{\"prompt\": \"Write a haiku ab", "MALFORMED_RECORD"),
          new Line("not json at all", "MALFORMED_RECORD"),
          new Line("{\"messages\": \"should be an array\"}", "INVALID_MESSAGES"),
          new Line(JSON_STRING("prompt", LONG_PROMPT), "PROMPT_TOO_LONG"),
          new Line(
              "{\"messages\": [{\"role\": \"user\", \"content\": \"Tell me a fact about octopuses.\"}]}",
              null),
          new Line(
              "{\"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"}, {\"role\": \"user\", \"content\": \"What is an API?\"}]}",
              null),
          new Line("{\"messages\": [{\"role\": \"user\", \"content\": \"   \"}]}", "EMPTY_PROMPT"),
          new Line("{\"prompt\": \"What causes the seasons?\"}", null),
          new Line("{\"prompt\": \"Suggest a name for a bakery.\"}", null),
          new Line("{\"prompt\": \"How do bees make honey?\"}", null),
          new Line("{\"prompt\": \"List five uses for a paperclip.\"}", null),
          new Line("{\"prompt\": \"Why is the ocean salty?\"}", null),
          new Line("{\"prompt\": \"Describe the water cycle.\"}", null),
          new Line("{\"prompt\": \"What is photosynthesis?\"}", null),
          new Line("{\"prompt\": \"Write a limerick about a robot.\"}", null),
          new Line("{\"prompt\": \"How does a binary search work?\"}", null));

  private static String JSON_STRING(String key, String value) {
    try {
      return JSON.writeValueAsString(Map.of(key, value));
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  @TempDir static Path tmp;
  private SparkSession spark;
  private TestSupport.Run run;
  private String runDir;
  private Path input;
  private final Map<Long, String> expectedRejects = new HashMap<>();
  private long rows;

  @BeforeAll
  void runPipeline() throws IOException {
    spark = TestSupport.localSpark("west-of-n-test");
    input = tmp.resolve("prompts.jsonl");
    List<String> text = new ArrayList<>();
    long row = 0;
    for (Line l : LINES) {
      text.add(l.json());
      if (!l.json().isEmpty()) {
        if (l.reason() != null) {
          expectedRejects.put(row, l.reason());
        }
        row++;
      }
    }
    rows = row;
    Files.write(input, text, StandardCharsets.UTF_8);
    run = TestSupport.run(spark, runArgs("r1", "progress.interval-seconds=1"));
    runDir = run.result().outputPath();
  }

  /**
   * The command line of this class's west-of-n runs: the input, the fixture models and the settings
   * every run shares, then {@code extra} (key=value each).
   */
  private String[] runArgs(String runId, String... extra) {
    List<String> sets =
        new ArrayList<>(
            List.of(
                "input.path=" + input,
                "output.path=" + tmp.resolve("out"),
                "run.id=" + runId,
                "models.policy=" + TestSupport.model("tiny-llama"),
                "models.reward=" + TestSupport.model("tiny-reward"),
                "sampling.n=4",
                "sampling.temperature=1.0",
                "sampling.max-new-tokens=8",
                "selection.truncated=keep",
                "filter.confidence.quantile=0.5",
                "filter.quantile.relative-error=0",
                "filter.likelihood.mode=quantile",
                "filter.likelihood.quantile=0.1",
                "filter.likelihood.normalization=per-token"));
    sets.addAll(List.of(extra));
    List<String> args = new ArrayList<>(List.of("west-of-n"));
    for (String set : sets) {
      args.add("--set");
      args.add(set);
    }
    return args.toArray(String[]::new);
  }

  @AfterAll
  void stop() {
    spark.stop();
  }

  private String table(String name) {
    return TestSupport.parquet(runDir, name);
  }

  @Test
  void everyInputRowEndsInExactlyOneOutput() {
    List<Map<String, Object>> r =
        TestSupport.duckdb(
            "SELECT count(*) AS n, count(DISTINCT input_row) AS d, "
                + "min(input_row) AS lo, max(input_row) AS hi FROM (SELECT input_row FROM "
                + table("pairs")
                + " UNION ALL SELECT input_row FROM "
                + table("pairs_conversational")
                + " UNION ALL SELECT input_row FROM "
                + table("filtered")
                + " UNION ALL SELECT input_row FROM "
                + table("rejects")
                + ")");
    assertThat(TestSupport.asLong(r.get(0).get("n"))).isEqualTo(rows);
    assertThat(TestSupport.asLong(r.get(0).get("d"))).isEqualTo(rows);
    assertThat(TestSupport.asLong(r.get(0).get("lo"))).isZero();
    assertThat(TestSupport.asLong(r.get(0).get("hi"))).isEqualTo(rows - 1);
    JsonNode acc = run.result().manifest().path("accounting");
    assertThat(acc.path("holds").asBoolean()).isTrue();
    assertThat(acc.path("input_rows").asLong()).isEqualTo(rows);
    assertThat(
            acc.path("pairs").asLong()
                + acc.path("pairs_conversational").asLong()
                + acc.path("filtered").asLong()
                + acc.path("rejects").asLong())
        .isEqualTo(rows);
  }

  @Test
  void badRowsBecomeRejectsWithTheirReasons() {
    Map<Long, String> actual = new HashMap<>();
    for (Map<String, Object> r :
        TestSupport.duckdb(
            "SELECT input_row, reason_code, detail, prompt_id FROM " + table("rejects"))) {
      actual.put(TestSupport.asLong(r.get("input_row")), (String) r.get("reason_code"));
      if (r.get("reason_code").equals("DUPLICATE_PROMPT")) {
        String kept =
            PromptIdentity.id("Explain why the sky is blue.").equals(r.get("prompt_id"))
                ? "0"
                : "1";
        assertThat((String) r.get("detail"))
            .contains("kept prompt_id " + r.get("prompt_id"))
            .contains("input_row " + kept);
      }
    }
    assertThat(actual).isEqualTo(expectedRejects);
  }

  @Test
  void duckDbReadsEveryTableWithTheDocumentedSchema() {
    OutputSchema.outputs()
        .forEach(
            (name, schema) -> {
              if (OutputSchema.MIX_TABLES.contains(name)) {
                // Only with mix.base-preferences (IterativeMixPipelineTest reads them).
                assertThat(Path.of(runDir.replaceFirst("^file:", ""), name)).doesNotExist();
              } else {
                DuckDbSchema.assertMatches(runDir, name, schema);
              }
            });
  }

  @Test
  void chosenIsTheBestAndRejectedTheWorstDistinctSample() {
    List<Map<String, Object>> rows =
        TestSupport.duckdb(
            "WITH p AS (SELECT prompt_id, reward_chosen, reward_rejected, confidence, chosen, rejected FROM "
                + table("pairs")
                + " UNION ALL SELECT prompt_id, reward_chosen, reward_rejected, confidence, chosen, rejected FROM "
                + table("filtered")
                + "),"
                + " c AS (SELECT prompt_id, max(reward) AS best, min(reward) AS worst FROM "
                + table("candidates")
                + " GROUP BY prompt_id)"
                + " SELECT * FROM p JOIN c USING (prompt_id)");
    assertThat(rows).hasSizeGreaterThanOrEqualTo(10);
    for (Map<String, Object> r : rows) {
      double chosen = TestSupport.asDouble(r.get("reward_chosen"));
      double rejected = TestSupport.asDouble(r.get("reward_rejected"));
      assertThat(chosen).isGreaterThan(rejected).isEqualTo(TestSupport.asDouble(r.get("best")));
      assertThat(rejected).isEqualTo(TestSupport.asDouble(r.get("worst")));
      assertThat(TestSupport.asDouble(r.get("confidence")))
          .isCloseTo(Logistic.sigmoid(chosen - rejected), within(1e-12));
      assertThat(r.get("chosen")).isNotEqualTo(r.get("rejected"));
    }
  }

  @Test
  void confidenceFilterKeepsPairsAtOrAboveTheGlobalQuantile() {
    JsonNode q = run.result().manifest().path("quantiles").path("confidence");
    double cut = q.path("cut").asDouble();
    long population = q.path("population").asLong();
    List<Double> all = new ArrayList<>();
    for (Map<String, Object> r :
        TestSupport.duckdb(
            "SELECT confidence FROM "
                + table("pairs")
                + " UNION ALL SELECT confidence FROM "
                + table("filtered")
                + " ORDER BY confidence")) {
      all.add(TestSupport.asDouble(r.get("confidence")));
    }
    assertThat(all).hasSize((int) population);
    // relative error 0: the cut is the exact inverse-CDF quantile (rank ceil(q n)).
    assertThat(cut).isEqualTo(all.get((int) Math.ceil(0.5 * population) - 1));
    for (Map<String, Object> r : TestSupport.duckdb("SELECT confidence FROM " + table("pairs"))) {
      assertThat(TestSupport.asDouble(r.get("confidence"))).isGreaterThanOrEqualTo(cut);
    }
    long low =
        TestSupport.asLong(
            TestSupport.duckdb(
                    "SELECT count(*) AS n FROM "
                        + table("filtered")
                        + " WHERE filter_reason = 'LOW_CONFIDENCE'")
                .get(0)
                .get("n"));
    long below = all.stream().filter(c -> c < cut).count();
    assertThat(low).isEqualTo(below);
    // fewer than q·n are dropped, and with distinct values exactly n - ceil(q n) + 1 are kept
    assertThat((double) low).isLessThan(0.5 * population);
    assertThat(population - low)
        .isGreaterThanOrEqualTo(population - (long) Math.ceil(0.5 * population) + 1);
  }

  @Test
  void likelihoodFilterDropsOnlyPairsBelowTau() {
    double tau =
        run.result().manifest().path("quantiles").path("likelihood").path("threshold").asDouble();
    for (Map<String, Object> r :
        TestSupport.duckdb(
            "SELECT policy_chosen_logprob / greatest(chosen_tokens, 1) AS c, "
                + "policy_rejected_logprob / greatest(rejected_tokens, 1) AS r FROM "
                + table("pairs"))) {
      assertThat(TestSupport.asDouble(r.get("c"))).isGreaterThanOrEqualTo(tau);
      assertThat(TestSupport.asDouble(r.get("r"))).isGreaterThanOrEqualTo(tau);
    }
    for (Map<String, Object> r :
        TestSupport.duckdb(
            "SELECT least(policy_chosen_logprob / greatest(chosen_tokens, 1), "
                + "policy_rejected_logprob / greatest(rejected_tokens, 1)) AS m FROM "
                + table("filtered")
                + " WHERE filter_reason = 'LOW_LIKELIHOOD'")) {
      assertThat(TestSupport.asDouble(r.get("m"))).isLessThan(tau);
    }
  }

  @Test
  void srDpoTermsAreTheReferenceModelsTrlLogprobs() {
    List<Map<String, Object>> pairs =
        TestSupport.duckdb("SELECT * FROM " + table("pairs") + " ORDER BY input_row");
    assertThat(pairs).isNotEmpty();
    SequenceScorer scorer =
        new SequenceScorer(
            ExecutorRegistry.instance()
                .decoder(
                    org.prefscore.runtime.ModelSpec.decoder(
                        TestSupport.model("tiny-llama"),
                        org.prefscore.runtime.EngineOptions.cpu(1))),
            4096);
    Map<String, Object> p = pairs.get(0);
    List<SequenceScorer.Result> direct =
        scorer.score(
            List.of(
                SequenceScorer.Request.of((String) p.get("prompt"), (String) p.get("chosen")),
                SequenceScorer.Request.of((String) p.get("prompt"), (String) p.get("rejected")),
                SequenceScorer.Request.of((String) p.get("px_prompt"), (String) p.get("chosen"))),
            false);
    assertThat(TestSupport.asDouble(p.get("ref_chosen_logps")))
        .isCloseTo(
            direct.get(0).logprob(),
            within(org.prefscore.testing.Fixtures.logprobTolerance(direct.get(0).logprob())));
    assertThat(TestSupport.asDouble(p.get("ref_rejected_logps")))
        .isCloseTo(
            direct.get(1).logprob(),
            within(org.prefscore.testing.Fixtures.logprobTolerance(direct.get(1).logprob())));
    assertThat(TestSupport.asDouble(p.get("ref_chosen_logps_px")))
        .isCloseTo(
            direct.get(2).logprob(),
            within(org.prefscore.testing.Fixtures.logprobTolerance(direct.get(2).logprob())));
    assertThat((String) p.get("px_prompt"))
        .startsWith("Please generate a response with a usefulness rating of 100");
    for (Map<String, Object> r : pairs) {
      assertThat(r.get("policy_terms")).isEqualTo("reference");
      assertThat(r.get("ckpt_chosen_logps")).isNull();
      assertThat(TestSupport.asDouble(r.get("dpo_margin"))).isZero();
      assertThat(TestSupport.asDouble(r.get("refinement"))).isZero();
      assertThat(TestSupport.asDouble(r.get("sr_dpo_loss"))).isCloseTo(Math.log(2), within(1e-12));
    }
    assertThat(run.result().manifest().path("policy_terms").path("source").asText())
        .isEqualTo("reference");
  }

  @Test
  void chatPromptsAreRenderedWithThePolicyTemplate() {
    List<Map<String, Object>> r =
        TestSupport.duckdb(
            "SELECT prompt, px_prompt FROM "
                + table("pairs")
                + " WHERE prompt LIKE '%octopuses%' UNION ALL SELECT prompt, px_prompt FROM "
                + table("filtered")
                + " WHERE prompt LIKE '%octopuses%'");
    assertThat(r).hasSize(1);
    String prompt = (String) r.get(0).get("prompt");
    assertThat(prompt)
        .startsWith(
            "<s><|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n")
        .endsWith("<|im_start|>assistant\n");
    assertThat((String) r.get(0).get("px_prompt"))
        .contains("<|im_start|>user\nPlease generate a response")
        .contains("Query: Tell me a fact about octopuses.");
  }

  @Test
  void manifestAndSuccessMarkerCompleteTheRun() throws IOException {
    Path dir = Path.of(java.net.URI.create(runDir));
    assertThat(dir.resolve("_SUCCESS")).exists();
    JsonNode m = JSON.readTree(dir.resolve("manifest.json").toFile());
    assertThat(m.path("status").asText()).isEqualTo("SUCCEEDED");
    assertThat(m.path("models").path("policy").path("model_onnx_sha256").asText())
        .isEqualTo(ModelFingerprint.sha256(Path.of(TestSupport.model("tiny-llama"), "model.onnx")));
    assertThat(m.path("quantiles").path("method").asText()).contains("Greenwald-Khanna");
    assertThat(
            m.path("counts")
                .path("rejects_by_stage_and_reason")
                .path("read")
                .path("MALFORMED_RECORD")
                .asLong())
        .isEqualTo(2);
    assertThat(m.path("timings_seconds").path("generate").asDouble()).isPositive();
    assertThat(m.path("throughput").path("generated_tokens").asLong()).isPositive();
    assertThat(run.out()).contains("pairs kept").contains("accounting").contains("holds");
    assertThat(run.err()).contains("[prefscore west-of-n]");
  }

  @Test
  void decodeLanesGiveTheSameSamples() {
    // Three pieces of each batch decoded at once: other batch mates and padding, so the engine's
    // float32 logits differ in their last bits (summed log-probs by up to ~1e-4 over a sample),
    // but no draw of the fixture flips.
    TestSupport.Run lanes =
        TestSupport.run(
            spark, runArgs("r1-lanes", "progress.interval-seconds=0", "runtime.decode-lanes=3"));
    List<Map<String, Object>> candidates =
        TestSupport.duckdb(
            "SELECT count(*) AS n, count(*) FILTER (WHERE a.text = b.text"
                + " AND abs(a.policy_logprob - b.policy_logprob) < 1e-4"
                + " AND abs(a.reward - b.reward) < 1e-6) AS same FROM "
                + table("candidates")
                + " a JOIN "
                + TestSupport.parquet(lanes.result().outputPath(), "candidates")
                + " b USING (prompt_id, sample_index, seed)");
    long total =
        TestSupport.asLong(
            TestSupport.duckdb("SELECT count(*) AS n FROM " + table("candidates")).get(0).get("n"));
    assertThat(TestSupport.asLong(candidates.get(0).get("n"))).isEqualTo(total).isPositive();
    assertThat(TestSupport.asLong(candidates.get(0).get("same"))).isEqualTo(total);
  }

  @Test
  void aRerunWithAnotherUpstreamLayoutReproducesEverySampleAndScoreBitForBit() {
    // Another shuffle layout upstream (prepare's windows) reaches the model stages in another
    // order; the model stages re-partition by prompt_id and sort, so the batches, and with them
    // every logit, are the same.
    String before = spark.conf().get("spark.sql.shuffle.partitions");
    spark.conf().set("spark.sql.shuffle.partitions", "5");
    TestSupport.Run again;
    try {
      again = TestSupport.run(spark, runArgs("r1-again", "progress.interval-seconds=0"));
    } finally {
      spark.conf().set("spark.sql.shuffle.partitions", before);
    }
    String other = again.result().outputPath();
    List<Map<String, Object>> candidates =
        TestSupport.duckdb(
            "SELECT count(*) AS n, "
                + "count(*) FILTER (WHERE a.text = b.text AND a.policy_logprob = b.policy_logprob"
                + " AND a.sampling_logprob = b.sampling_logprob AND a.reward = b.reward) AS same FROM "
                + table("candidates")
                + " a JOIN "
                + TestSupport.parquet(other, "candidates")
                + " b USING (prompt_id, sample_index)");
    long total =
        TestSupport.asLong(
            TestSupport.duckdb("SELECT count(*) AS n FROM " + table("candidates")).get(0).get("n"));
    assertThat(TestSupport.asLong(candidates.get(0).get("n"))).isEqualTo(total).isPositive();
    assertThat(TestSupport.asLong(candidates.get(0).get("same"))).isEqualTo(total);
    List<Map<String, Object>> pairs =
        TestSupport.duckdb(
            "SELECT count(*) AS n, "
                + "count(*) FILTER (WHERE a.chosen = b.chosen AND a.ref_chosen_logps = b.ref_chosen_logps"
                + " AND a.ref_rejected_logps_px = b.ref_rejected_logps_px) AS same FROM "
                + table("pairs")
                + " a JOIN "
                + TestSupport.parquet(other, "pairs")
                + " b USING (prompt_id)");
    assertThat(TestSupport.asLong(pairs.get(0).get("same")))
        .isEqualTo(TestSupport.asLong(pairs.get(0).get("n")))
        .isPositive();
  }

  /**
   * A run whose configuration does not set spark.sql.shuffle.partitions (only --set flags, as a
   * user's first run) gets its shuffles sized to its data instead of Spark's 200, writes the same
   * rows bit for bit as the run with a configured value (DuckDB EXCEPT both ways, every table),
   * says so in the manifest, and leaves the session's setting as it found it. It also runs with
   * adaptive execution on (set by the session, so the run's {@link PlanningSettings} leave it on),
   * where the first run had it off: the output does not depend on it either.
   */
  @Test
  void aRunThatSetsNoShufflePartitionsGetsThemSizedToItsDataWithTheSameOutput() {
    // The first run set its planning settings for its duration only.
    for (String key : PlanningSettings.DEFAULTS.keySet()) {
      assertThat(spark.conf().contains(key)).as(key).isFalse();
    }
    assertThat(run.result().manifest().path("spark").path("shuffle_partitions").asInt())
        .isEqualTo(2);
    assertThat(run.result().manifest().path("spark").path("shuffle_partitions_source").asText())
        .isEqualTo("configured");
    String before = spark.conf().get(ShufflePartitions.PROPERTY);
    spark.conf().unset(ShufflePartitions.PROPERTY);
    // This session sets adaptive execution itself: the run keeps it (and its output is the same).
    spark.conf().set("spark.sql.adaptive.enabled", "true");
    TestSupport.Run sized;
    try {
      sized =
          TestSupport.run(
              spark,
              "west-of-n",
              "--set",
              "input.path=" + input,
              "--set",
              "output.path=" + tmp.resolve("out"),
              "--set",
              "run.id=r1-sized",
              "--set",
              "selection.truncated=keep",
              "--set",
              "models.policy=" + TestSupport.model("tiny-llama"),
              "--set",
              "models.reward=" + TestSupport.model("tiny-reward"),
              "--set",
              "sampling.n=4",
              "--set",
              "sampling.temperature=1.0",
              "--set",
              "sampling.max-new-tokens=8",
              "--set",
              "filter.confidence.quantile=0.5",
              "--set",
              "filter.quantile.relative-error=0",
              "--set",
              "filter.likelihood.mode=quantile",
              "--set",
              "filter.likelihood.quantile=0.1",
              "--set",
              "filter.likelihood.normalization=per-token",
              "--set",
              "progress.interval-seconds=0");
      assertThat(spark.conf().contains(ShufflePartitions.PROPERTY)).isFalse();
      assertThat(spark.conf().get("spark.sql.adaptive.enabled")).isEqualTo("true");
      assertThat(spark.conf().contains("spark.sql.ui.explainMode")).isFalse();
    } finally {
      spark.conf().set(ShufflePartitions.PROPERTY, before);
      spark.conf().unset("spark.sql.adaptive.enabled");
    }
    JsonNode m = sized.result().manifest();
    assertThat(m.path("spark").path("shuffle_partitions_source").asText())
        .isEqualTo("sized to the data");
    assertThat(m.path("spark").path("shuffle_partitions").asInt())
        .isEqualTo(ShufflePartitions.forRows(rows * 4, spark.sparkContext().defaultParallelism()))
        .isLessThan(200);
    String other = sized.result().outputPath();
    // Scores of the kept pairs come from batches whose make-up follows the partitioning (a pair
    // is scored on one left-padded prefill of its prompt with the prompts beside it), so they are
    // compared within float32 batch-layout noise; every other column must be equal bit for bit.
    List<String> scoreColumns = new ArrayList<>();
    for (Map<String, Object> c : TestSupport.duckdb("DESCRIBE SELECT * FROM " + table("pairs"))) {
      String name = (String) c.get("column_name");
      if (name.matches(".*(logp|margin|loss).*|refinement")) {
        scoreColumns.add(name);
      }
    }
    assertThat(scoreColumns).contains("ref_chosen_logps", "dpo_margin");
    for (String score : scoreColumns) {
      List<Map<String, Object>> off =
          TestSupport.duckdb(
              "SELECT count(*) AS n FROM "
                  + table("pairs")
                  + " a JOIN "
                  + TestSupport.parquet(other, "pairs")
                  + " b USING (prompt_id) WHERE NOT (abs(a."
                  + score
                  + " - b."
                  + score
                  + ") <= 1e-5 + 2e-7 * abs(a."
                  + score
                  + ") OR (a."
                  + score
                  + " IS NULL AND b."
                  + score
                  + " IS NULL))");
      assertThat(TestSupport.asLong(off.get(0).get("n"))).as(score).isZero();
    }
    for (String t : List.of("candidates", "pairs", "filtered", "rejects")) {
      String columns =
          t.equals("pairs") ? "* EXCLUDE (" + String.join(", ", scoreColumns) + ")" : "*";
      for (String[] ab :
          List.of(
              new String[] {table(t), TestSupport.parquet(other, t)},
              new String[] {TestSupport.parquet(other, t), table(t)})) {
        List<Map<String, Object>> diff =
            TestSupport.duckdb(
                "SELECT count(*) AS n FROM (SELECT "
                    + columns
                    + " FROM "
                    + ab[0]
                    + " EXCEPT ALL SELECT "
                    + columns
                    + " FROM "
                    + ab[1]
                    + ")");
        assertThat(TestSupport.asLong(diff.get(0).get("n"))).as(t).isZero();
      }
      assertThat(
              TestSupport.asLong(
                  TestSupport.duckdb("SELECT count(*) AS n FROM " + table(t)).get(0).get("n")))
          .as(t)
          .isPositive();
    }
  }

  @Test
  void rerunWithTheSameRunIdReplacesTheOutputAndAFailedRerunKeepsThePreviousOne()
      throws IOException {
    String out = tmp.resolve("rerun").toString();
    String[] base = {
      "west-of-n",
      "--set",
      "input.path=" + input,
      "--set",
      "output.path=" + out,
      "--set",
      "run.id=same",
      "--set",
      "models.policy=" + TestSupport.model("tiny-llama"),
      "--set",
      "models.reward=" + TestSupport.model("tiny-reward"),
      "--set",
      "sampling.n=2",
      "--set",
      "sampling.max-new-tokens=4",
      "--set",
      "selection.truncated=keep",
      "--set",
      "input.limit=3",
      "--set",
      "progress.interval-seconds=0"
    };
    TestSupport.Run first = TestSupport.run(spark, base);
    Path dir = Path.of(java.net.URI.create(first.result().outputPath()));
    Files.writeString(dir.resolve("stale-from-an-earlier-attempt"), "x");
    TestSupport.Run second = TestSupport.run(spark, base);
    assertThat(dir.resolve("stale-from-an-earlier-attempt")).doesNotExist();
    assertThat(dir.resolve("_SUCCESS")).exists();
    assertThat(second.result().manifest().path("accounting").path("input_rows").asLong())
        .isEqualTo(3);

    // A decoder is no reward model: the driver's model check refuses it before anything runs, so
    // the previous output stays complete.
    String[] refused =
        java.util.stream.Stream.concat(
                java.util.Arrays.stream(base),
                java.util.stream.Stream.of(
                    "--set", "models.reward=" + TestSupport.model("tiny-gpt2")))
            .toArray(String[]::new);
    assertThatThrownBy(() -> TestSupport.run(spark, refused))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("models.reward: ")
        .hasMessageContaining("not a single-logit sequence classifier");
    assertThat(dir.resolve("_SUCCESS")).exists();

    // A reward directory that passed the driver's check and then broke (overwritten while the
    // session started): the run fails on the executors, in its staging folder; the previous
    // output stays complete and readable, the failed staging folder says it failed.
    Path reward = tmp.resolve("reward-that-breaks");
    Files.createDirectories(reward);
    try (java.util.stream.Stream<Path> files =
        Files.list(Path.of(TestSupport.model("tiny-reward")))) {
      for (Path f : files.toList()) {
        Files.copy(f, reward.resolve(f.getFileName()));
      }
    }
    String[] failing =
        java.util.stream.Stream.concat(
                java.util.Arrays.stream(base),
                java.util.stream.Stream.of("--set", "models.reward=" + reward))
            .toArray(String[]::new);
    assertThatThrownBy(
            () ->
                PrefscoreJob.execute(
                    failing,
                    System.out,
                    System.err,
                    c -> {
                      try {
                        Files.write(reward.resolve("model.onnx"), new byte[] {1, 2, 3});
                      } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                      }
                      return spark;
                    }))
        .isNotInstanceOf(ConfigException.class)
        .hasStackTraceContaining("model.onnx");
    assertThat(dir.resolve("_SUCCESS")).exists();
    JsonNode kept = JSON.readTree(dir.resolve("manifest.json").toFile());
    assertThat(kept.path("started_at").asText())
        .isEqualTo(second.result().manifest().path("started_at").asText());
    assertThat(
            TestSupport.duckdb(
                    "SELECT count(*) AS n FROM "
                        + TestSupport.parquet(dir.toString(), "pairs")
                        + "")
                .get(0)
                .get("n"))
        .isEqualTo(kept.path("accounting").path("pairs").asLong());
    Path area = Path.of(out, "_prefscore-staging", "same");
    List<Path> failed;
    try (java.util.stream.Stream<Path> attempts = Files.list(area)) {
      failed =
          attempts
              .filter(a -> a.getFileName().toString().startsWith("attempt-"))
              .map(a -> a.resolve("_FAILED"))
              .filter(Files::exists)
              .toList();
    }
    assertThat(failed).hasSize(1);
    assertThat(Files.readString(failed.get(0)))
        .contains("\"status\":\"FAILED\"")
        .contains("model.onnx");
    assertThat(area.resolve("lease.json")).as("the failed run released its lease").doesNotExist();
  }

  /**
   * The verify stage reads the tables back with the schemas they were written with (no Spark job to
   * read a footer): those are exactly the schemas the footers hold, nested fields included, and the
   * rows read are the rows written.
   */
  @Test
  void aTableReadBackWithItsWrittenSchemaIsTheTableAsItsFootersDescribeIt() {
    RunOutput out =
        new RunOutput(spark, tmp.resolve("schemas").toString(), "s1", RunControl.Commit.RENAME);
    out.begin();
    Dataset<Row> rows =
        spark
            .range(5)
            .select(
                functions.col("id").as(OutputSchema.INPUT_ROW),
                functions.lit("x").as(OutputSchema.PROMPT_ID),
                functions
                    .array(
                        functions.struct(
                            functions.lit("assistant").as("role"),
                            functions.col("id").cast("string").as("content")))
                    .as(OutputSchema.CHOSEN),
                functions.lit(null).cast("double").as(OutputSchema.SCORE_GAP));
    assertThat(rows.schema().fields()[0].nullable()).isFalse();
    out.write("t", rows);
    Dataset<Row> read = out.read("t");
    Dataset<Row> fromFooters = spark.read().parquet(out.path("t"));
    assertThat(read.schema()).isEqualTo(fromFooters.schema());
    assertThat(read.orderBy(OutputSchema.INPUT_ROW).collectAsList())
        .isEqualTo(fromFooters.orderBy(OutputSchema.INPUT_ROW).collectAsList())
        .hasSize(5);
    // A finished run read back (no schema written by this instance) reads the footers.
    assertThat(RunOutput.of(spark, runDir).read("pairs").schema())
        .isEqualTo(spark.read().parquet(runDir + "/pairs").schema());
  }
}
