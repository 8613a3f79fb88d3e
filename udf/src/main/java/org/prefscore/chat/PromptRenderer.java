package org.prefscore.chat;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.prefscore.method.RefinementPrompt;
import org.prefscore.runtime.ModelFiles;

/**
 * Turns an input prompt into the text the models see, x, and its prompt-augmented form p ⊕ x.
 *
 * <ul>
 *   <li>Plain text: x is the prompt exactly as given; p ⊕ x is {@link RefinementPrompt#apply}.
 *   <li>Chat messages: x is the conversation rendered with the model's chat template and {@code
 *       add_generation_prompt=true}; p ⊕ x is the same conversation with p and the separator put in
 *       front of the content of its LAST user message, rendered the same way (so p stays inside the
 *       user turn instead of preceding the template's BOS and system text).
 *   <li>Chat messages with assistant turns as chosen and rejected ({@link #renderTurns}): TRL's
 *       {@code maybe_apply_chat_template} for conversational preference data. x is the common
 *       prefix of the conversation rendered with {@code add_generation_prompt=true} and the
 *       conversation + chosen rendered without it; each response is what follows x in the rendering
 *       of the conversation + that response (the template's end-of-turn text included). The same
 *       responses must follow p ⊕ x in the renderings with p, or the pair is refused.
 * </ul>
 *
 * <p>Pure of Spark; thread-safe when its template supplier is.
 */
public final class PromptRenderer {

  /** x and p ⊕ x. */
  public record Rendered(String prompt, String pxPrompt) {}

  /** x, p ⊕ x and the two responses as the chat template renders them after x. */
  public record RenderedTurns(String prompt, String pxPrompt, String chosen, String rejected) {}

  /** Why a prompt could not be rendered: becomes a CHAT_TEMPLATE_ERROR reject. */
  public static final class RenderException extends RuntimeException {
    RenderException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  private final Supplier<ChatTemplate> templates;
  private final RefinementPrompt refinement;

  /**
   * @param templates gives the chat template when a conversation is rendered (plain-text prompts
   *     never ask, so a model without a template serves them); an executor passes its registry's
   *     cached one
   * @param refinement p and its separator
   */
  public PromptRenderer(Supplier<ChatTemplate> templates, RefinementPrompt refinement) {
    this.templates = templates;
    this.refinement = refinement;
  }

  /** Compiles {@code templateModel}'s chat template on every conversation (for tests). */
  public PromptRenderer(ModelFiles templateModel, RefinementPrompt refinement) {
    this(() -> ChatTemplate.of(templateModel), refinement);
  }

  /** Renders a plain-text prompt ({@code messages == null}) or a conversation. */
  public Rendered render(String text, List<ChatMessage> messages) {
    if (messages == null) {
      return new Rendered(text, refinement.apply(text));
    }
    ChatTemplate template = template();
    List<ChatMessage> augmented = augmented(messages);
    try {
      return new Rendered(template.render(messages, true), template.render(augmented, true));
    } catch (RuntimeException e) {
      throw new RenderException("chat template failed: " + e.getMessage(), e);
    }
  }

  /**
   * Renders a conversation and two alternative assistant continuations of it (score-pairs and
   * evaluate with {@code input.response-format=messages}).
   *
   * @throws RenderException when a rendering fails, a rendered response is empty, or the template
   *     does not render a response after the prompt the same way it does after p ⊕ x
   */
  public RenderedTurns renderTurns(
      List<ChatMessage> messages, List<ChatMessage> chosen, List<ChatMessage> rejected) {
    ChatTemplate template = template();
    List<ChatMessage> augmented = augmented(messages);
    String x;
    String px;
    String[] full = new String[2];
    String[] fullPx = new String[2];
    try {
      x = template.render(messages, true);
      px = template.render(augmented, true);
      List<List<ChatMessage>> responses = List.of(chosen, rejected);
      for (int i = 0; i < 2; i++) {
        full[i] = template.render(concat(messages, responses.get(i)), false);
        fullPx[i] = template.render(concat(augmented, responses.get(i)), false);
      }
    } catch (RuntimeException e) {
      throw new RenderException("chat template failed: " + e.getMessage(), e);
    }
    // TRL: the prompt is the common prefix of the prompt rendering and the prompt + chosen one.
    String prompt = x.substring(0, commonPrefix(x, full[0]));
    String pxPrompt = px.substring(0, commonPrefix(px, fullPx[0]));
    String[] texts = new String[2];
    for (int i = 0; i < 2; i++) {
      String name = i == 0 ? "chosen" : "rejected";
      if (!full[i].startsWith(prompt) || !fullPx[i].startsWith(pxPrompt)) {
        throw new RenderException(
            "the chat template renders the conversation + "
                + name
                + " with a different prompt text than"
                + " the conversation + chosen",
            null);
      }
      texts[i] = full[i].substring(prompt.length());
      if (!texts[i].equals(fullPx[i].substring(pxPrompt.length()))) {
        throw new RenderException(
            "the chat template renders the " + name + " turn differently after p ⊕ x than after x",
            null);
      }
      if (texts[i].isEmpty()) {
        throw new RenderException("the " + name + " turn renders to no text", null);
      }
    }
    return new RenderedTurns(prompt, pxPrompt, texts[0], texts[1]);
  }

  /** The conversation with p and the separator put in front of its last user message. */
  private List<ChatMessage> augmented(List<ChatMessage> messages) {
    int lastUser = -1;
    for (int i = 0; i < messages.size(); i++) {
      if ("user".equals(messages.get(i).role())) {
        lastUser = i;
      }
    }
    if (lastUser < 0) {
      throw new RenderException("the conversation has no user message to put p in front of", null);
    }
    List<ChatMessage> augmented = new ArrayList<>(messages);
    ChatMessage user = messages.get(lastUser);
    augmented.set(lastUser, new ChatMessage(user.role(), refinement.apply(user.content())));
    return augmented;
  }

  private static List<ChatMessage> concat(List<ChatMessage> a, List<ChatMessage> b) {
    List<ChatMessage> all = new ArrayList<>(a);
    all.addAll(b);
    return all;
  }

  private static int commonPrefix(String a, String b) {
    int n = Math.min(a.length(), b.length());
    int i = 0;
    while (i < n && a.charAt(i) == b.charAt(i)) {
      i++;
    }
    return i;
  }

  private ChatTemplate template() {
    try {
      return templates.get();
    } catch (RuntimeException e) {
      throw new RenderException(e.getMessage(), e);
    }
  }
}
