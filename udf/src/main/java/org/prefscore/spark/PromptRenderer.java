package org.prefscore.spark;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.prefscore.method.RefinementPrompt;
import org.prefscore.runtime.ChatMessage;
import org.prefscore.runtime.ChatTemplate;
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
 * </ul>
 *
 * <p>Chat templates are parsed once per JVM per model directory. Pure of Spark; thread-safe.
 */
public final class PromptRenderer {

  private static final Map<String, ChatTemplate> TEMPLATES = new ConcurrentHashMap<>();

  /** x and p ⊕ x. */
  public record Rendered(String prompt, String pxPrompt) {}

  /** Why a prompt could not be rendered: becomes a CHAT_TEMPLATE_ERROR reject. */
  public static final class RenderException extends RuntimeException {
    RenderException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  private final ModelFiles templateModel;
  private final RefinementPrompt refinement;

  public PromptRenderer(ModelFiles templateModel, RefinementPrompt refinement) {
    this.templateModel = templateModel;
    this.refinement = refinement;
  }

  /** Renders a plain-text prompt ({@code messages == null}) or a conversation. */
  public Rendered render(String text, List<ChatMessage> messages) {
    if (messages == null) {
      return new Rendered(text, refinement.apply(text));
    }
    ChatTemplate template = template();
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
    try {
      return new Rendered(template.render(messages, true), template.render(augmented, true));
    } catch (RuntimeException e) {
      throw new RenderException("chat template failed: " + e.getMessage(), e);
    }
  }

  private ChatTemplate template() {
    try {
      return TEMPLATES.computeIfAbsent(
          templateModel.directory().toAbsolutePath().toString(), d -> ChatTemplate.of(templateModel));
    } catch (RuntimeException e) {
      throw new RenderException(e.getMessage(), e);
    }
  }
}
