package org.prefscore.chat;

import static org.prefscore.chat.PythonShims.str;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.interpret.Context;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.interpret.TemplateError.ErrorType;
import com.hubspot.jinjava.interpret.TemplateSyntaxException;
import com.hubspot.jinjava.lib.expression.ExpressionStrategy;
import com.hubspot.jinjava.lib.exptest.ExpTest;
import com.hubspot.jinjava.lib.filter.Filter;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import com.hubspot.jinjava.lib.tag.Tag;
import com.hubspot.jinjava.objects.SafeString;
import com.hubspot.jinjava.objects.date.StrftimeFormatter;
import com.hubspot.jinjava.tree.Node;
import com.hubspot.jinjava.tree.TagNode;
import com.hubspot.jinjava.tree.output.RenderedOutputNode;
import com.hubspot.jinjava.tree.parse.ExpressionToken;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Collectors;
import jinjava.javax.el.CompositeELResolver;
import jinjava.javax.el.ELResolver;
import org.prefscore.chat.PythonShims.PyEndFilter;
import org.prefscore.chat.PythonShims.PyStringFilter;
import org.prefscore.chat.PythonShims.PyToJsonFilter;
import org.prefscore.chat.PythonShims.PyTrimFilter;
import org.prefscore.chat.PythonShims.PythonMethods;
import org.prefscore.runtime.ModelFiles;
import org.prefscore.runtime.ModelLoadException;

/**
 * Renders conversational prompts from a model's Hugging Face {@code chat_template} with Jinjava, so
 * that {@link #render(List, boolean)} equals transformers' {@code tokenizer.apply_chat_template(
 * messages, tokenize=False, add_generation_prompt=...)}.
 *
 * <h2>How</h2>
 *
 * transformers compiles chat templates in a {@code jinja2.sandbox.ImmutableSandboxedEnvironment(
 * trim_blocks=True, lstrip_blocks=True)} with the {@code loopcontrols} extension, a {@code {%
 * generation %}} tag, the globals {@code raise_exception(msg)} and {@code strftime_now(fmt)} and
 * its own {@code tojson} filter. Jinjava alone does not reproduce that: its {@code withTrimBlocks}
 * and {@code withLstripBlocks} exist, but its lstrip_blocks also strips the whitespace before a tag
 * in the middle of a line ({@code "a {% if x %}"} loses its space) and it has no {@code {%+ ...
 * %}}; its parser reads {@code not x is defined} as {@code (not x) is defined} and {@code not a in
 * b} as {@code (not a) in b} (both silently wrong), fails on {@code namespace(n=xs|length - 1)} and
 * {@code xs[::-1]}; and by default it renders message text that contains {@code {{ }}} as a
 * template. So the template goes through two passes before Jinjava parses it (once, in {@link
 * #of}):
 *
 * <ol>
 *   <li>{@link JinjaLexer}, Jinja2's lexer: applies trim_blocks, lstrip_blocks, {@code {%- -%}},
 *       {@code {{- -}}}, {@code {#- -#}}, {@code {%+ +%}}, comments, {@code {% raw %}} and {@code
 *       keep_trailing_newline=False} to the source exactly as Jinja2 does (Jinjava's own whitespace
 *       options stay off), and keeps line numbers for error messages.
 *   <li>{@link JinjaCompiler}, Jinja2's expression grammar: re-emits every expression of {@code {{
 *       }}}, {@code for}, {@code if}, {@code elif} and {@code set} fully parenthesized, decodes
 *       string literals with Python's escapes ({@code \n}, {@code \x41}, {@code \N{BULLET}}, ...),
 *       and rewrites what Jinjava lacks: chained comparisons, {@code not in}, {@code x[::-1]},
 *       keyword arguments, tuples (as lists), Python item access ({@code s[0]}, {@code xs[-1]}) and
 *       iteration over a string's characters.
 * </ol>
 *
 * Jinjava then runs with nested interpretation off, its Python-compatible {@link LegacyOverrides}
 * (operator precedence, dict-literal keys, iteration over dict keys, nulls kept in loops,
 * Python-style printing of lists and dicts) and Python shims: booleans print as {@code True}/{@code
 * False}; the str methods {@code strip/lstrip/rstrip([chars])}, {@code startswith/endswith}, {@code
 * split/rsplit}, {@code replace}, {@code upper/lower/capitalize/title}, {@code find}, {@code
 * count}, {@code join} and dict {@code get(key[, default])} follow Python; the filters {@code
 * trim}, {@code title}, {@code capitalize}, {@code first}, {@code last} follow Jinja2 and {@code
 * tojson} is transformers' ({@code json.dumps} with {@code ensure_ascii=False}, {@code indent},
 * {@code separators}, {@code sort_keys}).
 *
 * <h2>Supported</h2>
 *
 * Variables {@code messages} (a list of dicts with {@code 'role'} and {@code 'content'}, read as
 * {@code message['role']} or {@code message.role}), {@code add_generation_prompt}, {@code
 * bos_token} and {@code eos_token} (from {@link ModelFiles}); functions {@code raise_exception}
 * (throws a {@link ChatTemplateException} with the template's message) and {@code strftime_now};
 * the tags {@code for} (with {@code else}, {@code break}, {@code continue}), {@code if/elif/else},
 * {@code set} (also {@code set ns.x} on {@code namespace(...)} and block set), {@code macro},
 * {@code raw}, {@code generation}; {@code loop.index/index0/revindex/revindex0/first/last/length/
 * cycle}; all Jinja2 operators ({@code + - * / // % ** ~}, comparisons, {@code in}, {@code not},
 * {@code and}, {@code or}, {@code x if c else y}); indexing and slicing; the common tests ({@code
 * defined}, {@code none}, {@code string}, {@code mapping}, {@code iterable}, {@code true}, ...) and
 * filters ({@code length}, {@code trim}, {@code upper}, {@code lower}, {@code join}, {@code
 * selectattr}, {@code rejectattr}, {@code map}, {@code list}, {@code first}, {@code last}, {@code
 * unique}, {@code sort}, {@code default}, {@code replace}, {@code int}, {@code string}, {@code
 * tojson}, ...). Checked against jinja2 on ChatML, Llama 2, Llama 3/3.1, Mistral, Zephyr, Gemma,
 * Phi-3, Qwen2.5, Qwen3 and DeepSeek-R1 style templates.
 *
 * <h2>Not supported</h2>
 *
 * Rejected when the template is loaded, with an {@link IllegalArgumentException} (a {@link
 * ModelLoadException} from {@link #of(ModelFiles)}), because Jinjava would render them silently
 * wrong: loop filters ({@code {% for x in xs if c %}}), recursive loops, {@code
 * loop.previtem/nextitem/changed}, slice steps other than {@code [::-1]}, {@code *args}. Failing at
 * render time: {@code {% filter %}} blocks, {@code 'ab' * 3}, {@code '%s' % x}. Rendering
 * differently, all rare in chat templates: {@code {{ none }}} prints an empty string (Jinja2:
 * {@code None}); attribute or item access on an undefined value gives an undefined value (Jinja2
 * raises UndefinedError); {@code 'a' + 1} concatenates (Python raises TypeError); {@code length} of
 * a string counts UTF-16 units; {@code tools}, {@code documents} and the other special tokens
 * ({@code pad_token}, ...) are not passed, so {@code tools is defined} is false where transformers
 * passes {@code tools=None}; functions are not "defined" variables. Tool calling and multimodal
 * content are out of scope: messages are role and text.
 *
 * <h2>Failing loudly</h2>
 *
 * A template that does not parse fails in {@link #of}. At render time an unknown filter, test or
 * function, a {@code raise_exception} call or any other fatal Jinjava error throws a {@link
 * ChatTemplateException} with the message and template line instead of returning silently wrong
 * text; an empty message list is an {@link IllegalArgumentException}.
 *
 * <h2>Threads</h2>
 *
 * Instances are immutable and thread-safe: the template is parsed once, and each render gets its
 * own Jinjava context and interpreter (over a per-thread root context) on the shared, read-only
 * parse tree, so one instance can be shared by all executor task threads.
 */
public final class ChatTemplate {

  /** Rendering failed: the template called raise_exception, or hit a fatal template error. */
  public static final class ChatTemplateException extends RuntimeException {
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

  private static final JinjavaConfig CONFIG =
      JinjavaConfig.newBuilder()
          // Whitespace control is applied by JinjaLexer, exactly as Jinja2 does it.
          .withTrimBlocks(false)
          .withLstripBlocks(false)
          // Message text must never be rendered as a template itself.
          .withNestedInterpretationEnabled(false)
          // Undefined variables are legal and falsy in Jinja2 (templates test `if tools`), so
          // unknown tokens must not fail; unknown filters/tests fail through StrictContext and
          // unknown functions are fatal errors in Jinjava already.
          .withFailOnUnknownTokens(false)
          .withElResolver(elResolver())
          .withLegacyOverrides(
              LegacyOverrides.newBuilder()
                  .withUseNaturalOperatorPrecedence(true)
                  .withEvaluateMapKeys(true)
                  .withIterateOverMapKeys(true)
                  .withKeepNullableLoopValues(true)
                  .withUsePyishObjectMapper(true)
                  .build())
          .build();

  private static final ExpressionStrategy PY_PRINT = new PyPrint();

  /** Shared by all templates; only read after construction. */
  private static final Jinjava JINJAVA = newJinjava();

  /**
   * Per-thread root contexts: a copy of Jinjava's global context (all filters, tests, tags and
   * functions) costs more than a render, and renders record resolved names into their root.
   */
  private static final ThreadLocal<Context> ROOTS =
      ThreadLocal.withInitial(JINJAVA::getGlobalContextCopy);

  private final String source;
  private final String bosToken;
  private final String eosToken;
  private final Node root;

  private ChatTemplate(String source, String bosToken, String eosToken) {
    this.source = Objects.requireNonNull(source, "template");
    this.bosToken = Objects.requireNonNull(bosToken, "bosToken");
    this.eosToken = Objects.requireNonNull(eosToken, "eosToken");
    String jinjava = JinjaLexer.toJinjava(source);
    JinjavaInterpreter parser = JINJAVA.newInterpreter();
    // Expression nodes keep the strategy of the context they were parsed in.
    parser.getContext().setExpressionStrategy(PY_PRINT);
    JinjavaInterpreter.pushCurrent(parser);
    try {
      this.root = parser.parse(jinjava);
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("chat template does not parse: " + e.getMessage(), e);
    } finally {
      JinjavaInterpreter.popCurrent();
    }
    List<TemplateError> errors = fatal(parser.getErrors());
    if (!errors.isEmpty()) {
      throw new IllegalArgumentException("chat template does not parse: " + describe(errors));
    }
  }

  /**
   * The chat template of a model directory (tokenizer_config.json's {@code chat_template}), with
   * its BOS and EOS token texts.
   *
   * @throws ModelLoadException if tokenizer_config.json has no chat template
   * @throws IllegalArgumentException if the template does not parse or uses an unsupported feature
   */
  public static ChatTemplate of(ModelFiles files) {
    String template = files.chatTemplate().filter(t -> !t.isBlank()).orElse(null);
    if (template == null) {
      Path config = files.directory().resolve("tokenizer_config.json");
      throw new ModelLoadException(
          config,
          "no chat_template in tokenizer_config.json: the model has no chat template, so"
              + " conversational prompts cannot be rendered for it");
    }
    try {
      return of(template, files.bosToken(), files.eosToken());
    } catch (IllegalArgumentException e) {
      throw new ModelLoadException(
          files.directory().resolve("tokenizer_config.json"), e.getMessage(), e);
    }
  }

  /**
   * A chat template given as Jinja source.
   *
   * @throws IllegalArgumentException if the template does not parse or uses an unsupported feature
   */
  public static ChatTemplate of(String template, String bosToken, String eosToken) {
    return new ChatTemplate(template, bosToken, eosToken);
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
   * @throws ChatTemplateException if the template raises an exception or fails to render
   */
  public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
    return render(messages, addGenerationPrompt, Map.of());
  }

  /** Names a template keyword argument may not take: {@code apply_chat_template} binds them. */
  public static final java.util.Set<String> RESERVED_KWARGS =
      java.util.Set.of("messages", "add_generation_prompt", "tools", "documents");

  /**
   * As {@link #render(List, boolean)}, with extra template variables, as transformers' {@code
   * apply_chat_template(messages, **kwargs)} passes them (e.g. {@code enable_thinking=False}): they
   * are bound beside {@code messages}, and override {@code bos_token}/{@code eos_token}.
   *
   * @param kwargs plain values only: strings, booleans, numbers, null, and lists and maps of them
   * @throws IllegalArgumentException when a name is one of {@link #RESERVED_KWARGS}
   */
  public String render(
      List<ChatMessage> messages, boolean addGenerationPrompt, Map<String, Object> kwargs) {
    for (String name : kwargs.keySet()) {
      if (RESERVED_KWARGS.contains(name)) {
        throw new IllegalArgumentException(
            "chat template keyword argument '" + name + "' is bound by apply_chat_template itself");
      }
    }
    if (messages.isEmpty()) {
      // Templates index messages[0]; Jinja2 fails there, Jinjava would render silently.
      throw new IllegalArgumentException("no messages to render");
    }
    Map<String, Object> bindings = new HashMap<>();
    bindings.put("messages", asDicts(messages));
    bindings.put("add_generation_prompt", addGenerationPrompt);
    bindings.put("bos_token", bosToken);
    bindings.put("eos_token", eosToken);
    bindings.putAll(kwargs);

    // The root is this thread's own: what a render records propagates up to it, never into state
    // shared with other threads.
    Context threadRoot = ROOTS.get();
    Context context = new StrictContext(threadRoot, bindings);
    JinjavaInterpreter interpreter = new JinjavaInterpreter(JINJAVA, context, CONFIG);
    JinjavaInterpreter.pushCurrent(interpreter);
    String output;
    try {
      output = interpreter.render(root);
    } catch (RuntimeException e) {
      throw failure(List.of(), e);
    } finally {
      JinjavaInterpreter.popCurrent();
      threadRoot.reset();
    }
    List<TemplateError> errors = fatal(interpreter.getErrors());
    if (!errors.isEmpty()) {
      throw failure(errors, null);
    }
    return output;
  }

  @Override
  public String toString() {
    return "ChatTemplate[" + source.length() + " chars]";
  }

  // ---------------------------------------------------------------------------------------------
  // Jinjava set-up

  private static Jinjava newJinjava() {
    Jinjava jinjava = new Jinjava(CONFIG);
    jinjava.registerFunction(
        new ELFunctionDefinition(
            "", "raise_exception", ChatTemplate.class, "raiseException", Object.class));
    jinjava.registerFunction(
        new ELFunctionDefinition(
            "", "strftime_now", ChatTemplate.class, "strftimeNow", String.class));
    jinjava.registerFunction(
        new ELFunctionDefinition(
            "", JinjaCompiler.ITERATE, ChatTemplate.class, "iterate", Object.class));
    jinjava.registerFunction(
        new ELFunctionDefinition(
            "", JinjaCompiler.GET_ITEM, ChatTemplate.class, "getItem", Object.class, Object.class));
    jinjava.registerTag(new GenerationTag());
    jinjava.registerFilter(new PyTrimFilter());
    jinjava.registerFilter(new PyStringFilter("title", PythonShims::jinjaTitle));
    jinjava.registerFilter(new PyStringFilter("capitalize", PythonShims::pyCapitalize));
    jinjava.registerFilter(new PyEndFilter(true));
    jinjava.registerFilter(new PyEndFilter(false));
    jinjava.registerFilter(new PyToJsonFilter());
    return jinjava;
  }

  private static ELResolver elResolver() {
    CompositeELResolver resolver = new CompositeELResolver();
    resolver.add(new PythonMethods());
    resolver.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_ONLY);
    return resolver;
  }

  /** The template's {@code raise_exception(msg)}. Public only so that Jinjava can call it. */
  public static Object raiseException(Object message) {
    throw new RaisedByTemplate(String.valueOf(message));
  }

  /**
   * What a compiled for loop iterates: a string's characters, anything else as it is. Public only
   * so that Jinjava can call it.
   */
  public static Object iterate(Object iterable) {
    if (iterable instanceof String || iterable instanceof SafeString) {
      String s = str(iterable);
      List<String> chars = new ArrayList<>(s.length());
      s.codePoints().forEach(c -> chars.add(new String(Character.toChars(c))));
      return chars;
    }
    return iterable;
  }

  /**
   * Python's {@code obj[key]}: dict lookup, list and string indexing with negative indices; null
   * (Jinja2's Undefined) when there is no such item. Public only so that Jinjava can call it.
   */
  public static Object getItem(Object obj, Object key) {
    if (obj instanceof Map) {
      Map<?, ?> map = (Map<?, ?>) obj;
      Object value = map.get(key instanceof SafeString ? str(key) : key);
      if (value == null && key instanceof Number) {
        value = map.get(String.valueOf(key));
      }
      return value;
    }
    if (!(key instanceof Number) || key instanceof Double || key instanceof Float) {
      return obj == null || key == null ? null : attribute(obj, str(key));
    }
    long index = ((Number) key).longValue();
    if (obj instanceof String || obj instanceof SafeString) {
      int[] chars = str(obj).codePoints().toArray();
      long at = index < 0 ? index + chars.length : index;
      return at >= 0 && at < chars.length ? new String(chars, (int) at, 1) : null;
    }
    List<Object> items = new ArrayList<>();
    if (obj instanceof List) {
      items.addAll((List<?>) obj);
    } else if (obj instanceof Object[]) {
      Collections.addAll(items, (Object[]) obj);
    } else if (obj instanceof Iterable) {
      ((Iterable<?>) obj).forEach(items::add);
    } else {
      return null;
    }
    long at = index < 0 ? index + items.size() : index;
    return at >= 0 && at < items.size() ? items.get((int) at) : null;
  }

  /** obj[name] for objects that are not dicts (namespace, loop): Jinjava's attribute lookup. */
  private static Object attribute(Object obj, String name) {
    JinjavaInterpreter interpreter = JinjavaInterpreter.getCurrent();
    return interpreter == null ? null : interpreter.resolveProperty(obj, name);
  }

  /** The template's {@code strftime_now(fmt)}. Public only so that Jinjava can call it. */
  public static String strftimeNow(String format) {
    return StrftimeFormatter.format(ZonedDateTime.now(), format);
  }

  private static List<Map<String, Object>> asDicts(List<ChatMessage> messages) {
    List<Map<String, Object>> dicts = new ArrayList<>(messages.size());
    for (ChatMessage message : messages) {
      Objects.requireNonNull(message, "message");
      Map<String, Object> dict = new LinkedHashMap<>(4);
      dict.put("role", message.role());
      dict.put("content", message.content());
      // Immutable like the ImmutableSandboxedEnvironment's view of them.
      dicts.add(Collections.unmodifiableMap(dict));
    }
    return Collections.unmodifiableList(dicts);
  }

  private static List<TemplateError> fatal(List<TemplateError> errors) {
    return errors.stream()
        .filter(e -> e.getSeverity() == ErrorType.FATAL)
        .collect(Collectors.toList());
  }

  private static ChatTemplateException failure(List<TemplateError> errors, Throwable thrown) {
    List<Throwable> causes = new ArrayList<>();
    errors.forEach(e -> causes.add(e.getException()));
    causes.add(thrown);
    for (Throwable cause : causes) {
      for (Throwable t = cause; t != null; t = t.getCause() == t ? null : t.getCause()) {
        if (t instanceof RaisedByTemplate) {
          return new ChatTemplateException(
              "chat template raised an exception: " + t.getMessage(), true, cause);
        }
      }
    }
    String message = errors.isEmpty() ? String.valueOf(thrown) : describe(errors);
    Throwable cause = thrown != null ? thrown : errors.get(0).getException();
    return new ChatTemplateException("chat template failed to render: " + message, false, cause);
  }

  private static String describe(List<TemplateError> errors) {
    return errors.stream()
        .map(e -> (e.getLineno() > 0 ? "line " + e.getLineno() + ": " : "") + e.getMessage())
        .distinct()
        .collect(Collectors.joining("; "));
  }

  /** Thrown by the template's {@code raise_exception(msg)}; carries msg through Jinjava. */
  private static final class RaisedByTemplate extends RuntimeException {
    private static final long serialVersionUID = 1L;

    RaisedByTemplate(String message) {
      super(message, null, false, false);
    }
  }

  /**
   * Render-time context that turns unknown filters and tests into errors. Jinjava would otherwise
   * evaluate {@code x | nosuchfilter} to an empty value without any error. Nested scopes look
   * filters and tests up through their parents, so they all end here.
   */
  private static final class StrictContext extends Context {
    StrictContext(Context parent, Map<String, ?> bindings) {
      super(parent, bindings, null);
    }

    @Override
    public Filter getFilter(String name) {
      Filter filter = super.getFilter(name);
      if (filter == null) {
        throw unknown("filter", name);
      }
      return filter;
    }

    @Override
    public ExpTest getExpTest(String name) {
      ExpTest test = super.getExpTest(name);
      if (test == null) {
        throw unknown("test", name);
      }
      return test;
    }

    private static TemplateSyntaxException unknown(String kind, String name) {
      return new TemplateSyntaxException(
          JinjavaInterpreter.getCurrent(), name, "Unknown " + kind + " '" + name + "'");
    }
  }

  /**
   * Prints {@code {{ x }}} values: booleans as Python's True/False; the rest as Jinjava does, but
   * never rendered again as a template (Jinjava's nested interpretation).
   */
  private static final class PyPrint implements ExpressionStrategy {
    private static final long serialVersionUID = 1L;

    @Override
    public RenderedOutputNode interpretOutput(
        ExpressionToken master, JinjavaInterpreter interpreter) {
      Object value = interpreter.resolveELExpression(master.getExpr(), master.getLineNumber());
      if (value instanceof Boolean) {
        return new RenderedOutputNode(((Boolean) value) ? "True" : "False");
      }
      return new RenderedOutputNode(interpreter.getAsString(value));
    }
  }

  /** transformers' {% generation %} block: marks assistant text for masks, renders its body. */
  private static final class GenerationTag implements Tag {
    private static final long serialVersionUID = 1L;

    @Override
    public String getName() {
      return "generation";
    }

    @Override
    public String getEndTagName() {
      return "endgeneration";
    }

    @Override
    public String interpret(TagNode tagNode, JinjavaInterpreter interpreter) {
      StringBuilder out = new StringBuilder();
      for (Node child : tagNode.getChildren()) {
        out.append(child.render(interpreter).getValue());
      }
      return out.toString();
    }
  }
}
