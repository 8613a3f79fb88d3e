package org.prefscore.job;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * chat.template-kwargs reach every chat-template rendering on the executors, in west-of-n (through
 * GenerationSettings) and in score-pairs (through PromptRenderFunction), as transformers'
 * apply_chat_template(messages, **kwargs) passes them: a copy of tiny-llama whose template reads
 * {@code enable_thinking} (as Qwen3's does) renders its prompts differently with it set.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TemplateKwargsTest {

  private static final String TEMPLATE =
      "{{ bos_token }}{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}"
          + "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n"
          + "{% if enable_thinking is defined and enable_thinking is false %}"
          + "<think>\n\n</think>\n\n{% endif %}{% endif %}";
  private static final String NO_THINKING = "<|im_start|>assistant\n<think>\n\n</think>\n\n";

  @TempDir static Path tmp;
  private SparkSession spark;
  private Path model;

  @BeforeAll
  void start() throws IOException {
    spark = TestSupport.localSpark("template-kwargs-test");
    model = tmp.resolve("thinking-llama");
    Files.createDirectories(model);
    try (Stream<Path> files = Files.list(Path.of(TestSupport.model("tiny-llama")))) {
      for (Path f : files.toList()) {
        Files.copy(f, model.resolve(f.getFileName()));
      }
    }
    ObjectMapper json = new ObjectMapper();
    ObjectNode config = (ObjectNode) json.readTree(model.resolve("tokenizer_config.json").toFile());
    config.put("chat_template", TEMPLATE);
    json.writeValue(model.resolve("tokenizer_config.json").toFile(), config);
  }

  @AfterAll
  void stop() {
    spark.stop();
  }

  private TestSupport.Run run(String mode, Path input, String runId, String... extra) {
    List<String> sets = TestSupport.smallRunSettings(input, tmp.resolve("out"), runId);
    if (mode.equals("west-of-n")) {
      sets.add("models.policy=" + model);
      sets.add("models.reward=" + TestSupport.model("tiny-reward"));
    } else {
      sets.add("models.reference=" + model);
    }
    sets.addAll(List.of(extra));
    return TestSupport.runWithSettings(spark, mode, sets);
  }

  private static List<String> prompts(TestSupport.Run run, String... tables) {
    List<String> prompts = new ArrayList<>();
    for (String table : tables) {
      for (Map<String, Object> r :
          TestSupport.duckdb(
              "SELECT prompt FROM "
                  + TestSupport.parquet(run.result().outputPath(), table)
                  + " ORDER BY input_row")) {
        prompts.add((String) r.get("prompt"));
      }
    }
    return prompts;
  }

  @Test
  void westOfNRendersItsChatPromptsWithTheKeywordArguments() throws IOException {
    Path input = tmp.resolve("chat.jsonl");
    List<String> lines = new ArrayList<>();
    for (String q : List.of("Name a fruit.", "Name a colour.", "Name a city.", "Name a tree.")) {
      lines.add("{\"messages\": [{\"role\": \"user\", \"content\": \"" + q + "\"}]}");
    }
    Files.write(input, lines, StandardCharsets.UTF_8);
    TestSupport.Run run =
        run(
            "west-of-n",
            input,
            "won",
            "chat.template-kwargs={\"enable_thinking\": false}",
            // the rendered prompts as text in pairs (auto would write the messages)
            "output.pair-format=text");
    List<String> rendered = prompts(run, "pairs", "filtered");
    assertThat(rendered).isNotEmpty();
    for (String p : rendered) {
      assertThat(p).startsWith("<s><|im_start|>user\nName a ").endsWith(NO_THINKING);
    }
    assertThat(run.result().manifest().path("config").path("chat.template-kwargs").asText())
        .isEqualTo("{\"enable_thinking\": false}");
  }

  @Test
  void scorePairsRendersDifferentlyWithTheKeywordArgumentSet() throws IOException {
    Path input = tmp.resolve("tuples.jsonl");
    Files.writeString(
        input,
        "{\"messages\": [{\"role\": \"user\", \"content\": \"Sky colour?\"}],"
            + " \"chosen\": \"Blue.\", \"rejected\": \"Green.\"}\n");
    List<String> without = prompts(run("score-pairs", input, "sp-plain"), "pairs");
    List<String> with =
        prompts(
            run(
                "score-pairs",
                input,
                "sp-kwargs",
                "chat.template-kwargs={\"enable_thinking\": false}"),
            "pairs");
    assertThat(without)
        .containsExactly(
            "<s><|im_start|>user\nSky colour?<|im_end|>\n" + "<|im_start|>assistant\n");
    assertThat(with).containsExactly(without.get(0) + "<think>\n\n</think>\n\n");
  }
}
