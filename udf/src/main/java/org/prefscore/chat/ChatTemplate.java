package org.prefscore.chat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.prefscore.chat.JinjaAst.Node;
import org.prefscore.runtime.ModelFiles;
import org.prefscore.runtime.ModelLoadException;

/**
 * Renders conversational prompts from a model's Hugging Face {@code chat_template}, so that {@link
 * #render(List, boolean)} equals transformers' {@code tokenizer.apply_chat_template(messages,
 * tokenize=False, add_generation_prompt=...)}.
 *
 * <h2>A template is untrusted code</h2>
 *
 * Whoever published the model wrote the template, so it is evaluated by the project's own Jinja2
 * interpreter over plain values only (strings, numbers, booleans, None, lists, dicts, and Jinja2's
 * loop, namespace and cycler objects), never by a general template engine: no Java object, class,
 * method, field or bean property exists for a template, there is no file system ({@code include},
 * {@code import}, {@code extends} are refused when the template is loaded), attributes starting
 * with an underscore and the methods that would modify a list or dict fail, as in the {@code
 * jinja2.sandbox.ImmutableSandboxedEnvironment} transformers renders with. Each render runs under
 * {@link TemplateLimits} (time, output length, allocated characters, loop iterations, call depth,
 * {@code range} size; nesting when loaded): exceeding one throws a {@link LimitExceededException}
 * naming the model, the limit and the value, so a template can neither hang a task nor take the JVM
 * down.
 *
 * <h2>How</h2>
 *
 * transformers compiles chat templates with {@code trim_blocks=True, lstrip_blocks=True}, the
 * {@code loopcontrols} extension, a {@code {% generation %}} tag, the globals {@code
 * raise_exception(msg)} and {@code strftime_now(fmt)} and its own {@code tojson} filter. {@link
 * JinjaLexer} applies Jinja2's whitespace rules ({@code {%- -%}}, {@code {%+ %}}, comments, {@code
 * raw}, {@code keep_trailing_newline=False}), {@link JinjaParser} reads Jinja2's grammar (its
 * precedence, chained comparisons, {@code not in}, slices, keyword arguments, loop filters, {@code
 * recursive} loops, macros, block {@code set}, {@code filter} blocks), and {@link JinjaRenderer}
 * evaluates it with Python's semantics ({@link Py}) and Jinja2's builtins ({@link Builtins}):
 * Undefined prints as an empty string and fails on attribute access, {@code None} prints as {@code
 * None}, lists and dicts print as Python's repr, {@code tojson} is transformers' ({@link
 * PythonJson}). The variables are {@code messages} (dicts with {@code role} and {@code content}),
 * {@code add_generation_prompt}, {@code bos_token}, {@code eos_token}, {@code tools} and {@code
 * documents} (None), and the caller's keyword arguments.
 *
 * <h2>Failing loudly</h2>
 *
 * A template that does not parse, nests too deeply or uses a refused tag fails in {@link #of}. At
 * render time an unknown filter, test or function, a Python-level error (a TypeError, an undefined
 * value used as an object, an unsafe attribute), a {@code raise_exception} call or an exceeded
 * limit throws a {@link ChatTemplateException} with the template line; an empty message list is an
 * {@link IllegalArgumentException}.
 *
 * <h2>Threads</h2>
 *
 * Instances are immutable and thread-safe: the template is parsed once into a read-only tree and
 * every render has its own state, so one instance serves all task threads of an executor.
 */
public final class ChatTemplate {

  /** Rendering failed: the template called raise_exception, or hit a template error. */
  public static class ChatTemplateException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final boolean raisedByTemplate;

    ChatTemplateException(String message, boolean raisedByTemplate, Throwable cause) {
      super(message, cause);
      this.raisedByTemplate = raisedByTemplate;
    }

    /** True when the template itself rejected the messages through {@code raise_exception}. */
    public boolean raisedByTemplate() {
      return raisedByTemplate;
    }
  }

  /** A render exceeded one of its {@link TemplateLimits}. */
  public static final class LimitExceededException extends ChatTemplateException {
    private static final long serialVersionUID = 1L;
    private final String limit;
    private final String value;

    LimitExceededException(String template, String limit, String value) {
      super(
          "chat template of " + template + " exceeded its " + limit + " limit: " + value,
          false,
          null);
      this.limit = limit;
      this.value = value;
    }

    /** Which limit: "render time", "output length", "loop iterations", ... */
    public String limit() {
      return limit;
    }

    /** What was exceeded, with the bound. */
    public String value() {
      return value;
    }
  }

  /** Names a template keyword argument may not take: {@code apply_chat_template} binds them. */
  public static final Set<String> RESERVED_KWARGS =
      Set.of("messages", "add_generation_prompt", "tools", "documents");

  private final String source;
  private final String name;
  private final String bosToken;
  private final String eosToken;
  private final TemplateLimits limits;
  private final List<Node> nodes;

  private ChatTemplate(
      String source, String name, String bosToken, String eosToken, TemplateLimits limits) {
    this.source = Objects.requireNonNull(source, "template");
    this.name = name;
    this.bosToken = Objects.requireNonNull(bosToken, "bosToken");
    this.eosToken = Objects.requireNonNull(eosToken, "eosToken");
    this.limits = Objects.requireNonNull(limits, "limits");
    this.nodes = JinjaParser.parse(source, limits.nesting());
  }

  /**
   * The chat template of a model directory ({@code tokenizer_config.json}'s {@code chat_template})
   * with the model's BOS and EOS text, under {@link TemplateLimits#DEFAULTS}.
   *
   * @throws ModelLoadException if the model has no chat template, or it does not parse
   */
  public static ChatTemplate of(ModelFiles files) {
    String template = files.chatTemplate().filter(t -> !t.isBlank()).orElse(null);
    Path config = files.directory().resolve("tokenizer_config.json");
    if (template == null) {
      throw new ModelLoadException(
          config,
          "no chat_template in tokenizer_config.json: the model has no chat template, so"
              + " conversational prompts cannot be rendered for it");
    }
    try {
      return new ChatTemplate(
          template,
          files.directory().toString(),
          files.bosToken(),
          files.eosToken(),
          TemplateLimits.DEFAULTS);
    } catch (IllegalArgumentException e) {
      throw new ModelLoadException(config, e.getMessage(), e);
    }
  }

  /**
   * A chat template given as Jinja source, under {@link TemplateLimits#DEFAULTS}.
   *
   * @throws IllegalArgumentException if the template does not parse or uses a refused tag
   */
  public static ChatTemplate of(String template, String bosToken, String eosToken) {
    return of(template, bosToken, eosToken, TemplateLimits.DEFAULTS);
  }

  /** A chat template given as Jinja source, under {@code limits}. */
  public static ChatTemplate of(
      String template, String bosToken, String eosToken, TemplateLimits limits) {
    return new ChatTemplate(template, "an inline template", bosToken, eosToken, limits);
  }

  /** The Jinja source, as given. */
  public String source() {
    return source;
  }

  /**
   * Renders a conversation, as transformers' {@code apply_chat_template(messages, tokenize=False,
   * add_generation_prompt=addGenerationPrompt)} does.
   *
   * @throws IllegalArgumentException if {@code messages} is empty
   * @throws ChatTemplateException if the template raises an exception, fails to render or exceeds a
   *     limit
   */
  public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
    return render(messages, addGenerationPrompt, Map.of());
  }

  /**
   * As {@link #render(List, boolean)}, with extra template variables, as transformers' {@code
   * apply_chat_template(messages, **kwargs)} passes them (e.g. {@code enable_thinking=False}): they
   * are bound beside {@code messages}, and override {@code bos_token}/{@code eos_token}.
   *
   * @param kwargs plain values only: strings, booleans, numbers, null, and lists and maps of them
   * @throws IllegalArgumentException when a name is one of {@link #RESERVED_KWARGS} or a value is
   *     not plain
   */
  public String render(
      List<ChatMessage> messages, boolean addGenerationPrompt, Map<String, Object> kwargs) {
    for (String key : kwargs.keySet()) {
      if (RESERVED_KWARGS.contains(key)) {
        throw new IllegalArgumentException(
            "chat template keyword argument '" + key + "' is bound by apply_chat_template itself");
      }
    }
    if (messages.isEmpty()) {
      // Templates index messages[0]; Jinja2 fails there too.
      throw new IllegalArgumentException("no messages to render");
    }
    Map<String, Object> bindings = new HashMap<>();
    bindings.put("messages", asDicts(messages));
    bindings.put("add_generation_prompt", addGenerationPrompt);
    bindings.put("tools", null);
    bindings.put("documents", null);
    bindings.put("bos_token", bosToken);
    bindings.put("eos_token", eosToken);
    kwargs.forEach((k, v) -> bindings.put(k, Py.fromJava(v)));
    try {
      return new JinjaRenderer(new Budget(limits)).render(nodes, bindings);
    } catch (Budget.Exceeded e) {
      throw new LimitExceededException(name, e.limit, e.value);
    } catch (JinjaRenderer.RenderError e) {
      Throwable cause = e.getCause();
      if (cause instanceof Budget.Exceeded x) {
        throw new LimitExceededException(name, x.limit, x.value);
      }
      throw new ChatTemplateException(
          "chat template failed to render: " + e.getMessage(), false, e);
    } catch (JinjaRenderer.RaisedByTemplate e) {
      throw new ChatTemplateException(
          "chat template raised an exception: " + e.getMessage(), true, e);
    } catch (Py.PyError e) {
      throw new ChatTemplateException(
          "chat template failed to render: " + e.getMessage(), false, e);
    } catch (StackOverflowError e) {
      // Not reachable within the limits; a last line of defence for the executor's thread.
      throw new ChatTemplateException(
          "chat template of " + name + " nested too deeply to render", false, null);
    }
  }

  private static List<Map<String, Object>> asDicts(List<ChatMessage> messages) {
    List<Map<String, Object>> dicts = new ArrayList<>(messages.size());
    for (ChatMessage message : messages) {
      Objects.requireNonNull(message, "message");
      Map<String, Object> dict = new LinkedHashMap<>(4);
      dict.put("role", message.role());
      dict.put("content", message.content());
      dicts.add(Collections.unmodifiableMap(dict));
    }
    return Collections.unmodifiableList(dicts);
  }
}
