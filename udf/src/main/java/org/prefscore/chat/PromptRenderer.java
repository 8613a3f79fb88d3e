package org.prefscore.chat;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
  private final Map<String, Object> templateKwargs;

  /**
   * @param templates gives the chat template when a conversation is rendered (plain-text prompts
   *     never ask, so a model without a template serves them); an executor passes its registry's
   *     cached one
   * @param refinement p and its separator
   * @param templateKwargs extra template variables passed to every rendering, as transformers'
   *     {@code apply_chat_template(messages, **kwargs)} does (e.g. {@code enable_thinking}): plain
   *     values only (String, Boolean, Long, Double, null, and Lists and Maps of them); none of
   *     {@link ChatTemplate#RESERVED_KWARGS}
   * @throws IllegalArgumentException for a reserved name or a value that is not plain
   */
  public PromptRenderer(
      Supplier<ChatTemplate> templates,
      RefinementPrompt refinement,
      Map<String, Object> templateKwargs) {
    this.templates = templates;
    this.refinement = refinement;
    this.templateKwargs = checked(templateKwargs);
  }

  /** Without template keyword arguments. */
  public PromptRenderer(Supplier<ChatTemplate> templates, RefinementPrompt refinement) {
    this(templates, refinement, Map.of());
  }

  /** Compiles {@code templateModel}'s chat template on every conversation (for tests). */
  public PromptRenderer(ModelFiles templateModel, RefinementPrompt refinement) {
    this(() -> ChatTemplate.of(templateModel), refinement);
  }

  /**
   * Compiles {@code templateModel}'s chat template on every conversation and renders with {@code
   * templateKwargs} (for tests).
   */
  public PromptRenderer(
      ModelFiles templateModel, RefinementPrompt refinement, Map<String, Object> templateKwargs) {
    this(() -> ChatTemplate.of(templateModel), refinement, templateKwargs);
  }

  /** The conversation the driver renders to check a chat template before Spark starts. */
  public static final List<ChatMessage> PROBE =
      List.of(ChatMessage.user("Hello! How are you today?"));

  /**
   * Checks {@code files}' chat template as the executors will use it: it compiles, and renders
   * {@link #PROBE} with {@code add_generation_prompt=true}, and {@link #PROBE} plus an assistant
   * turn without it, both with {@code templateKwargs}, to a text that holds the user's words.
   *
   * @return the rendering of {@link #PROBE}, or empty when the model has no chat template (chat
   *     prompts then become CHAT_TEMPLATE_ERROR rejects)
   * @throws org.prefscore.runtime.ModelLoadException naming tokenizer_config.json and the problem
   */
  public static java.util.Optional<String> probe(
      ModelFiles files, Map<String, Object> templateKwargs) {
    if (files.chatTemplate().filter(t -> !t.isBlank()).isEmpty()) {
      return java.util.Optional.empty();
    }
    java.nio.file.Path config = files.directory().resolve("tokenizer_config.json");
    ChatTemplate template = ChatTemplate.of(files);
    Map<String, Object> kwargs = checked(templateKwargs);
    String rendered;
    try {
      rendered = template.render(PROBE, true, copy(kwargs));
      List<ChatMessage> turn = new ArrayList<>(PROBE);
      turn.add(ChatMessage.assistant("I am fine, thank you."));
      template.render(turn, false, copy(kwargs));
    } catch (RuntimeException e) {
      throw new org.prefscore.runtime.ModelLoadException(
          config,
          "the chat template cannot render a one-message conversation"
              + (kwargs.isEmpty() ? "" : " with the keyword arguments " + kwargs.keySet())
              + ": "
              + e.getMessage(),
          e);
    }
    if (!rendered.contains(PROBE.get(0).content())) {
      throw new org.prefscore.runtime.ModelLoadException(
          config,
          "the chat template renders a one-message conversation without its content: '"
              + rendered
              + "'");
    }
    return java.util.Optional.of(rendered);
  }

  /** Renders a plain-text prompt ({@code messages == null}) or a conversation. */
  public Rendered render(String text, List<ChatMessage> messages) {
    if (messages == null) {
      return new Rendered(text, refinement.apply(text));
    }
    ChatTemplate template = template();
    List<ChatMessage> augmented = augmented(messages);
    try {
      return new Rendered(
          template.render(messages, true, copy(templateKwargs)),
          template.render(augmented, true, copy(templateKwargs)));
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
      x = template.render(messages, true, copy(templateKwargs));
      px = template.render(augmented, true, copy(templateKwargs));
      List<List<ChatMessage>> responses = List.of(chosen, rejected);
      for (int i = 0; i < 2; i++) {
        full[i] = template.render(concat(messages, responses.get(i)), false, copy(templateKwargs));
        fullPx[i] =
            template.render(concat(augmented, responses.get(i)), false, copy(templateKwargs));
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

  /**
   * TRL's conversational renderings of a conversation and plain assistant responses to it (a
   * West-of-N pair of a chat prompt): x and p ⊕ x rendered with {@code add_generation_prompt=true},
   * and for each response the conversation (and its p ⊕ x form) + {@code {"role": "assistant",
   * "content": response}} rendered without it. TRL tokenizes these (without special tokens) and
   * takes the response's ids as the joint ids past the prompt's.
   *
   * @throws RenderException when a rendering fails
   */
  public Conversation renderConversation(List<ChatMessage> messages, List<String> responses) {
    ChatTemplate template = template();
    List<ChatMessage> augmented = augmented(messages);
    try {
      String x = template.render(messages, true, copy(templateKwargs));
      String px = template.render(augmented, true, copy(templateKwargs));
      List<String> full = new ArrayList<>(responses.size());
      List<String> fullPx = new ArrayList<>(responses.size());
      for (String response : responses) {
        List<ChatMessage> turn = List.of(ChatMessage.assistant(response));
        full.add(template.render(concat(messages, turn), false, copy(templateKwargs)));
        fullPx.add(template.render(concat(augmented, turn), false, copy(templateKwargs)));
      }
      return new Conversation(x, px, List.copyOf(full), List.copyOf(fullPx));
    } catch (RuntimeException e) {
      throw new RenderException("chat template failed: " + e.getMessage(), e);
    }
  }

  /**
   * The renderings of {@link #renderConversation}: x, p ⊕ x, and per response the conversation +
   * that response after x and after p ⊕ x.
   */
  public record Conversation(
      String prompt, String pxPrompt, List<String> full, List<String> fullPx) {}

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

  /**
   * A checked, immutable copy of template keyword arguments.
   *
   * @throws IllegalArgumentException for a reserved name or a value that is not plain
   */
  public static Map<String, Object> checked(Map<String, Object> kwargs) {
    if (kwargs == null || kwargs.isEmpty()) {
      return Map.of();
    }
    Map<String, Object> checked = new LinkedHashMap<>();
    for (Map.Entry<String, Object> e : kwargs.entrySet()) {
      if (ChatTemplate.RESERVED_KWARGS.contains(e.getKey())) {
        throw new IllegalArgumentException(
            "chat template keyword argument '"
                + e.getKey()
                + "' is bound by apply_chat_template itself");
      }
      checked.put(e.getKey(), plain(e.getKey(), e.getValue()));
    }
    return Collections.unmodifiableMap(checked);
  }

  private static Object plain(String name, Object v) {
    if (v == null || v instanceof String || v instanceof Boolean) {
      return v;
    }
    if (v instanceof Long || v instanceof Integer || v instanceof Short || v instanceof Byte) {
      return ((Number) v).longValue();
    }
    if (v instanceof Double || v instanceof Float) {
      double d = ((Number) v).doubleValue();
      if (!Double.isFinite(d)) {
        throw new IllegalArgumentException(
            "chat template keyword argument '" + name + "' holds a number that is not finite");
      }
      return d;
    }
    if (v instanceof List<?> list) {
      List<Object> out = new ArrayList<>(list.size());
      for (Object item : list) {
        out.add(plain(name, item));
      }
      return Collections.unmodifiableList(out);
    }
    if (v instanceof Map<?, ?> map) {
      Map<String, Object> out = new LinkedHashMap<>();
      for (Map.Entry<?, ?> e : map.entrySet()) {
        if (!(e.getKey() instanceof String key)) {
          throw new IllegalArgumentException(
              "chat template keyword argument '" + name + "' holds a map with a non-string key");
        }
        out.put(key, plain(name, e.getValue()));
      }
      return Collections.unmodifiableMap(out);
    }
    throw new IllegalArgumentException(
        "chat template keyword argument '"
            + name
            + "' holds a "
            + v.getClass().getSimpleName()
            + ": only strings, booleans, numbers, null, lists and maps of them");
  }

  /**
   * A mutable deep copy for one rendering: a template may change what it is given (a list's
   * append), which must not leak into the next rendering or another thread's.
   */
  private static Map<String, Object> copy(Map<String, Object> kwargs) {
    if (kwargs.isEmpty()) {
      return kwargs;
    }
    Map<String, Object> out = new LinkedHashMap<>();
    kwargs.forEach((k, v) -> out.put(k, copyValue(v)));
    return out;
  }

  private static Object copyValue(Object v) {
    if (v instanceof List<?> list) {
      List<Object> out = new ArrayList<>(list.size());
      list.forEach(item -> out.add(copyValue(item)));
      return out;
    }
    if (v instanceof Map<?, ?> map) {
      Map<Object, Object> out = new LinkedHashMap<>();
      map.forEach((k, item) -> out.put(k, copyValue(item)));
      return out;
    }
    return v;
  }

  private ChatTemplate template() {
    try {
      return templates.get();
    } catch (RuntimeException e) {
      throw new RenderException(e.getMessage(), e);
    }
  }
}
