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
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.prefscore.executor.ExecutorRegistry;
import org.prefscore.job.config.ConfigException;
import org.prefscore.method.Logistic;
import org.prefscore.method.PolicyEvaluation;
import org.prefscore.runtime.EngineOptions;
import org.prefscore.runtime.ModelSpec;
import org.prefscore.runtime.score.SequenceScorer;
import org.prefscore.spark.OutputSchema;

/** score-pairs and evaluate on a Parquet preference set, local[2], outputs read by DuckDB. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ScorePairsAndEvaluateTest {

  @TempDir static Path tmp;
  private SparkSession spark;
  private String input;
  private static final int ROWS = 9;

  @BeforeAll
  void writeInput() {
    spark = TestSupport.localSpark("score-pairs-test");
    StructType message =
        new StructType().add("role", DataTypes.StringType).add("content", DataTypes.StringType);
    StructType schema =
        new StructType()
            .add("question", DataTypes.StringType)
            .add("conversation", DataTypes.createArrayType(message))
            .add("good", DataTypes.StringType)
            .add("bad", DataTypes.StringType)
            .add("gap", DataTypes.DoubleType);
    List<Row> rows = new ArrayList<>();
    String[][] tuples = {
      {
        "Explain why the sky is blue.",
        "Sunlight scatters off air molecules, blue most.",
        "The sky is green."
      },
      {"What is 2 + 2?", "4", "5"},
      {"Name a primary color.", "Red.", "Banana."},
      {
        "Write a haiku about rain.",
        "Soft rain on the roof, quiet drums of the evening.",
        "I do not know."
      },
      {"What is the capital of France?", "Paris.", "London, I think."},
      {"Give a synonym for happy.", "Joyful.", "Table."},
    };
    double gap = 0.5;
    for (String[] t : tuples) {
      rows.add(RowFactory.create(t[0], null, t[1], t[2], gap));
      gap += 0.75;
    }
    rows.add(
        RowFactory.create(
            null,
            List.of(RowFactory.create("user", "Tell me a fact about octopuses.")),
            "They have three hearts.",
            "They are birds.",
            2.0));
    rows.add(RowFactory.create("Same prompt, other pair.", null, "A", "B", null)); // no gap
    rows.add(
        RowFactory.create(
            "A tuple without a chosen response.", null, null, "B", 1.0)); // EMPTY_RESPONSE
    assertThat(rows).hasSize(ROWS);
    input = tmp.resolve("prefs.parquet").toString();
    spark.createDataFrame(rows, schema).coalesce(1).write().parquet(input);
  }

  @AfterAll
  void stop() {
    spark.stop();
  }

  private String[] args(String mode, String runId, String... extra) {
    List<String> a =
        new ArrayList<>(
            List.of(
                mode,
                "--set",
                "input.path=" + input,
                "--set",
                "output.path=" + tmp.resolve("out"),
                "--set",
                "run.id=" + runId,
                "--set",
                "input.prompt-column=question",
                "--set",
                "input.messages-column=conversation",
                "--set",
                "input.chosen-column=good",
                "--set",
                "input.rejected-column=bad",
                "--set",
                "progress.interval-seconds=0"));
    for (String e : extra) {
      a.add("--set");
      a.add(e);
    }
    return a.toArray(String[]::new);
  }

  @Test
  void scorePairsCachesTheReferenceLogprobsAndAccountsForEveryRow() {
    TestSupport.Run run =
        TestSupport.run(
            spark,
            args("score-pairs", "ref-only", "models.reference=" + TestSupport.model("tiny-llama")));
    String dir = run.result().outputPath();
    DuckDbSchema.assertMatches(dir, "pairs", OutputSchema.PAIRS);
    DuckDbSchema.assertMatches(dir, "rejects", OutputSchema.REJECTS);
    List<Map<String, Object>> pairs =
        TestSupport.duckdb(
            "SELECT * FROM " + TestSupport.parquet(dir, "pairs") + " ORDER BY input_row");
    List<Map<String, Object>> rejects =
        TestSupport.duckdb("SELECT * FROM " + TestSupport.parquet(dir, "rejects"));
    assertThat(pairs).hasSize(ROWS - 1);
    assertThat(rejects)
        .singleElement()
        .satisfies(
            r -> {
              assertThat(r.get("reason_code")).isEqualTo("EMPTY_RESPONSE");
              assertThat(TestSupport.asLong(r.get("input_row"))).isEqualTo(ROWS - 1);
            });
    SequenceScorer scorer =
        new SequenceScorer(
            ExecutorRegistry.instance()
                .decoder(ModelSpec.decoder(TestSupport.model("tiny-llama"), EngineOptions.cpu(1))),
            4096);
    Map<String, Object> first = pairs.get(0);
    assertThat(first.get("prompt")).isEqualTo("Explain why the sky is blue.");
    List<SequenceScorer.Result> direct =
        scorer.score(
            List.of(
                SequenceScorer.Request.of(
                    "Explain why the sky is blue.",
                    "Sunlight scatters off air molecules, blue most."),
                SequenceScorer.Request.of("Explain why the sky is blue.", "The sky is green.")),
            false);
    assertThat(TestSupport.asDouble(first.get("ref_chosen_logps")))
        .isCloseTo(
            direct.get(0).logprob(),
            within(org.prefscore.testing.Fixtures.logprobTolerance(direct.get(0).logprob())));
    assertThat(TestSupport.asDouble(first.get("ref_rejected_logps")))
        .isCloseTo(
            direct.get(1).logprob(),
            within(org.prefscore.testing.Fixtures.logprobTolerance(direct.get(1).logprob())));
    for (Map<String, Object> p : pairs) {
      assertThat(TestSupport.asDouble(p.get("dpo_margin"))).isZero();
      assertThat(p.get("policy_terms")).isEqualTo("reference");
      assertThat(p.get("reward_chosen")).isNull();
    }
    assertThat(run.result().manifest().path("accounting").path("holds").asBoolean()).isTrue();
  }

  @Test
  void aCheckpointGivesPolicyTermsMarginsAndLosses() {
    TestSupport.Run run =
        TestSupport.run(
            spark,
            args(
                "score-pairs",
                "ckpt",
                "models.reference=" + TestSupport.model("tiny-gpt2"),
                "models.policy-checkpoint=" + TestSupport.model("tiny-llama"),
                "srdpo.beta=0.2",
                "srdpo.lambda=0.3"));
    List<Map<String, Object>> pairs =
        TestSupport.duckdb(
            "SELECT * FROM " + TestSupport.parquet(run.result().outputPath(), "pairs"));
    assertThat(pairs).hasSize(ROWS - 1);
    boolean nonZero = false;
    for (Map<String, Object> p : pairs) {
      double m =
          (TestSupport.asDouble(p.get("ckpt_chosen_logps"))
                  - TestSupport.asDouble(p.get("ref_chosen_logps")))
              - (TestSupport.asDouble(p.get("ckpt_rejected_logps"))
                  - TestSupport.asDouble(p.get("ref_rejected_logps")));
      double mp =
          (TestSupport.asDouble(p.get("ckpt_chosen_logps_px"))
                  - TestSupport.asDouble(p.get("ref_chosen_logps_px")))
              - (TestSupport.asDouble(p.get("ckpt_rejected_logps_px"))
                  - TestSupport.asDouble(p.get("ref_rejected_logps_px")));
      assertThat(TestSupport.asDouble(p.get("dpo_margin"))).isCloseTo(m, within(1e-9));
      assertThat(TestSupport.asDouble(p.get("px_margin"))).isCloseTo(mp, within(1e-9));
      assertThat(TestSupport.asDouble(p.get("refinement"))).isCloseTo(0.2 * mp, within(1e-9));
      assertThat(TestSupport.asDouble(p.get("sr_dpo_loss")))
          .isCloseTo(Logistic.negativeLogSigmoid(0.2 * m - 0.3 * 0.2 * mp), within(1e-9));
      double ipo = m - 0.3 * 0.2 * mp - 1 / (2 * 0.2);
      assertThat(TestSupport.asDouble(p.get("sr_ipo_loss"))).isCloseTo(ipo * ipo, within(1e-9));
      assertThat(p.get("policy_terms")).isEqualTo("checkpoint");
      nonZero |= m != 0;
    }
    assertThat(nonZero).isTrue();
  }

  @Test
  void aConversationThatCannotBeRenderedIsRejectedNotLost() {
    StructType message =
        new StructType().add("role", DataTypes.StringType).add("content", DataTypes.StringType);
    StructType schema =
        new StructType()
            .add("question", DataTypes.StringType)
            .add("conversation", DataTypes.createArrayType(message))
            .add("good", DataTypes.StringType)
            .add("bad", DataTypes.StringType);
    String path = tmp.resolve("no-user.parquet").toString();
    spark
        .createDataFrame(
            List.of(
                RowFactory.create(
                    null, List.of(RowFactory.create("system", "Only a system turn.")), "A", "B"),
                RowFactory.create("A plain prompt.", null, "A", "B")),
            schema)
        .coalesce(1)
        .write()
        .parquet(path);
    List<String> a =
        new ArrayList<>(
            List.of(
                args(
                    "score-pairs",
                    "no-user",
                    "models.reference=" + TestSupport.model("tiny-gpt2"))));
    a.addAll(List.of("--set", "input.path=" + path));
    TestSupport.Run run = TestSupport.run(spark, a.toArray(String[]::new));
    List<Map<String, Object>> rejects =
        TestSupport.duckdb(
            "SELECT * FROM " + TestSupport.parquet(run.result().outputPath(), "rejects"));
    assertThat(rejects)
        .singleElement()
        .satisfies(
            r -> {
              assertThat(r.get("reason_code")).isEqualTo("CHAT_TEMPLATE_ERROR");
              assertThat(r.get("stage")).isEqualTo("render");
              assertThat((String) r.get("detail")).contains("no user message");
              assertThat(TestSupport.asLong(r.get("input_row"))).isZero();
            });
    assertThat(run.result().manifest().path("accounting").path("pairs").asLong()).isEqualTo(1);
  }

  @Test
  void assistantTurnsAreScoredAsTheChatTemplateRendersThem() throws IOException {
    // TRL's conversational preference format: prompt, chosen and rejected are message lists.
    Path jsonl = tmp.resolve("conversational.jsonl");
    java.nio.file.Files.writeString(
        jsonl,
        String.join(
            "\n",
            "{\"prompt\": [{\"role\": \"user\", \"content\": \"Colour of the sky?\"}],"
                + " \"chosen\": [{\"role\": \"assistant\", \"content\": \"Blue.\"}],"
                + " \"rejected\": [{\"role\": \"assistant\", \"content\": \"Green, surely.\"}]}",
            "{\"prompt\": [{\"role\": \"system\", \"content\": \"Be brief.\"}, {\"role\": \"user\", \"content\": \"2 + 2?\"}],"
                + " \"chosen\": [{\"role\": \"assistant\", \"content\": \"4\"}],"
                + " \"rejected\": [{\"role\": \"assistant\", \"content\": \"5\"}]}",
            "{\"prompt\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"chosen\": [], \"rejected\": [{\"role\": \"assistant\", \"content\": \"x\"}]}",
            "{\"prompt\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"chosen\": [{\"role\": \"assistant\", \"content\": \"x\"}]}",
            "{\"prompt\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"chosen\": \"plain text\", \"rejected\": \"more\"}",
            "{\"prompt\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"chosen\": [{\"role\": \"assistant\"}], \"rejected\": [{\"role\": \"assistant\", \"content\": \"x\"}]}"));
    String llama = TestSupport.model("tiny-llama");
    TestSupport.Run run =
        TestSupport.run(
            spark,
            new String[] {
              "score-pairs",
              "--set",
              "input.path=" + jsonl,
              "--set",
              "output.path=" + tmp.resolve("out"),
              "--set",
              "run.id=turns",
              "--set",
              "input.prompt-column=",
              "--set",
              "input.messages-column=prompt",
              "--set",
              "input.response-format=messages",
              "--set",
              "models.reference=" + llama,
              "--set",
              "progress.interval-seconds=0"
            });
    String dir = run.result().outputPath();
    DuckDbSchema.assertMatches(dir, "pairs", OutputSchema.PAIRS);
    List<Map<String, Object>> pairs =
        TestSupport.duckdb(
            "SELECT * FROM " + TestSupport.parquet(dir, "pairs") + " ORDER BY input_row");
    List<Map<String, Object>> rejects =
        TestSupport.duckdb(
            "SELECT * FROM " + TestSupport.parquet(dir, "rejects") + " ORDER BY input_row");
    assertThat(pairs).hasSize(2);
    assertThat(rejects)
        .extracting(r -> TestSupport.asLong(r.get("input_row")) + " " + r.get("reason_code"))
        .containsExactly(
            "2 EMPTY_RESPONSE", "3 EMPTY_RESPONSE", "4 INVALID_MESSAGES", "5 INVALID_MESSAGES");
    assertThat(run.result().manifest().path("accounting").path("holds").asBoolean()).isTrue();

    Map<String, Object> first = pairs.get(0);
    String x =
        "<s><|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
            + "<|im_start|>user\nColour of the sky?<|im_end|>\n<|im_start|>assistant\n";
    assertThat(first.get("prompt")).isEqualTo(x);
    assertThat(first.get("chosen")).isEqualTo("Blue.<|im_end|>\n");
    assertThat(first.get("rejected")).isEqualTo("Green, surely.<|im_end|>\n");
    assertThat(first.get("response_format")).isEqualTo("chat");
    assertThat(pairs.get(1).get("chosen")).isEqualTo("4<|im_end|>\n");
    // Scored as rendered, as TRL scores conversational rows: the template's end-of-turn text, no
    // EOS appended, no special tokens added (one BOS, the template's).
    SequenceScorer scorer =
        new SequenceScorer(
            ExecutorRegistry.instance().decoder(ModelSpec.decoder(llama, EngineOptions.cpu(1))),
            4096);
    List<SequenceScorer.Result> direct =
        scorer.score(
            List.of(
                SequenceScorer.Request.chat(x, "Blue.<|im_end|>\n"),
                SequenceScorer.Request.chat(x, "Green, surely.<|im_end|>\n"),
                SequenceScorer.Request.of(x, "Blue.<|im_end|>\n")),
            false);
    assertThat(TestSupport.asDouble(first.get("ref_chosen_logps")))
        .isCloseTo(
            direct.get(0).logprob(),
            within(org.prefscore.testing.Fixtures.logprobTolerance(direct.get(0).logprob())));
    assertThat(TestSupport.asDouble(first.get("ref_rejected_logps")))
        .isCloseTo(
            direct.get(1).logprob(),
            within(org.prefscore.testing.Fixtures.logprobTolerance(direct.get(1).logprob())));
    assertThat(direct.get(2).logprob()).isLessThan(direct.get(0).logprob() - 1e-3);
    assertThat((String) first.get("px_prompt"))
        .contains(
            "user\n" + org.prefscore.method.RefinementPrompt.paper().apply("Colour of the sky?"));
  }

  @Test
  void assistantTurnsNeedConversationalPrompts() {
    assertThatThrownBy(
            () ->
                TestSupport.run(
                    spark,
                    args(
                        "score-pairs",
                        "turns-bad",
                        "models.reference=" + TestSupport.model("tiny-llama"),
                        "input.response-format=messages",
                        "input.messages-column=",
                        "input.prompt-column=")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("input.response-format=messages needs the prompts as conversations")
        .hasMessageContaining("are both empty");
  }

  @Test
  void evaluateReportsAccuracyAndCorrelationsAsJson() throws IOException {
    TestSupport.Run run =
        TestSupport.run(
            spark,
            args(
                "evaluate",
                "eval",
                "models.reference=" + TestSupport.model("tiny-gpt2"),
                "models.policy-checkpoint=" + TestSupport.model("tiny-llama"),
                "input.score-gap-column=gap"));
    PolicyEvaluation reported = run.result().evaluation().orElseThrow();
    List<PolicyEvaluation.Observation> obs = new ArrayList<>();
    for (Map<String, Object> p :
        TestSupport.duckdb(
            "SELECT dpo_margin, px_margin, score_gap FROM "
                + TestSupport.parquet(run.result().outputPath(), "pairs"))) {
      obs.add(
          new PolicyEvaluation.Observation(
              TestSupport.asDouble(p.get("dpo_margin")),
              TestSupport.asDouble(p.get("px_margin")),
              p.get("score_gap") == null
                  ? OptionalDouble.empty()
                  : OptionalDouble.of(TestSupport.asDouble(p.get("score_gap")))));
    }
    PolicyEvaluation expected = PolicyEvaluation.evaluate(obs);
    assertThat(reported.tuples()).isEqualTo(expected.tuples()).isEqualTo(ROWS - 1);
    assertThat(reported.scoredTuples()).isEqualTo(ROWS - 2);
    JsonNode json =
        new ObjectMapper()
            .readTree(
                Path.of(java.net.URI.create(run.result().outputPath() + "/evaluation.json"))
                    .toFile());
    assertThat(json.path("accuracy").asDouble()).isEqualTo(expected.accuracy());
    assertThat(json.path("average_marginal").asDouble())
        .isCloseTo(expected.averageMarginal(), within(1e-12));
    assertThat(json.path("prompt_augmented_accuracy").asDouble())
        .isEqualTo(expected.promptAugmentedAccuracy());
    assertThat(json.path("pearson").asDouble())
        .isCloseTo(expected.pearson().orElseThrow(), within(1e-12));
    assertThat(json.path("spearman").asDouble())
        .isCloseTo(expected.spearman().orElseThrow(), within(1e-12));
    assertThat(json.path("kendall").asDouble())
        .isCloseTo(expected.kendall().orElseThrow(), within(1e-12));
    assertThat(run.out()).contains("accuracy").contains("pearson");
    // report.html: the scatter of m(x) against the gap, with the manifest's correlations.
    String report =
        Files.readString(
            Path.of(java.net.URI.create(run.result().outputPath() + "/report.html")),
            StandardCharsets.UTF_8);
    assertThat(report)
        .contains("id=\"chart-scatter\"")
        .contains("All " + (ROWS - 2) + " pairs with a score gap.")
        .contains(
            "data-manifest=\"/evaluation/kendall\">"
                + run.result().manifest().at("/evaluation/kendall").asText()
                + "<");
  }

  @Test
  void evaluateNeedsAPolicyCheckpoint() {
    assertThatThrownBy(
            () ->
                TestSupport.run(
                    spark,
                    args(
                        "evaluate",
                        "no-ckpt",
                        "models.reference=" + TestSupport.model("tiny-gpt2"))))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("models.policy-checkpoint is required");
  }
}
