package org.prefscore.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.prefscore.executor.Chunks;
import org.prefscore.method.RefinementPrompt;
import org.prefscore.runtime.ModelFiles;
import org.prefscore.testing.Fixtures;

/**
 * x and p ⊕ x for plain and chat prompts, and assistant turns as responses, on the tiny-llama
 * fixture's chat template. No Spark.
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
}
