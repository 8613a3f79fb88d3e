package org.prefscore.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.prefscore.executor.Chunks;
import org.prefscore.method.RefinementPrompt;
import org.prefscore.runtime.ModelFiles;
import org.prefscore.runtime.ModelLoadException;
import org.prefscore.testing.Fixtures;

/**
 * x and p ⊕ x for plain and chat prompts, and assistant turns as responses, on the tiny-llama
 * fixture's chat template; template keyword arguments; the driver's template probe. No Spark.
 */
class PromptRendererTest {

  private final ModelFiles llama = ModelFiles.read(Fixtures.model("tiny-llama"));
  private final PromptRenderer renderer =
      new PromptRenderer(llama, new RefinementPrompt("P:", " | "));

  @Test
  void plainPromptsAreUsedAsGivenAndPrefixedWithP() {
    PromptRenderer.Rendered r = renderer.render(" Hello ", null);
    assertThat(r.prompt()).isEqualTo(" Hello ");
    assertThat(r.pxPrompt()).isEqualTo("P: |  Hello ");
  }

  @Test
  void pGoesInFrontOfTheLastUserMessageInsideTheTemplate() {
    List<ChatMessage> chat =
        List.of(ChatMessage.user("first"), ChatMessage.assistant("ok"), ChatMessage.user("second"));
    PromptRenderer.Rendered r = renderer.render(null, chat);
    assertThat(r.prompt())
        .isEqualTo(
            "<s><|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
                + "<|im_start|>user\nfirst<|im_end|>\n<|im_start|>assistant\nok<|im_end|>\n"
                + "<|im_start|>user\nsecond<|im_end|>\n<|im_start|>assistant\n");
    assertThat(r.pxPrompt()).isEqualTo(r.prompt().replace("user\nsecond", "user\nP: | second"));
  }

  @Test
  void assistantTurnsAreWhatFollowsXInTheRenderedConversation() {
    List<ChatMessage> prompt = List.of(ChatMessage.user("Colour of the sky?"));
    PromptRenderer.RenderedTurns r =
        renderer.renderTurns(
            prompt,
            List.of(ChatMessage.assistant("Blue.")),
            List.of(ChatMessage.assistant("Green, surely.")));
    assertThat(r.prompt()).isEqualTo(renderer.render(null, prompt).prompt());
    assertThat(r.pxPrompt()).isEqualTo(renderer.render(null, prompt).pxPrompt());
    // The template's end-of-turn text belongs to the response (TRL's maybe_apply_chat_template).
    assertThat(r.chosen()).isEqualTo("Blue.<|im_end|>\n");
    assertThat(r.rejected()).isEqualTo("Green, surely.<|im_end|>\n");
  }

  @Test
  void assistantTurnsMatchTransformersRenderingOfTheWholeConversation() {
    // Golden: transformers' apply_chat_template(system, user, assistant;
    // add_generation_prompt=False).
    JsonNode golden = null;
    for (JsonNode c : Fixtures.golden("tiny-llama").path("chat_cases")) {
      if (!c.path("add_generation_prompt").asBoolean() && c.path("messages").size() == 3) {
        golden = c;
      }
    }
    assertThat(golden).as("golden chat case with a final assistant turn").isNotNull();
    List<ChatMessage> messages = new ArrayList<>();
    for (JsonNode m : golden.path("messages")) {
      messages.add(new ChatMessage(m.path("role").asText(), m.path("content").asText()));
    }
    assertThat(messages.get(2).role()).isEqualTo("assistant");
    PromptRenderer.RenderedTurns r =
        renderer.renderTurns(
            messages.subList(0, 2), messages.subList(2, 3), List.of(ChatMessage.assistant("No.")));
    assertThat(r.prompt() + r.chosen()).isEqualTo(golden.path("rendered").asText());
    assertThat(r.chosen()).startsWith(messages.get(2).content());
  }

  @Test
  void assistantTurnsNeedAUserTurnForP() {
    assertThatThrownBy(
            () ->
                renderer.renderTurns(
                    List.of(ChatMessage.system("s")),
                    List.of(ChatMessage.assistant("a")),
                    List.of(ChatMessage.assistant("b"))))
        .isInstanceOf(PromptRenderer.RenderException.class)
        .hasMessageContaining("no user message");
  }

  @Test
  void aConversationWithoutAUserTurnCannotBeRendered() {
    assertThatThrownBy(() -> renderer.render(null, List.of(ChatMessage.system("s"))))
        .isInstanceOf(PromptRenderer.RenderException.class)
        .hasMessageContaining("no user message");
  }

  @Test
  void chunksHandOutEveryRowInOrderInBoundedChunks() {
    List<Integer> sizes = new ArrayList<>();
    Chunks<Integer, Integer> chunks =
        new Chunks<>(
            List.of(1, 2, 3, 4, 5, 6, 7).iterator(),
            3,
            c -> {
              sizes.add(c.size());
              return c.stream().map(i -> i * 10).toList();
            });
    List<Integer> out = new ArrayList<>();
    chunks.forEachRemaining(out::add);
    assertThat(out).containsExactly(10, 20, 30, 40, 50, 60, 70);
    assertThat(sizes).containsExactly(3, 3, 1);
  }

  @TempDir Path temp;

  /** A copy of tiny-llama whose chat template is {@code template}. */
  private ModelFiles withTemplate(String template) throws IOException {
    Path dir = temp.resolve("model");
    Files.createDirectories(dir);
    try (Stream<Path> files = Files.list(Fixtures.model("tiny-llama"))) {
      for (Path f : files.toList()) {
        Files.copy(f, dir.resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
      }
    }
    ObjectMapper json = new ObjectMapper();
    ObjectNode config = (ObjectNode) json.readTree(dir.resolve("tokenizer_config.json").toFile());
    if (template == null) {
      config.remove("chat_template");
    } else {
      config.put("chat_template", template);
    }
    json.writeValue(dir.resolve("tokenizer_config.json").toFile(), config);
    return ModelFiles.read(dir);
  }

  /** Qwen3's switch, in the style of its template. */
  private static final String THINKING =
      "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
          + "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n"
          + "{% if enable_thinking is defined and enable_thinking is false %}<think>\n\n</think>\n\n"
          + "{% endif %}{% endif %}{% if tags is defined %}{{ tags | join(',') }}|{{ meta['k'] }}{% endif %}";

  @Test
  void templateKeywordArgumentsReachEveryRendering() throws IOException {
    ModelFiles model = withTemplate(THINKING);
    RefinementPrompt p = new RefinementPrompt("P:", " ");
    List<ChatMessage> chat = List.of(ChatMessage.user("Hi"));
    String plain = new PromptRenderer(model, p).render(null, chat).prompt();
    assertThat(plain).isEqualTo("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    PromptRenderer.Rendered off =
        new PromptRenderer(model, p, Map.of("enable_thinking", false)).render(null, chat);
    assertThat(off.prompt()).isEqualTo(plain + "<think>\n\n</think>\n\n");
    assertThat(off.pxPrompt()).endsWith("<think>\n\n</think>\n\n").contains("P: Hi");
    assertThat(
            new PromptRenderer(model, p, Map.of("enable_thinking", true))
                .render(null, chat)
                .prompt())
        .isEqualTo(plain);
    Map<String, Object> nested = new LinkedHashMap<>();
    nested.put("tags", List.of("a", 2L, 1.5));
    nested.put("meta", Map.of("k", "v"));
    assertThat(new PromptRenderer(model, p, nested).render(null, chat).prompt())
        .endsWith("a,2,1.5|v");
    // Assistant turns as responses are rendered with them too.
    PromptRenderer.RenderedTurns turns =
        new PromptRenderer(model, p, Map.of("enable_thinking", false))
            .renderTurns(
                chat,
                List.of(ChatMessage.assistant("Yes.")),
                List.of(ChatMessage.assistant("No.")));
    assertThat(turns.prompt()).isEqualTo(plain);
    assertThat(turns.chosen()).isEqualTo("Yes.<|im_end|>\n");
    // Plain-text prompts never see the template.
    assertThat(
            new PromptRenderer(model, p, Map.of("enable_thinking", false))
                .render("x", null)
                .prompt())
        .isEqualTo("x");
  }

  @Test
  void reservedNamesAndValuesThatAreNotPlainAreRefused() {
    for (String reserved : ChatTemplate.RESERVED_KWARGS) {
      assertThatThrownBy(
              () -> new PromptRenderer(llama, RefinementPrompt.paper(), Map.of(reserved, 1L)))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("'" + reserved + "' is bound by apply_chat_template");
    }
    assertThatThrownBy(
            () -> new PromptRenderer(llama, RefinementPrompt.paper(), Map.of("when", new Object())))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("only strings, booleans, numbers, null, lists and maps");
    assertThatThrownBy(
            () -> new PromptRenderer(llama, RefinementPrompt.paper(), Map.of("x", Double.NaN)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not finite");
  }

  @Test
  void theProbeChecksATemplateAsTheExecutorsWillUseIt() throws IOException {
    assertThat(PromptRenderer.probe(llama, Map.of()))
        .hasValueSatisfying(
            r -> assertThat(r).contains("<|im_start|>user\nHello! How are you today?"));
    for (String fixture : List.of("tiny-gpt2", "tiny-pythia", "tiny-llama-ckpt")) {
      assertThat(PromptRenderer.probe(ModelFiles.read(Fixtures.model(fixture)), Map.of()))
          .as(fixture)
          .isPresent();
    }
    assertThat(PromptRenderer.probe(withTemplate(null), Map.of())).isEmpty();
    assertThat(PromptRenderer.probe(withTemplate(THINKING), Map.of("enable_thinking", false)))
        .hasValueSatisfying(r -> assertThat(r).endsWith("</think>\n\n"));

    ModelFiles raising = withTemplate("{{ raise_exception('System message required') }}");
    assertThatThrownBy(() -> PromptRenderer.probe(raising, Map.of()))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageStartingWith(raising.directory().resolve("tokenizer_config.json").toString())
        .hasMessageContaining("cannot render a one-message conversation")
        .hasMessageContaining("System message required");
    ModelFiles broken = withTemplate("{% if messages %}unclosed");
    assertThatThrownBy(() -> PromptRenderer.probe(broken, Map.of()))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageStartingWith(broken.directory().resolve("tokenizer_config.json").toString());
    ModelFiles mute =
        withTemplate("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{% endfor %}");
    assertThatThrownBy(() -> PromptRenderer.probe(mute, Map.of()))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageContaining("without its content");
  }
}
