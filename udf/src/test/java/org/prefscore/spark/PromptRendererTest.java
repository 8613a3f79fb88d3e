package org.prefscore.spark;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.prefscore.method.RefinementPrompt;
import org.prefscore.runtime.ChatMessage;
import org.prefscore.runtime.Fixtures;
import org.prefscore.runtime.ModelFiles;

/** x and p ⊕ x for plain and chat prompts, on the tiny-llama fixture's chat template. No Spark. */
class PromptRendererTest {

  private final ModelFiles llama = ModelFiles.read(Fixtures.model("tiny-llama"));
  private final PromptRenderer renderer = new PromptRenderer(llama, new RefinementPrompt("P:", " | "));

  @Test
  void plainPromptsAreUsedAsGivenAndPrefixedWithP() {
    PromptRenderer.Rendered r = renderer.render(" Hello ", null);
    assertThat(r.prompt()).isEqualTo(" Hello ");
    assertThat(r.pxPrompt()).isEqualTo("P: |  Hello ");
  }

  @Test
  void pGoesInFrontOfTheLastUserMessageInsideTheTemplate() {
    List<ChatMessage> chat = List.of(ChatMessage.user("first"), ChatMessage.assistant("ok"), ChatMessage.user("second"));
    PromptRenderer.Rendered r = renderer.render(null, chat);
    assertThat(r.prompt()).isEqualTo("<s><|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        + "<|im_start|>user\nfirst<|im_end|>\n<|im_start|>assistant\nok<|im_end|>\n"
        + "<|im_start|>user\nsecond<|im_end|>\n<|im_start|>assistant\n");
    assertThat(r.pxPrompt()).isEqualTo(r.prompt().replace("user\nsecond", "user\nP: | second"));
  }

  @Test
  void aConversationWithoutAUserTurnCannotBeRendered() {
    assertThatThrownBy(() -> renderer.render(null, List.of(ChatMessage.system("s"))))
        .isInstanceOf(PromptRenderer.RenderException.class).hasMessageContaining("no user message");
  }

  @Test
  void chunksHandOutEveryRowInOrderInBoundedChunks() {
    List<Integer> sizes = new ArrayList<>();
    Chunks<Integer, Integer> chunks = new Chunks<>(List.of(1, 2, 3, 4, 5, 6, 7).iterator(), 3, c -> {
      sizes.add(c.size());
      return c.stream().map(i -> i * 10).toList();
    });
    List<Integer> out = new ArrayList<>();
    chunks.forEachRemaining(out::add);
    assertThat(out).containsExactly(10, 20, 30, 40, 50, 60, 70);
    assertThat(sizes).containsExactly(3, 3, 1);
  }
}
