package org.prefscore.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.prefscore.chat.ChatMessage;
import org.prefscore.chat.ChatTemplate;
import org.prefscore.chat.PromptRenderer;
import org.prefscore.method.RefinementPrompt;
import org.prefscore.runtime.LanguageModel;
import org.prefscore.runtime.score.SequenceScorer;
import org.prefscore.testing.Fixtures;

/**
 * output.pair-format and selection.truncated on a real west-of-n run (tiny-llama, whose chat
 * template writes BOS itself): chat prompts' pairs in pairs_conversational in TRL's conversational
 * format with their terms computed as TRL computes them (TrlGoldenTest checks that path against TRL
 * itself), plain prompts' in pairs; truncated samples never chosen or rejected, the prompts they
 * leave without two complete distinct responses rejected as FEWER_THAN_TWO_COMPLETE_SAMPLES, the
 * finish-reason mix in the manifest and the summary; and the forced text format.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PairFormatTest {

  private static final List<String> LINES =
      List.of(
          "{\"prompt\": \"Explain why the sky is blue.\"}",
          "{\"prompt\": \"Write a haiku about autumn rain.\"}",
          "{\"prompt\": \"What causes the seasons?\"}",
          "{\"prompt\": \"Suggest a name for a bakery.\"}",
          "{\"messages\": [{\"role\": \"user\", \"content\": \"Tell me a fact about octopuses.\"}]}",
          "{\"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"}, {\"role\": \"user\","
              + " \"content\": \"What is an API?\"}]}",
          "{\"messages\": [{\"role\": \"user\", \"content\": \"Name a color.\"}]}");

  @TempDir static Path tmp;
  private SparkSession spark;
  private Path input;
  private TestSupport.Run auto;
  private LanguageModel llama;

  @BeforeAll
  void runPipeline() throws IOException {
    spark = TestSupport.localSpark("pair-format-test");
    input = tmp.resolve("prompts.jsonl");
    Files.write(input, LINES);
    auto = TestSupport.runWithSettings(spark, "west-of-n", settings("auto"));
    llama = Fixtures.decoder("tiny-llama");
  }

  @AfterAll
  void stop() {
    llama.close();
    spark.stop();
  }

  private List<String> settings(String runId, String... extra) {
    List<String> s =
        new ArrayList<>(
            List.of(
                "input.path=" + input,
                "output.path=" + tmp.resolve("out"),
                "run.id=" + runId,
                "models.policy=" + TestSupport.model("tiny-llama"),
                "models.reward=" + TestSupport.model("tiny-reward"),
                "sampling.n=8",
                "sampling.temperature=1.0",
                "sampling.max-new-tokens=24",
                "sampling.stop-strings=[\".\", \"?\", \"!\", \"\\\\n\"]",
                "progress.interval-seconds=0"));
    s.addAll(List.of(extra));
    return s;
  }

  private static String table(TestSupport.Run run, String name) {
    return TestSupport.parquet(run.result().outputPath(), name);
  }

  @Test
  void chatPromptsGiveTrlConversationalRowsScoredAsTrlScoresThem() {
    List<Map<String, Object>> rows =
        TestSupport.duckdb(
            "SELECT p.input_row, len(p.prompt) AS turns, p.prompt[len(p.prompt)].content AS last,"
                + " len(p.chosen) AS nc, p.chosen[1].role AS role, p.chosen[1].content AS chosen,"
                + " p.rejected[1].content AS rejected, p.response_format, p.ref_chosen_logps,"
                + " p.ref_rejected_logps, c.text AS sampled FROM "
                + table(auto, "pairs_conversational")
                + " p JOIN "
                + table(auto, "candidates")
                + " c ON c.prompt_id = p.prompt_id AND c.sample_index = p.chosen_sample_index"
                + " ORDER BY p.input_row");
    assertThat(rows).isNotEmpty();
    PromptRenderer renderer =
        new PromptRenderer(() -> ChatTemplate.of(llama.files()), RefinementPrompt.paper());
    SequenceScorer scorer = new SequenceScorer(llama, 4096);
    for (Map<String, Object> r : rows) {
      long row = TestSupport.asLong(r.get("input_row"));
      assertThat(row).isBetween(4L, 6L);
      assertThat(r.get("response_format")).isEqualTo("conversational");
      assertThat(TestSupport.asLong(r.get("nc"))).isEqualTo(1);
      assertThat(r.get("role")).isEqualTo("assistant");
      assertThat(r.get("chosen")).isEqualTo(r.get("sampled"));
      List<ChatMessage> messages =
          switch ((int) row) {
            case 4 -> List.of(ChatMessage.user("Tell me a fact about octopuses."));
            case 5 ->
                List.of(
                    new ChatMessage("system", "Be brief."), ChatMessage.user("What is an API?"));
            default -> List.of(ChatMessage.user("Name a color."));
          };
      assertThat(TestSupport.asLong(r.get("turns"))).isEqualTo(messages.size());
      assertThat(r.get("last")).isEqualTo(messages.get(messages.size() - 1).content());
      PromptRenderer.Conversation c =
          renderer.renderConversation(
              messages, List.of((String) r.get("chosen"), (String) r.get("rejected")));
      assertThat(c.prompt()).startsWith("<s><|im_start|>");
      List<SequenceScorer.Result> s =
          scorer.score(
              List.of(
                  SequenceScorer.Request.conversation(c.prompt(), c.full().get(0)),
                  SequenceScorer.Request.conversation(c.prompt(), c.full().get(1))),
              false);
      // One BOS, the template's: tokenized without special tokens, as TRL does.
      assertThat(llama.tokenizer().encode(c.prompt(), false)[1]).isNotEqualTo(1L);
      // Within float32 batch-layout noise: the pipeline scores a pair on one prefill of its prompt.
      assertThat(TestSupport.asDouble(r.get("ref_chosen_logps")))
          .isCloseTo(s.get(0).logprob(), within(Fixtures.logprobTolerance(s.get(0).logprob())));
      assertThat(TestSupport.asDouble(r.get("ref_rejected_logps")))
          .isCloseTo(s.get(1).logprob(), within(Fixtures.logprobTolerance(s.get(1).logprob())));
    }
    assertThat(
            TestSupport.duckdb(
                "SELECT count(*) AS n FROM "
                    + table(auto, "pairs")
                    + " WHERE response_format <> 'text' OR input_row > 3"))
        .first()
        .satisfies(m -> assertThat(TestSupport.asLong(m.get("n"))).isZero());
    JsonNode acc = auto.result().manifest().path("accounting");
    assertThat(acc.path("holds").asBoolean()).isTrue();
    assertThat(acc.path("pairs_conversational").asLong()).isEqualTo(rows.size());
    assertThat(auto.out()).contains("(text ").contains(", conversational " + rows.size() + ")");
  }

  @Test
  void truncatedSamplesAreNeverChosenAndTheirPromptsAreAccounted() {
    for (String t : List.of("pairs", "pairs_conversational", "filtered")) {
      for (Map<String, Object> r :
          TestSupport.duckdb(
              "SELECT p.chosen_finish_reason AS cf, p.rejected_finish_reason AS rf,"
                  + " c.finish_reason AS cc, c.response_tokens AS ct, p.chosen_tokens AS pt FROM "
                  + table(auto, t)
                  + " p JOIN "
                  + table(auto, "candidates")
                  + " c ON c.prompt_id = p.prompt_id AND c.sample_index = p.chosen_sample_index")) {
        assertThat(r.get("cf")).isIn("EOS", "STOP").isEqualTo(r.get("cc"));
        assertThat(r.get("rf")).isIn("EOS", "STOP");
        assertThat(r.get("pt")).isEqualTo(r.get("ct"));
      }
    }
    // Per prompt: distinct complete texts from the candidates; fewer than two ⇒ the reject.
    Map<String, Long> complete = new HashMap<>();
    for (Map<String, Object> r :
        TestSupport.duckdb(
            "SELECT prompt_id, count(DISTINCT text) FILTER (WHERE finish_reason <> 'LENGTH') AS d"
                + " FROM "
                + table(auto, "candidates")
                + " GROUP BY prompt_id")) {
      complete.put((String) r.get("prompt_id"), TestSupport.asLong(r.get("d")));
    }
    long expectedRejects = complete.values().stream().filter(d -> d < 2).count();
    List<Map<String, Object>> rejects =
        TestSupport.duckdb(
            "SELECT prompt_id, detail FROM "
                + table(auto, "rejects")
                + " WHERE reason_code = 'FEWER_THAN_TWO_COMPLETE_SAMPLES'");
    assertThat((long) rejects.size()).isEqualTo(expectedRejects);
    for (Map<String, Object> r : rejects) {
      assertThat(complete.get((String) r.get("prompt_id"))).isLessThan(2);
      assertThat((String) r.get("detail")).contains("stopped at max-new-tokens left out");
    }
    Map<String, Long> mix = new HashMap<>();
    for (Map<String, Object> r :
        TestSupport.duckdb(
            "SELECT finish_reason, count(*) AS n FROM "
                + table(auto, "candidates")
                + " GROUP BY finish_reason")) {
      mix.put((String) r.get("finish_reason"), TestSupport.asLong(r.get("n")));
    }
    JsonNode counts = auto.result().manifest().path("counts");
    mix.forEach(
        (reason, n) ->
            assertThat(counts.path("samples_by_finish_reason").path(reason).asLong()).isEqualTo(n));
    assertThat(mix).containsKey("LENGTH");
    assertThat(counts.path("samples_excluded_by_reason").path("LENGTH").asLong())
        .isEqualTo(mix.get("LENGTH"));
    assertThat(auto.out()).contains("finish reasons").contains("not candidates: LENGTH ");
  }

  @Test
  void forcedTextFormatScoresTheRenderedTemplateAsTrlScoresThatString() {
    TestSupport.Run text =
        TestSupport.runWithSettings(
            spark,
            "west-of-n",
            settings("text", "output.pair-format=text", "selection.truncated=keep"));
    assertThat(
            TestSupport.asLong(
                TestSupport.duckdb(
                        "SELECT count(*) AS n FROM " + table(text, "pairs_conversational"))
                    .get(0)
                    .get("n")))
        .isZero();
    List<Map<String, Object>> chat =
        TestSupport.duckdb(
            "SELECT prompt, chosen, rejected, ref_chosen_logps, ref_rejected_logps,"
                + " chosen_finish_reason, response_format FROM "
                + table(text, "pairs")
                + " WHERE input_row >= 4");
    assertThat(chat).isNotEmpty();
    SequenceScorer scorer = new SequenceScorer(llama, 4096);
    for (Map<String, Object> r : chat) {
      String prompt = (String) r.get("prompt");
      assertThat(prompt).startsWith("<s><|im_start|>");
      assertThat(r.get("response_format")).isEqualTo("text");
      List<SequenceScorer.Result> s =
          scorer.score(
              List.of(
                  SequenceScorer.Request.of(prompt, (String) r.get("chosen")),
                  SequenceScorer.Request.of(prompt, (String) r.get("rejected"))),
              false);
      // Within float32 batch-layout noise: the pipeline scores a pair on one prefill of its prompt.
      assertThat(TestSupport.asDouble(r.get("ref_chosen_logps")))
          .isCloseTo(s.get(0).logprob(), within(Fixtures.logprobTolerance(s.get(0).logprob())));
      assertThat(TestSupport.asDouble(r.get("ref_rejected_logps")))
          .isCloseTo(s.get(1).logprob(), within(Fixtures.logprobTolerance(s.get(1).logprob())));
    }
    // tok(rendered prompt) with special tokens: TRL's second BOS in front of the template's.
    long[] ids = llama.tokenizer().encode((String) chat.get(0).get("prompt"), true);
    assertThat(ids[0]).isEqualTo(1L);
    assertThat(ids[1]).isEqualTo(1L);
    assertThat(text.result().manifest().path("counts").path("samples_excluded_by_reason").size())
        .isZero();
  }
}
