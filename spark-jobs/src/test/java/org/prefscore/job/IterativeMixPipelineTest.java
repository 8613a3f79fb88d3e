package org.prefscore.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.prefscore.job.config.ConfigException;
import org.prefscore.job.config.PipelineConfig;
import org.prefscore.job.config.ResolvedConfig;
import org.prefscore.job.io.RunRefusedException;
import org.prefscore.spark.OutputSchema;

/**
 * Iterative West-of-N on a real west-of-n run (tiny-llama policy, tiny-reward): base preferences in
 * both TRL formats with bad rows of every kind, read back by DuckDB: every bad row in base_rejects
 * with its code, nothing coerced; the mix is exactly 1:1 with min(base, West-of-N) pairs of each
 * source, each row equal to its source row; the larger source is subsampled by a seeded key (the
 * same mix with other partitions, another one for another round); run.round in every row of every
 * table and in the manifest; config errors.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class IterativeMixPipelineTest {

  private static final List<String> PROMPTS =
      List.of(
          "{\"prompt\": \"Explain why the sky is blue.\"}",
          "{\"prompt\": \"Write a haiku about autumn rain.\"}",
          "{\"prompt\": \"What causes the seasons?\"}",
          "{\"prompt\": \"Suggest a name for a bakery.\"}",
          "{\"prompt\": \"Name three rivers.\"}",
          "{\"prompt\": \"Why do cats purr?\"}",
          "{\"messages\": [{\"role\": \"user\", \"content\": \"Tell me a fact about octopuses.\"}]}",
          "{\"messages\": [{\"role\": \"user\", \"content\": \"Name a color.\"}]}");

  /** 14 valid base pairs (12 standard, 2 conversational), then one bad row of each kind. */
  private static List<String> baseLines() {
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < 12; i++) {
      lines.add(
          "{\"prompt\": \"Question "
              + i
              + "?\", \"chosen\": \" A good answer "
              + i
              + ".\", \"rejected\": \" bad "
              + i
              + "\"}");
    }
    lines.add(
        "{\"prompt\": [{\"role\": \"user\", \"content\": \"Colour of the sky?\"}],"
            + " \"chosen\": [{\"role\": \"assistant\", \"content\": \"Blue.\"}],"
            + " \"rejected\": [{\"role\": \"assistant\", \"content\": \"Green.\"}]}");
    lines.add(
        "{\"prompt\": [{\"role\": \"system\", \"content\": \"Be brief.\"}, {\"role\": \"user\","
            + " \"content\": \"2 + 2?\"}], \"chosen\": [{\"role\": \"assistant\", \"content\":"
            + " \"4\"}], \"rejected\": [{\"role\": \"assistant\", \"content\": \"5\"}]}");
    lines.add("{\"prompt\": 12345, \"chosen\": \"a\", \"rejected\": \"b\"}"); // 14
    lines.add("{\"prompt\": \"No rejected\", \"chosen\": \"a\"}"); // 15
    lines.add(
        "{\"prompt\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"chosen\": \"plain\","
            + " \"rejected\": [{\"role\": \"assistant\", \"content\": \"x\"}]}"); // 16
    lines.add(
        "{\"prompt\": \"Hi\", \"chosen\": [{\"role\": \"assistant\", \"content\": \"x\"}],"
            + " \"rejected\": \"y\"}"); // 17
    lines.add("{\"prompt\": \"broken\", "); // 18
    lines.add("{\"prompt\": \"   \", \"chosen\": \"a\", \"rejected\": \"b\"}"); // 19
    lines.add(
        "{\"prompt\": [{\"role\": \"tool\", \"content\": \"Hi\"}], \"chosen\": [{\"role\":"
            + " \"assistant\", \"content\": \"x\"}], \"rejected\": [{\"role\": \"assistant\","
            + " \"content\": \"y\"}]}"); // 20
    return lines;
  }

  @TempDir static Path tmp;
  private SparkSession spark;
  private Path input;
  private Path base;
  private TestSupport.Run round2;

  @BeforeAll
  void runPipeline() throws IOException {
    spark = TestSupport.localSpark("iterative-mix-test");
    input = tmp.resolve("prompts.jsonl");
    Files.write(input, PROMPTS);
    base = tmp.resolve("base.jsonl");
    Files.write(base, baseLines());
    round2 = TestSupport.runWithSettings(spark, "west-of-n", settings("r2", "run.round=2"));
  }

  @AfterAll
  void stop() {
    spark.stop();
  }

  private List<String> settings(String runId, String... extra) {
    List<String> s = TestSupport.smallRunSettings(input, tmp.resolve("out"), runId);
    s.addAll(
        List.of(
            "models.policy=" + TestSupport.model("tiny-llama"),
            "models.reward=" + TestSupport.model("tiny-reward"),
            "mix.base-preferences=" + base));
    s.addAll(List.of(extra));
    return s;
  }

  private static List<Map<String, Object>> rows(TestSupport.Run run, String table, String sql) {
    return TestSupport.duckdb(
        sql.replace("{T}", TestSupport.parquet(run.result().outputPath(), table)));
  }

  private static long count(TestSupport.Run run, String table, String where) {
    return TestSupport.asLong(
        rows(run, table, "SELECT count(*) n FROM {T} " + where).get(0).get("n"));
  }

  @Test
  void everyBadBaseRowIsARejectWithItsCode() {
    String dir = round2.result().outputPath();
    DuckDbSchema.assertMatches(dir, "base_rejects", OutputSchema.REJECTS);
    assertThat(
            rows(round2, "base_rejects", "SELECT * FROM {T} ORDER BY input_row").stream()
                .map(r -> TestSupport.asLong(r.get("input_row")) + " " + r.get("reason_code"))
                .toList())
        .containsExactly(
            "14 INVALID_PROMPT_TYPE",
            "15 EMPTY_RESPONSE",
            "16 INVALID_MESSAGES",
            "17 INVALID_RESPONSE_TYPE",
            "18 MALFORMED_RECORD",
            "19 EMPTY_PROMPT",
            "20 INVALID_MESSAGES");
    JsonNode mix = round2.result().manifest().path("mix");
    assertThat(mix.path("base_rows").asLong()).isEqualTo(21);
    assertThat(mix.path("base_rejects").asLong()).isEqualTo(7);
    assertThat(mix.path("base_pairs").asLong()).isEqualTo(14);
  }

  @Test
  void theMixIsOneToOneAndEachRowIsItsSourceRow() {
    String dir = round2.result().outputPath();
    DuckDbSchema.assertMatches(dir, "mix", OutputSchema.MIX);
    DuckDbSchema.assertMatches(dir, "mix_conversational", OutputSchema.MIX_CONVERSATIONAL);
    long westOfN = count(round2, "pairs", "") + count(round2, "pairs_conversational", "");
    assertThat(westOfN).as("West-of-N pairs of 8 prompts").isBetween(2L, 8L);
    long perSide = Math.min(14, westOfN);
    long baseInMix =
        count(round2, "mix", "WHERE source = 'base'")
            + count(round2, "mix_conversational", "WHERE source = 'base'");
    long wonInMix =
        count(round2, "mix", "WHERE source = 'west_of_n'")
            + count(round2, "mix_conversational", "WHERE source = 'west_of_n'");
    assertThat(baseInMix).isEqualTo(perSide);
    assertThat(wonInMix).isEqualTo(westOfN).isEqualTo(perSide);
    JsonNode mix = round2.result().manifest().path("mix");
    assertThat(mix.path("pairs_per_source").asLong()).isEqualTo(perSide);
    assertThat(mix.path("rows").asLong()).isEqualTo(2 * perSide);
    assertThat(mix.path("base_left_out").asLong()).isEqualTo(14 - perSide);
    assertThat(mix.path("west_of_n_left_out").asLong()).isZero();
    assertThat(round2.out()).contains("mix", "round 2: " + 2 * perSide + " rows");
    assertThat(PairwiseTeacherPipelineTest.readReport(round2))
        .contains("<section id=\"mix\">", "data-manifest=\"/mix/pairs_per_source\"")
        .doesNotContain("<section id=\"knockout\">");

    // West-of-N rows: the pairs themselves.
    Map<String, Map<String, Object>> pairs = new HashMap<>();
    for (Map<String, Object> p : rows(round2, "pairs", "SELECT * FROM {T}")) {
      pairs.put((String) p.get("prompt_id"), p);
    }
    for (Map<String, Object> m :
        rows(round2, "mix", "SELECT * FROM {T} WHERE source = 'west_of_n'")) {
      Map<String, Object> p = pairs.get((String) m.get("prompt_id"));
      assertThat(p).as("pair of %s", m.get("prompt_id")).isNotNull();
      assertThat(m.get("prompt")).isEqualTo(p.get("prompt"));
      assertThat(m.get("chosen")).isEqualTo(p.get("chosen"));
      assertThat(m.get("rejected")).isEqualTo(p.get("rejected"));
      assertThat(TestSupport.asLong(m.get("source_row")))
          .isEqualTo(TestSupport.asLong(p.get("input_row")));
    }
    assertThat(
            rows(
                round2,
                "mix_conversational",
                "SELECT m.prompt_id FROM {T} m WHERE source = 'west_of_n' AND m.prompt_id NOT IN"
                    + " (SELECT prompt_id FROM "
                    + TestSupport.parquet(dir, "pairs_conversational")
                    + " p WHERE to_json(p.chosen) = to_json(m.chosen)"
                    + " AND to_json(p.prompt) = to_json(m.prompt))"))
        .as("conversational West-of-N rows equal their pairs")
        .isEmpty();
    // Base rows: the line they were read from, as given.
    List<String> lines = baseLines();
    for (Map<String, Object> m : rows(round2, "mix", "SELECT * FROM {T} WHERE source = 'base'")) {
      int row = (int) TestSupport.asLong(m.get("source_row"));
      assertThat(row).isBetween(0, 11);
      assertThat(m.get("prompt")).isEqualTo("Question " + row + "?");
      assertThat(m.get("chosen")).isEqualTo(" A good answer " + row + ".");
      assertThat(m.get("rejected")).isEqualTo(" bad " + row);
      assertThat(lines.get(row)).contains((String) m.get("prompt"));
    }
    for (Map<String, Object> m :
        rows(
            round2,
            "mix_conversational",
            "SELECT source_row, to_json(prompt)::VARCHAR p, to_json(chosen)::VARCHAR c FROM {T}"
                + " WHERE source = 'base'")) {
      long row = TestSupport.asLong(m.get("source_row"));
      assertThat(row).isBetween(12L, 13L);
      assertThat((String) m.get("c")).contains(row == 12 ? "Blue." : "\"4\"");
      assertThat((String) m.get("p")).contains(row == 12 ? "Colour of the sky?" : "Be brief.");
    }
  }

  @Test
  void everyRowOfEveryTableCarriesTheRound() {
    assertThat(round2.result().manifest().path("round").asInt()).isEqualTo(2);
    for (String table : OutputSchema.outputs().keySet()) {
      long all = count(round2, table, "");
      long two = count(round2, table, "WHERE round = 2");
      assertThat(two).as("rows of %s with round 2", table).isEqualTo(all);
    }
    assertThat(count(round2, "candidates", "")).isPositive();
    assertThat(count(round2, "rejects", "")).isZero();
  }

  @Test
  void theMixIsSeededTheSameWithOtherPartitionsAndAnotherForAnotherRound() {
    TestSupport.Run again =
        TestSupport.runWithSettings(
            spark, "west-of-n", settings("r2-again", "run.round=2", "spark.partitions=3"));
    String sql = "SELECT source, source_row, prompt, chosen, rejected FROM {T} ORDER BY ALL";
    assertThat(rows(again, "mix", sql)).isEqualTo(rows(round2, "mix", sql));
    // In written order too: the key order interleaves the sources.
    assertThat(rows(again, "mix", "SELECT source, source_row FROM {T}"))
        .isEqualTo(rows(round2, "mix", "SELECT source, source_row FROM {T}"));

    TestSupport.Run round3 =
        TestSupport.runWithSettings(spark, "west-of-n", settings("r3", "run.round=3"));
    assertThat(rows(round3, "pairs", "SELECT prompt_id, chosen FROM {T} ORDER BY ALL"))
        .as("run.round changes no sample")
        .isEqualTo(rows(round2, "pairs", "SELECT prompt_id, chosen FROM {T} ORDER BY ALL"));
    Set<Long> base2 = baseRows(round2);
    Set<Long> base3 = baseRows(round3);
    assertThat(base3).hasSameSizeAs(base2).isNotEqualTo(base2);
  }

  private static Set<Long> baseRows(TestSupport.Run run) {
    Set<Long> out = new HashSet<>();
    for (String table : List.of("mix", "mix_conversational")) {
      for (Map<String, Object> r :
          rows(run, table, "SELECT source_row FROM {T} WHERE source = 'base'")) {
        out.add(TestSupport.asLong(r.get("source_row")));
      }
    }
    return out;
  }

  @Test
  void configErrors() {
    List<String> common =
        List.of(
            "input.path=" + input,
            "output.path=" + tmp,
            "models.policy=" + TestSupport.model("tiny-gpt2"),
            "models.reward=" + TestSupport.model("tiny-reward"));
    for (String[] bad :
        new String[][] {
          {"run.round=0", "run.round must be >= 1, got 0"},
          {"run.round=two", "run.round must be an integer, got 'two'"}
        }) {
      List<String> sets = new ArrayList<>(common);
      sets.add(bad[0]);
      assertThatThrownBy(
              () -> PipelineConfig.from(Mode.WEST_OF_N, ResolvedConfig.resolve(null, sets)))
          .isInstanceOf(ConfigException.class)
          .hasMessageContaining(bad[1]);
    }
    List<String> scorePairs =
        List.of(
            "input.path=" + input,
            "output.path=" + tmp,
            "models.reference=" + TestSupport.model("tiny-gpt2"),
            "mix.base-preferences=" + base);
    assertThatThrownBy(
            () -> PipelineConfig.from(Mode.SCORE_PAIRS, ResolvedConfig.resolve(null, scorePairs)))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("mix.base-preferences applies to west-of-n");
    List<String> missing = settings("missing-base");
    missing.set(
        missing.indexOf("mix.base-preferences=" + base),
        "mix.base-preferences=" + tmp.resolve("no-such-file.jsonl"));
    assertThatThrownBy(() -> TestSupport.runWithSettings(spark, "west-of-n", missing))
        .isInstanceOf(RunRefusedException.class)
        .hasMessageContaining("no-such-file.jsonl does not exist");
  }
}
