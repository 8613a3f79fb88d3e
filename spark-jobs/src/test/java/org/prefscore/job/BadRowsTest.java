package org.prefscore.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad rows are rejected with a reason code and a detail, never coerced: a JSONL file with one row
 * of each kind goes through west-of-n and score-pairs on local[2], and every row ends where it
 * must, with the identity input_rows = pairs + filtered + rejects holding. Includes a valid 50 MB
 * line, which is PROMPT_TOO_LONG (refused by its length, not tokenized), not MALFORMED_RECORD.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BadRowsTest {

  /** One input line; reason null: a pair or a filtered pair. */
  private record Line(byte[] bytes, String stage, String reason, String detail) {
    static Line of(String json, String stage, String reason, String detail) {
      return new Line(json.getBytes(StandardCharsets.UTF_8), stage, reason, detail);
    }

    static Line ok(String json) {
      return of(json, null, null, null);
    }
  }

  @TempDir static Path tmp;
  private SparkSession spark;

  @BeforeAll
  void start() {
    spark = TestSupport.localSpark("bad-rows-test");
  }

  @AfterAll
  void stop() {
    spark.stop();
  }

  /** Writes the lines (blank ones are no rows) and returns input_row → expected line. */
  private static Map<Long, Line> write(Path file, List<Line> lines) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    Map<Long, Line> rows = new LinkedHashMap<>();
    long row = 0;
    for (Line l : lines) {
      out.write(l.bytes());
      out.write('\n');
      if (!new String(l.bytes(), StandardCharsets.UTF_8).isBlank()) {
        rows.put(row++, l);
      }
    }
    Files.write(file, out.toByteArray());
    return rows;
  }

  private static void assertRejects(TestSupport.Run run, Map<Long, Line> expected) {
    Map<Long, Map<String, Object>> rejects = new LinkedHashMap<>();
    for (Map<String, Object> r :
        TestSupport.duckdb(
            "SELECT input_row, stage, reason_code, detail FROM "
                + TestSupport.parquet(run.result().outputPath(), "rejects")
                + " ORDER BY input_row")) {
      rejects.put(TestSupport.asLong(r.get("input_row")), r);
    }
    for (Map.Entry<Long, Line> e : expected.entrySet()) {
      Line l = e.getValue();
      if (l.reason() == null) {
        assertThat(rejects).as("row %d is no reject", e.getKey()).doesNotContainKey(e.getKey());
        continue;
      }
      assertThat(rejects).as("row %d", e.getKey()).containsKey(e.getKey());
      Map<String, Object> r = rejects.get(e.getKey());
      assertThat(r.get("reason_code")).as("row %d", e.getKey()).isEqualTo(l.reason());
      assertThat(r.get("stage")).as("row %d", e.getKey()).isEqualTo(l.stage());
      assertThat((String) r.get("detail")).as("row %d", e.getKey()).contains(l.detail());
    }
    assertThat(rejects.keySet())
        .containsExactlyInAnyOrderElementsOf(
            expected.entrySet().stream()
                .filter(e -> e.getValue().reason() != null)
                .map(Map.Entry::getKey)
                .toList());
    // One table from four stages' rejects, on the model stages' partitions (local[2]), not one
    // file per part of the union.
    try (var files =
        Files.list(Path.of(run.result().outputPath().replaceFirst("^file:", ""), "rejects"))) {
      assertThat(files.filter(f -> f.getFileName().toString().startsWith("part-")).count())
          .as("rejects part files")
          .isBetween(1L, 2L);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    var acc = run.result().manifest().path("accounting");
    assertThat(acc.path("holds").asBoolean()).isTrue();
    assertThat(acc.path("input_rows").asLong()).isEqualTo(expected.size());
  }

  private TestSupport.Run run(String mode, Path input, String runId, String... extra) {
    List<String> sets = TestSupport.smallRunSettings(input, tmp.resolve("out"), runId);
    sets.addAll(List.of(extra));
    return TestSupport.runWithSettings(spark, mode, sets);
  }

  @Test
  void westOfNRejectsEveryBadRowWithItsReason() throws IOException {
    // 25 MB: beyond the 20 million characters at which Jackson's default limit made a valid line
    // MALFORMED_RECORD (the 50 MB line behaved the same, at twice this test's cost).
    String huge = "Tell me everything about rivers and seas. ".repeat(600_000);
    List<Line> lines =
        List.of(
            Line.ok("{\"prompt\": \"Explain why the sky is blue.\"}"),
            Line.of(
                "{\"prompt\": 12345}",
                "read",
                "INVALID_PROMPT_TYPE",
                "prompt column 'prompt' holds a number (12345), not a string"),
            Line.of(
                "{\"prompt\": [{\"role\": \"user\"}]}",
                "read",
                "INVALID_PROMPT_TYPE",
                "holds an array ([{\"role\":\"user\"}]), not a string; a conversation belongs in"
                    + " the messages column 'messages'"),
            Line.of("{\"prompt\": true}", "read", "INVALID_PROMPT_TYPE", "holds a boolean (true)"),
            Line.of(
                "{\"prompt\": {\"text\": \"hi\"}}",
                "read",
                "INVALID_PROMPT_TYPE",
                "holds an object ({\"text\":\"hi\"})"),
            Line.of(
                "{\"messages\": [{\"role\": \"user\"}]}",
                "prepare",
                "INVALID_MESSAGES",
                "messages[0] (user) has no content"),
            Line.of(
                "{\"messages\": [{\"content\": \"hi\"}]}",
                "prepare",
                "INVALID_MESSAGES",
                "messages[0] has no role"),
            Line.of(
                "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"bot\","
                    + " \"content\": \"hello\"}]}",
                "prepare",
                "INVALID_MESSAGES",
                "messages[1] has the unknown role 'bot' (system, user or assistant)"),
            Line.of(
                "{\"messages\": [{\"role\": \"user\", \"content\": 5}]}",
                "read",
                "INVALID_MESSAGES",
                "messages[0].content is a number (5), not a string"),
            Line.of(
                "{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\":"
                    + " \"hi\"}]}]}",
                "read",
                "INVALID_MESSAGES",
                "multimodal content parts are not supported"),
            Line.of(
                "{\"messages\": [\"hi\"]}",
                "read",
                "INVALID_MESSAGES",
                "messages[0] is a string (\"hi\"), not an object {role, content}"),
            Line.of(
                "{\"messages\": {\"role\": \"user\", \"content\": \"hi\"}}",
                "read",
                "INVALID_MESSAGES",
                "column 'messages' holds an object"),
            Line.of(
                "{\"prompt\": \"a\", \"prompt\": \"b\"}",
                "read",
                "MALFORMED_RECORD",
                "Duplicate field 'prompt'"),
            Line.of(
                "[{\"prompt\": \"a\"}, {\"prompt\": \"b\"}]",
                "read",
                "MALFORMED_RECORD",
                "a JSON array, not an object"),
            Line.of(
                "\"just a string\"", "read", "MALFORMED_RECORD", "a JSON string, not an object"),
            Line.of("{\"prompt\": \"Write a haiku ab", "read", "MALFORMED_RECORD", "not JSON ("),
            new Line(
                new byte[] {
                  '{', '"', 'p', 'r', 'o', 'm', 'p', 't', '"', ':', '"', (byte) 0xC3, '"', '}'
                },
                "read",
                "MALFORMED_RECORD",
                "not UTF-8 text"),
            Line.of(
                "{\"id\": 1.5, \"prompt\": \"What is rain?\"}",
                "read",
                "INVALID_FIELD_TYPE",
                "id column 'id' holds a number (1.5), not a string or an integer"),
            Line.ok("{\"id\": 42, \"prompt\": \"Name a bird.\"}"),
            Line.of(
                "{\"prompt\": \"" + huge + "\"}",
                "generate",
                "PROMPT_TOO_LONG",
                "a text of " + huge.length() + " characters has more than 252 tokens"),
            Line.ok(""),
            Line.ok("\uFEFF{\"prompt\": \"Name a colour.\"}"),
            Line.of("{\"prompt\": \"   \"}", "prepare", "EMPTY_PROMPT", "the prompt is blank"),
            Line.ok("{\"prompt\": \"Write a haiku about rain.\"}"),
            Line.ok("{\"messages\": [{\"role\": \"user\", \"content\": \"Tell me a fact.\"}]}"));
    Path input = tmp.resolve("bad.jsonl");
    Map<Long, Line> expected = write(input, lines);
    TestSupport.Run run =
        run(
            "west-of-n",
            input,
            "won",
            "input.id-column=id",
            "models.policy=" + TestSupport.model("tiny-llama"),
            "models.reward=" + TestSupport.model("tiny-reward"));
    assertRejects(run, expected);
    List<Map<String, Object>> ids =
        TestSupport.duckdb(
            "SELECT prompt_id FROM "
                + TestSupport.parquet(run.result().outputPath(), "pairs")
                + " WHERE input_row = 18 UNION ALL SELECT prompt_id FROM "
                + TestSupport.parquet(run.result().outputPath(), "filtered")
                + " WHERE input_row = 18");
    assertThat(ids).extracting(r -> r.get("prompt_id")).containsExactly("42");
  }

  @Test
  void scorePairsRejectsResponsesAndGapsOfTheWrongType() throws IOException {
    List<Line> lines =
        List.of(
            Line.ok("{\"prompt\": \"Sky?\", \"chosen\": \"Blue.\", \"rejected\": \"Green.\"}"),
            Line.of(
                "{\"prompt\": \"Sky?\", \"chosen\": 5, \"rejected\": \"Green.\"}",
                "read",
                "INVALID_RESPONSE_TYPE",
                "column 'chosen' holds a number (5), not a string"),
            Line.of(
                "{\"prompt\": \"Sky?\", \"chosen\": \"Blue.\", \"rejected\": [{\"role\":"
                    + " \"assistant\", \"content\": \"Green.\"}]}",
                "read",
                "INVALID_RESPONSE_TYPE",
                "for assistant turns set input.response-format=messages"),
            Line.of(
                "{\"prompt\": \"Sky?\", \"chosen\": \"Blue.\", \"rejected\": \"Green.\", \"gap\":"
                    + " \"high\"}",
                "read",
                "INVALID_FIELD_TYPE",
                "score-gap column 'gap' holds a string (\"high\"), not a number"),
            Line.of(
                "{\"prompt\": \"Sky?\", \"chosen\": null, \"rejected\": \"Green.\"}",
                "prepare",
                "EMPTY_RESPONSE",
                "chosen is null"),
            Line.ok(
                "{\"prompt\": \"Grass?\", \"chosen\": \"Green.\", \"rejected\": \"Blue.\", \"gap\":"
                    + " 0.5}"));
    Path input = tmp.resolve("bad-pairs.jsonl");
    Map<Long, Line> expected = write(input, lines);
    TestSupport.Run run =
        run(
            "score-pairs",
            input,
            "sp",
            "input.score-gap-column=gap",
            "models.reference=" + TestSupport.model("tiny-gpt2"));
    assertRejects(run, expected);
  }
}
