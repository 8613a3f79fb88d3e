package org.prefscore.runtime;

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
import java.beans.FeatureDescriptor;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import jinjava.javax.el.CompositeELResolver;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

/**
 * Renders conversational prompts from a model's Hugging Face {@code chat_template} with Jinjava, so
 * that {@link #render(List, boolean)} equals transformers' {@code tokenizer.apply_chat_template(
 * messages, tokenize=False, add_generation_prompt=...)}.
 *
 * <h2>How</h2>
 *
 * transformers compiles chat templates in a {@code jinja2.sandbox.ImmutableSandboxedEnvironment(
 * trim_blocks=True, lstrip_blocks=True)} with the {@code loopcontrols} extension, a {@code
 * {% generation %}} tag, the globals {@code raise_exception(msg)} and {@code strftime_now(fmt)} and
 * its own {@code tojson} filter. Jinjava alone does not reproduce that: its {@code withTrimBlocks}
 * and {@code withLstripBlocks} exist, but its lstrip_blocks also strips the whitespace before a tag
 * in the middle of a line ({@code "a {% if x %}"} loses its space) and it has no {@code {%+ ... %}};
 * its parser reads {@code not x is defined} as {@code (not x) is defined} and {@code not a in b}
 * as {@code (not a) in b} (both silently wrong), fails on {@code namespace(n=xs|length - 1)} and
 * {@code xs[::-1]}; and by default it renders message text that contains {@code {{ }}} as a
 * template. So the template goes through two passes before Jinjava parses it (once, in {@link
 * #of}):
 *
 * <ol>
 *   <li>{@link JinjaLexer}, Jinja2's lexer: applies trim_blocks, lstrip_blocks, {@code {%- -%}},
 *       {@code {{- -}}}, {@code {#- -#}}, {@code {%+ +%}}, comments, {@code {% raw %}} and {@code
 *       keep_trailing_newline=False} to the source exactly as Jinja2 does (Jinjava's own
 *       whitespace options stay off), and keeps line numbers for error messages.
 *   <li>{@link JinjaCompiler}, Jinja2's expression grammar: re-emits every expression of {@code
 *       {{ }}}, {@code for}, {@code if}, {@code elif} and {@code set} fully parenthesized, decodes
 *       string literals with Python's escapes ({@code \n}, {@code \x41}, {@code \N{BULLET}}, ...),
 *       and rewrites what Jinjava lacks: chained comparisons, {@code not in}, {@code x[::-1]},
 *       keyword arguments, tuples (as lists), Python item access ({@code s[0]}, {@code xs[-1]})
 *       and iteration over a string's characters.
 * </ol>
 *
 * Jinjava then runs with nested interpretation off, its Python-compatible {@link LegacyOverrides}
 * (operator precedence, dict-literal keys, iteration over dict keys, nulls kept in loops,
 * Python-style printing of lists and dicts) and Python shims: booleans print as {@code
 * True}/{@code False}; the str methods {@code strip/lstrip/rstrip([chars])}, {@code
 * startswith/endswith}, {@code split/rsplit}, {@code replace}, {@code upper/lower/capitalize/title},
 * {@code find}, {@code count}, {@code join} and dict {@code get(key[, default])} follow Python; the
 * filters {@code trim}, {@code title}, {@code capitalize}, {@code first}, {@code last} follow
 * Jinja2 and {@code tojson} is transformers' ({@code json.dumps} with {@code ensure_ascii=False},
 * {@code indent}, {@code separators}, {@code sort_keys}).
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
 * raises UndefinedError); {@code 'a' + 1} concatenates (Python raises TypeError); {@code length}
 * of a string counts UTF-16 units; {@code tools}, {@code documents} and the other special tokens
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
    if (messages.isEmpty()) {
      // Templates index messages[0]; Jinja2 fails there, Jinjava would render silently.
      throw new IllegalArgumentException("no messages to render");
    }
    Map<String, Object> bindings = new HashMap<>();
    bindings.put("messages", asDicts(messages));
    bindings.put("add_generation_prompt", addGenerationPrompt);
    bindings.put("bos_token", bosToken);
    bindings.put("eos_token", eosToken);

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
            "", JinjaCompiler.GET_ITEM, ChatTemplate.class, "getItem", Object.class,
            Object.class));
    jinjava.registerTag(new GenerationTag());
    jinjava.registerFilter(new PyTrimFilter());
    jinjava.registerFilter(new PyStringFilter("title", ChatTemplate::jinjaTitle));
    jinjava.registerFilter(new PyStringFilter("capitalize", ChatTemplate::pyCapitalize));
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

  // ---------------------------------------------------------------------------------------------
  // Python semantics

  private static String str(Object value) {
    return value instanceof SafeString ? ((SafeString) value).getValue() : String.valueOf(value);
  }

  /** Python's str.isspace for one char. */
  static boolean isPySpace(char c) {
    return Character.isWhitespace(c) || Character.isSpaceChar(c) || c == '\u0085';
  }

  private static boolean stripped(char c, String chars) {
    return chars == null ? isPySpace(c) : chars.indexOf(c) >= 0;
  }

  static String pyStrip(String s, String chars, boolean left, boolean right) {
    int start = 0;
    int end = s.length();
    while (left && start < end && stripped(s.charAt(start), chars)) {
      start++;
    }
    while (right && end > start && stripped(s.charAt(end - 1), chars)) {
      end--;
    }
    return s.substring(start, end);
  }

  /** Python's str.split / str.rsplit. */
  static List<String> pySplit(String s, String sep, int maxsplit, boolean fromRight) {
    List<String> parts = new ArrayList<>();
    if (sep == null) {
      // Runs of whitespace separate; leading and trailing whitespace give no empty parts.
      List<int[]> words = new ArrayList<>();
      int i = 0;
      while (i < s.length()) {
        while (i < s.length() && isPySpace(s.charAt(i))) {
          i++;
        }
        int start = i;
        while (i < s.length() && !isPySpace(s.charAt(i))) {
          i++;
        }
        if (i > start) {
          words.add(new int[] {start, i});
        }
      }
      if (maxsplit < 0 || words.size() <= maxsplit + 1) {
        words.forEach(w -> parts.add(s.substring(w[0], w[1])));
      } else if (!fromRight) {
        for (int w = 0; w < maxsplit; w++) {
          parts.add(s.substring(words.get(w)[0], words.get(w)[1]));
        }
        parts.add(pyStrip(s.substring(words.get(maxsplit)[0]), null, false, true));
      } else {
        int first = words.size() - maxsplit;
        parts.add(pyStrip(s.substring(0, words.get(first - 1)[1]), null, true, false));
        for (int w = first; w < words.size(); w++) {
          parts.add(s.substring(words.get(w)[0], words.get(w)[1]));
        }
      }
      return parts;
    }
    if (sep.isEmpty()) {
      throw new IllegalArgumentException("empty separator");
    }
    if (!fromRight) {
      int from = 0;
      int at;
      while ((maxsplit < 0 || parts.size() < maxsplit) && (at = s.indexOf(sep, from)) >= 0) {
        parts.add(s.substring(from, at));
        from = at + sep.length();
      }
      parts.add(s.substring(from));
      return parts;
    }
    int to = s.length();
    int splits = 0;
    int at;
    while ((maxsplit < 0 || splits < maxsplit) && to - sep.length() >= 0
        && (at = s.lastIndexOf(sep, to - sep.length())) >= 0) {
      parts.add(0, s.substring(at + sep.length(), to));
      to = at;
      splits++;
    }
    parts.add(0, s.substring(0, to));
    return parts;
  }

  private static final Pattern WORD_BEGINNING = Pattern.compile("([-\\s({\\[<]+)");

  /** Jinja2's title filter: words start after whitespace, '-', '(', '{', '[' or '&lt;'. */
  static String jinjaTitle(String s) {
    StringBuilder out = new StringBuilder(s.length());
    Matcher separators = WORD_BEGINNING.matcher(s);
    int from = 0;
    while (true) {
      boolean found = separators.find();
      int end = found ? separators.start() : s.length();
      if (end > from) {
        out.append(s.substring(from, from + 1).toUpperCase(Locale.ROOT))
            .append(s.substring(from + 1, end).toLowerCase(Locale.ROOT));
      }
      if (!found) {
        return out.toString();
      }
      out.append(separators.group());
      from = separators.end();
    }
  }

  static String pyCapitalize(String s) {
    return s.isEmpty()
        ? s
        : Character.toTitleCase(s.charAt(0)) + s.substring(1).toLowerCase(Locale.ROOT);
  }

  private static String pyTitle(String s) {
    StringBuilder out = new StringBuilder(s.length());
    boolean previousCased = false;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      out.append(previousCased ? Character.toLowerCase(c) : Character.toTitleCase(c));
      previousCased = Character.isLetter(c);
    }
    return out.toString();
  }

  private static int pyInt(Object value) {
    return ((Number) value).intValue();
  }

  /** Python str and dict methods that Java's String and Map lack or implement differently. */
  private static final class PythonMethods extends ELResolver {
    private static final Object UNHANDLED = new Object();

    @Override
    public Object invoke(
        ELContext context, Object base, Object method, Class<?>[] types, Object[] params) {
      if (base == null || method == null) {
        return null;
      }
      Object[] args = params == null ? new Object[0] : params;
      Object result = UNHANDLED;
      if (base instanceof String || base instanceof SafeString) {
        result = strMethod(str(base), method.toString(), args);
      } else if (base instanceof Map && "get".equals(method.toString())
          && (args.length == 1 || args.length == 2)) {
        Map<?, ?> map = (Map<?, ?>) base;
        result = map.containsKey(args[0]) ? map.get(args[0]) : args.length == 2 ? args[1] : null;
      }
      if (result == UNHANDLED) {
        return null;
      }
      context.setPropertyResolved(true);
      return result;
    }

    private static Object strMethod(String s, String name, Object[] a) {
      int n = a.length;
      String first = n > 0 && a[0] != null ? str(a[0]) : null;
      switch (name) {
        case "strip":
        case "lstrip":
        case "rstrip":
          if (n > 1) {
            return UNHANDLED;
          }
          return pyStrip(s, first, !name.equals("rstrip"), !name.equals("lstrip"));
        case "startswith":
        case "endswith":
          if (n != 1) {
            return UNHANDLED;
          }
          List<String> affixes = new ArrayList<>();
          if (a[0] instanceof Iterable) {
            ((Iterable<?>) a[0]).forEach(x -> affixes.add(str(x)));
          } else {
            affixes.add(first);
          }
          return affixes.stream()
              .anyMatch(x -> name.equals("startswith") ? s.startsWith(x) : s.endsWith(x));
        case "split":
        case "rsplit":
          if (n > 2) {
            return UNHANDLED;
          }
          return pySplit(s, first, n == 2 ? pyInt(a[1]) : -1, name.equals("rsplit"));
        case "replace":
          if (n < 2 || n > 3) {
            return UNHANDLED;
          }
          return pyReplace(s, first, str(a[1]), n == 3 ? pyInt(a[2]) : -1);
        case "upper":
          return n == 0 ? s.toUpperCase(Locale.ROOT) : UNHANDLED;
        case "lower":
          return n == 0 ? s.toLowerCase(Locale.ROOT) : UNHANDLED;
        case "capitalize":
          return n == 0 ? pyCapitalize(s) : UNHANDLED;
        case "title":
          return n == 0 ? pyTitle(s) : UNHANDLED;
        case "find":
          return n == 1 ? (long) s.indexOf(first) : UNHANDLED;
        case "count":
          if (n != 1) {
            return UNHANDLED;
          }
          if (first.isEmpty()) {
            return (long) s.length() + 1;
          }
          long count = 0;
          for (int at = s.indexOf(first); at >= 0; at = s.indexOf(first, at + first.length())) {
            count++;
          }
          return count;
        case "join":
          if (n != 1 || !(a[0] instanceof Iterable)) {
            return UNHANDLED;
          }
          List<String> items = new ArrayList<>();
          ((Iterable<?>) a[0]).forEach(x -> items.add(str(x)));
          return String.join(s, items);
        default:
          return UNHANDLED;
      }
    }

    private static String pyReplace(String s, String old, String replacement, int count) {
      if (count < 0) {
        return s.replace(old, replacement);
      }
      StringBuilder out = new StringBuilder();
      int from = 0;
      for (int done = 0; done < count; done++) {
        int at = old.isEmpty() ? (from <= s.length() ? from : -1) : s.indexOf(old, from);
        if (at < 0) {
          break;
        }
        out.append(s, from, at).append(replacement);
        if (old.isEmpty()) {
          if (at < s.length()) {
            out.append(s.charAt(at));
          }
          from = at + 1;
        } else {
          from = at + old.length();
        }
      }
      if (from <= s.length()) {
        out.append(s.substring(from));
      }
      return out.toString();
    }

    @Override
    public Object getValue(ELContext context, Object base, Object property) {
      return null;
    }

    @Override
    public Class<?> getType(ELContext context, Object base, Object property) {
      return null;
    }

    @Override
    public void setValue(ELContext context, Object base, Object property, Object value) {}

    @Override
    public boolean isReadOnly(ELContext context, Object base, Object property) {
      return false;
    }

    @Override
    public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
      return null;
    }

    @Override
    public Class<?> getCommonPropertyType(ELContext context, Object base) {
      return null;
    }
  }

  /** Jinja2's trim: Python's str.strip([chars]). */
  private static final class PyTrimFilter implements Filter {
    @Override
    public String getName() {
      return "trim";
    }

    @Override
    public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
      return pyStrip(var == null ? "None" : str(var), args.length > 0 ? args[0] : null, true, true);
    }
  }

  /** A filter that applies a Python string function. */
  private static final class PyStringFilter implements Filter {
    private final String name;
    private final java.util.function.UnaryOperator<String> function;

    PyStringFilter(String name, java.util.function.UnaryOperator<String> function) {
      this.name = name;
      this.function = function;
    }

    @Override
    public String getName() {
      return name;
    }

    @Override
    public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
      return function.apply(var == null ? "" : str(var));
    }
  }

  /** Jinja2's first and last: also a string's first or last character. */
  private static final class PyEndFilter implements Filter {
    private final boolean first;

    PyEndFilter(boolean first) {
      this.first = first;
    }

    @Override
    public String getName() {
      return first ? "first" : "last";
    }

    @Override
    public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
      List<Object> items = new ArrayList<>();
      if (var instanceof String || var instanceof SafeString) {
        items.addAll((List<?>) iterate(var));
      } else if (var instanceof Map) {
        items.addAll(((Map<?, ?>) var).keySet());
      } else if (var instanceof Iterable) {
        ((Iterable<?>) var).forEach(items::add);
      } else if (var instanceof Object[]) {
        Collections.addAll(items, (Object[]) var);
      } else {
        return null;
      }
      return items.isEmpty() ? null : items.get(first ? 0 : items.size() - 1);
    }
  }

  /**
   * transformers' tojson: {@code json.dumps(x, ensure_ascii=False, indent=None, separators=None,
   * sort_keys=False)}.
   */
  private static final class PyToJsonFilter implements Filter {
    @Override
    public String getName() {
      return "tojson";
    }

    @Override
    public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
      return filter(var, interpreter, args, Map.of());
    }

    @Override
    public Object filter(
        Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
      Object indent = kwargs.containsKey("indent") ? kwargs.get("indent") : arg(args, 1);
      boolean ascii = Boolean.TRUE.equals(
          kwargs.containsKey("ensure_ascii") ? kwargs.get("ensure_ascii") : arg(args, 0));
      boolean sort = Boolean.TRUE.equals(kwargs.get("sort_keys"));
      String itemSep = indent == null ? ", " : ",";
      String keySep = ": ";
      Object separators = kwargs.get("separators");
      if (separators instanceof List && ((List<?>) separators).size() == 2) {
        itemSep = str(((List<?>) separators).get(0));
        keySep = str(((List<?>) separators).get(1));
      }
      String indentText =
          indent == null
              ? null
              : indent instanceof Number ? " ".repeat(((Number) indent).intValue()) : str(indent);
      StringBuilder out = new StringBuilder();
      new Json(indentText, itemSep, keySep, ascii, sort).write(out, var, 0);
      return out.toString();
    }

    private static Object arg(Object[] args, int i) {
      return args != null && args.length > i ? args[i] : null;
    }
  }

  /** Python's json.dumps for the values a template can hold. */
  private static final class Json {
    private final String indent;
    private final String itemSep;
    private final String keySep;
    private final boolean ascii;
    private final boolean sortKeys;

    Json(String indent, String itemSep, String keySep, boolean ascii, boolean sortKeys) {
      this.indent = indent;
      this.itemSep = itemSep;
      this.keySep = keySep;
      this.ascii = ascii;
      this.sortKeys = sortKeys;
    }

    void write(StringBuilder out, Object value, int level) {
      if (value instanceof SafeString) {
        value = ((SafeString) value).getValue();
      }
      if (value == null) {
        out.append("null");
      } else if (value instanceof Boolean) {
        out.append(((Boolean) value) ? "true" : "false");
      } else if (value instanceof Double || value instanceof Float) {
        out.append(pyFloat(((Number) value).doubleValue()));
      } else if (value instanceof Number) {
        out.append(value);
      } else if (value instanceof Map) {
        Map<String, Object> entries = sortKeys ? new TreeMap<>() : new LinkedHashMap<>();
        ((Map<?, ?>) value).forEach((k, v) -> entries.put(key(k), v));
        List<Map.Entry<String, Object>> list = new ArrayList<>(entries.entrySet());
        writeSeq(out, '{', '}', list.size(), level, i -> {
          writeString(out, list.get(i).getKey());
          out.append(keySep);
          write(out, list.get(i).getValue(), level + 1);
        });
      } else if (value instanceof Iterable || value instanceof Object[]) {
        List<Object> items = new ArrayList<>();
        if (value instanceof Object[]) {
          Collections.addAll(items, (Object[]) value);
        } else {
          ((Iterable<?>) value).forEach(items::add);
        }
        writeSeq(out, '[', ']', items.size(), level, i -> write(out, items.get(i), level + 1));
      } else {
        writeString(out, str(value));
      }
    }

    private interface Item {
      void write(int i);
    }

    private void writeSeq(StringBuilder out, char open, char close, int n, int level, Item item) {
      out.append(open);
      if (n == 0) {
        out.append(close);
        return;
      }
      for (int i = 0; i < n; i++) {
        if (i > 0) {
          out.append(itemSep);
        }
        if (indent != null) {
          out.append('\n').append(indent.repeat(level + 1));
        }
        item.write(i);
      }
      if (indent != null) {
        out.append('\n').append(indent.repeat(level));
      }
      out.append(close);
    }

    private static String key(Object key) {
      if (key == null) {
        return "null";
      }
      if (key instanceof Boolean) {
        return ((Boolean) key) ? "true" : "false";
      }
      return str(key);
    }

    private void writeString(StringBuilder out, String s) {
      out.append('"');
      for (int i = 0; i < s.length(); i++) {
        char c = s.charAt(i);
        switch (c) {
          case '"':
            out.append("\\\"");
            break;
          case '\\':
            out.append("\\\\");
            break;
          case '\n':
            out.append("\\n");
            break;
          case '\r':
            out.append("\\r");
            break;
          case '\t':
            out.append("\\t");
            break;
          case '\b':
            out.append("\\b");
            break;
          case '\f':
            out.append("\\f");
            break;
          default:
            if (c < 0x20 || (ascii && c > 0x7e)) {
              out.append(String.format("\\u%04x", (int) c));
            } else {
              out.append(c);
            }
        }
      }
      out.append('"');
    }

    /** Python's repr of a float. */
    static String pyFloat(double d) {
      if (Double.isNaN(d)) {
        return "NaN";
      }
      if (Double.isInfinite(d)) {
        return d > 0 ? "Infinity" : "-Infinity";
      }
      if (d == 0) {
        return (1 / d < 0) ? "-0.0" : "0.0";
      }
      BigDecimal exact = new BigDecimal(Double.toString(d)).stripTrailingZeros();
      int exponent = exact.precision() - exact.scale() - 1;
      if (exponent >= -5 && exponent < 16) {
        String plain = exact.toPlainString();
        return plain.contains(".") ? plain : plain + ".0";
      }
      String digits = exact.unscaledValue().abs().toString();
      String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
      return (d < 0 ? "-" : "") + mantissa + "e" + (exponent < 0 ? "-" : "+")
          + String.format("%02d", Math.abs(exponent));
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Lexing

  /**
   * Jinja2's lexer, as far as it decides the output text: resolves trim_blocks, lstrip_blocks,
   * whitespace control, comments, raw blocks and keep_trailing_newline=False on the template
   * source, and hands Jinjava a template with the same meaning and no whitespace rules left to
   * apply. String literals inside tags are decoded with Python's escapes and re-encoded for
   * Jinjava. Newlines the pass removes are kept in empty Jinjava comments so that Jinjava's line
   * numbers in error messages still match the template.
   */
  static final class JinjaLexer {
    private static final Pattern RAW_BEGIN = Pattern.compile("\\{%([-+]?)\\s*raw\\s*(-%}\\s*|%})");
    private static final Pattern RAW_END =
        Pattern.compile("\\{%([-+]?)\\s*endraw\\s*(\\+%}|-%}\\s*|%}\\n?)");

    private final String src;
    private final StringBuilder out = new StringBuilder();
    private final StringBuilder text = new StringBuilder();
    private int pendingNewlines;
    private int pos;
    private boolean lineStarting = true;

    private JinjaLexer(String template) {
      String source = template.replace("\r\n", "\n").replace('\r', '\n');
      this.src = source.endsWith("\n") ? source.substring(0, source.length() - 1) : source;
    }

    static String toJinjava(String template) {
      return new JinjaLexer(template).run();
    }

    private String run() {
      while (pos < src.length()) {
        int tag = nextTagStart(pos);
        if (tag < 0) {
          text.append(src, pos, src.length());
          break;
        }
        String data = src.substring(pos, tag);
        char kind = src.charAt(tag + 1);
        char sign = tag + 2 < src.length() ? src.charAt(tag + 2) : 0;
        if (sign != '-' && sign != '+') {
          sign = 0;
        }
        Matcher raw = RAW_BEGIN.matcher(src).region(tag, src.length());
        boolean isRaw = kind == '%' && raw.lookingAt();
        appendText(lstrip(data, sign, kind != '{'));
        if (isRaw) {
          raw(raw);
        } else if (kind == '#') {
          comment(tag + (sign != 0 ? 3 : 2));
        } else {
          tag(kind, tag + (sign != 0 ? 3 : 2));
        }
      }
      flushText(false);
      return out.toString();
    }

    private int nextTagStart(int from) {
      for (int i = src.indexOf('{', from); i >= 0 && i + 1 < src.length();
          i = src.indexOf('{', i + 1)) {
        char next = src.charAt(i + 1);
        if (next == '{' || next == '%' || next == '#') {
          return i;
        }
      }
      return -1;
    }

    /** Jinja2's OptionalLStrip: the text before a tag, after whitespace control. */
    private String lstrip(String data, char sign, boolean block) {
      String kept = data;
      if (sign == '-') {
        kept = pyStrip(data, null, false, true);
      } else if (sign != '+' && block) {
        int lineStart = data.lastIndexOf('\n') + 1;
        if ((lineStart > 0 || lineStarting) && lineStart < data.length()
            && allSpace(data, lineStart)) {
          kept = data.substring(0, lineStart);
        }
      }
      dropped(data.substring(kept.length()));
      return kept;
    }

    private static boolean allSpace(String s, int from) {
      for (int i = from; i < s.length(); i++) {
        if (!isPySpace(s.charAt(i))) {
          return false;
        }
      }
      return true;
    }

    private void raw(Matcher begin) {
      dropped(begin.group());
      Matcher end = RAW_END.matcher(src).region(begin.end(), src.length());
      if (!end.find()) {
        throw syntax("missing end of raw directive", begin.start());
      }
      lineStarting = begin.group().endsWith("\n");
      String content = src.substring(begin.end(), end.start());
      char sign = end.group(1).isEmpty() ? 0 : end.group(1).charAt(0);
      appendText(lstrip(content, sign, true));
      dropped(end.group());
      lineStarting = end.group().endsWith("\n");
      pos = end.end();
    }

    private void comment(int start) {
      for (int i = start; i < src.length(); i++) {
        int end;
        if (src.startsWith("+#}", i)) {
          end = i + 3;
        } else if (src.startsWith("-#}", i)) {
          end = skipSpace(i + 3);
        } else if (src.startsWith("#}", i)) {
          end = i + 2 < src.length() && src.charAt(i + 2) == '\n' ? i + 3 : i + 2;
        } else {
          continue;
        }
        dropped(src.substring(start, end));
        lineStarting = src.charAt(end - 1) == '\n';
        pos = end;
        return;
      }
      throw syntax("missing end of comment tag", start);
    }

    private int skipSpace(int from) {
      int i = from;
      while (i < src.length() && isPySpace(src.charAt(i))) {
        i++;
      }
      return i;
    }

    /** A {{ }} or {% %} tag whose inside starts at {@code start}. */
    private void tag(char kind, int start) {
      flushText(true);
      if (pendingNewlines > 0) {
        // Keep Jinjava's line numbers: the newlines this pass removed, in an empty comment.
        out.append("{#").append("\n".repeat(pendingNewlines)).append("#}");
        pendingNewlines = 0;
      }
      boolean block = kind == '%';
      List<Character> brackets = new ArrayList<>();
      int i = start;
      while (true) {
        if (i >= src.length()) {
          throw syntax("unexpected end of template inside " + (block ? "{% %}" : "{{ }}"), start);
        }
        if (brackets.isEmpty()) {
          int end = tagEnd(block, i);
          if (end >= 0) {
            dropped(src.substring(i, end));
            lineStarting = src.charAt(end - 1) == '\n';
            pos = end;
            break;
          }
        }
        char c = src.charAt(i);
        if (c == '\'' || c == '"') {
          i = stringEnd(i) + 1;
          continue;
        }
        if (c == '(' || c == '[' || c == '{') {
          brackets.add(c == '(' ? ')' : c == '[' ? ']' : '}');
        } else if (c == ')' || c == ']' || c == '}') {
          if (brackets.isEmpty() || brackets.remove(brackets.size() - 1) != c) {
            throw syntax("unexpected '" + c + "'", i);
          }
        }
        i++;
      }
      String inner = src.substring(start, i);
      dropped(inner);
      int line = line(start);
      String compiled =
          block ? JinjaCompiler.statement(inner, line) : JinjaCompiler.expression(inner, line);
      out.append(block ? "{% " : "{{ ").append(compiled).append(block ? " %}" : " }}");
    }

    /** End of the tag's closing delimiter (with what it swallows) if it starts at i, else -1. */
    private int tagEnd(boolean block, int i) {
      if (block) {
        if (src.startsWith("+%}", i)) {
          return i + 3;
        }
        if (src.startsWith("-%}", i)) {
          return skipSpace(i + 3);
        }
        if (src.startsWith("%}", i)) {
          return i + 2 < src.length() && src.charAt(i + 2) == '\n' ? i + 3 : i + 2;
        }
        return -1;
      }
      if (src.startsWith("-}}", i)) {
        return skipSpace(i + 3);
      }
      return src.startsWith("}}", i) ? i + 2 : -1;
    }

    private int stringEnd(int open) {
      char quote = src.charAt(open);
      for (int i = open + 1; i < src.length(); i++) {
        char c = src.charAt(i);
        if (c == '\\') {
          i++;
        } else if (c == quote) {
          return i;
        }
      }
      throw syntax("unterminated string literal", open);
    }

    /** Decodes a Jinja2 string literal's body: {@code encode("ascii", "backslashreplace")
     * .decode("unicode-escape")}. */
    static String pyUnescape(String body) {
      StringBuilder value = new StringBuilder(body.length());
      for (int i = 0; i < body.length(); i++) {
        char c = body.charAt(i);
        if (c != '\\' || i + 1 >= body.length()) {
          value.append(c);
          continue;
        }
        char e = body.charAt(++i);
        switch (e) {
          case '\n':
            break;
          case '\\':
          case '\'':
          case '"':
            value.append(e);
            break;
          case 'a':
            value.append('\u0007');
            break;
          case 'b':
            value.append('\b');
            break;
          case 'f':
            value.append('\f');
            break;
          case 'n':
            value.append('\n');
            break;
          case 'r':
            value.append('\r');
            break;
          case 't':
            value.append('\t');
            break;
          case 'v':
            value.append('\u000b');
            break;
          case 'x':
          case 'u':
          case 'U':
            int width = e == 'x' ? 2 : e == 'u' ? 4 : 8;
            String hex = i + width < body.length() ? body.substring(i + 1, i + 1 + width) : "";
            if (!hex.matches("[0-9a-fA-F]+")) {
              throw new IllegalArgumentException("truncated \\" + e + " escape in string literal");
            }
            value.appendCodePoint(Integer.parseInt(hex, 16));
            i += width;
            break;
          case 'N':
            int close = body.indexOf('}', i);
            if (i + 1 >= body.length() || body.charAt(i + 1) != '{' || close < 0) {
              throw new IllegalArgumentException("malformed \\N escape in string literal");
            }
            value.appendCodePoint(Character.codePointOf(body.substring(i + 2, close)));
            i = close;
            break;
          default:
            if (e >= '0' && e <= '7') {
              int end = i;
              while (end < body.length() && end < i + 3
                  && body.charAt(end) >= '0' && body.charAt(end) <= '7') {
                end++;
              }
              value.appendCodePoint(Integer.parseInt(body.substring(i, end), 8));
              i = end - 1;
            } else if (e > 0x7f) {
              // backslashreplace turned the char into an escape whose backslash is now escaped.
              value.append('\\').append(
                  e <= 0xff ? String.format("x%02x", (int) e) : String.format("u%04x", (int) e));
            } else {
              value.append('\\').append(e);
            }
        }
      }
      return value.toString();
    }

    /** A single-quoted literal that Jinjava reads back as {@code value}. */
    static String jinjavaLiteral(String value) {
      StringBuilder literal = new StringBuilder(value.length() + 2).append('\'');
      for (int i = 0; i < value.length(); i++) {
        char c = value.charAt(i);
        switch (c) {
          case '\\':
            literal.append("\\\\");
            break;
          case '\'':
            literal.append("\\'");
            break;
          case '\n':
            literal.append("\\n");
            break;
          case '\r':
            literal.append("\\r");
            break;
          case '\t':
            literal.append("\\t");
            break;
          default:
            literal.append(c);
        }
      }
      return literal.append('\'').toString();
    }

    private void appendText(String data) {
      text.append(data);
    }

    /** Writes pending literal text so that Jinjava cannot read a tag start into it. */
    private void flushText(boolean tagFollows) {
      for (int i = 0; i < text.length(); i++) {
        char c = text.charAt(i);
        boolean opensTag =
            c == '{'
                && (i + 1 < text.length()
                    ? "{%#".indexOf(text.charAt(i + 1)) >= 0
                    : tagFollows);
        out.append(opensTag ? "{{ '{' }}" : String.valueOf(c));
      }
      text.setLength(0);
    }

    private void dropped(String removed) {
      pendingNewlines += count(removed, '\n');
    }

    private static int count(String s, char c) {
      int n = 0;
      for (int i = 0; i < s.length(); i++) {
        if (s.charAt(i) == c) {
          n++;
        }
      }
      return n;
    }

    private IllegalArgumentException syntax(String problem, int at) {
      return new IllegalArgumentException(
          "chat template does not parse: " + problem + " (line " + line(at) + ")");
    }

    private int line(int at) {
      return 1 + count(src.substring(0, Math.min(at, src.length())), '\n');
    }
  }

  /**
   * Jinja2's expression grammar (jinja2/parser.py), compiled to Jinjava with every operation
   * parenthesized. Jinjava's own parser differs from Jinja2 in precedence: {@code not x is
   * defined} is {@code (not x) is defined} there and {@code not a in b} is {@code (not a) in b},
   * both silently wrong, and keyword arguments such as {@code namespace(n=xs|length - 1)} fail.
   * Also rewritten: chained comparisons, {@code not in}, {@code x[::-1]} (to {@code x|reverse}),
   * adjacent string literals, tuples (to lists), {@code True/False/None}, and if-expressions
   * without else. Statements whose expressions are compiled: {@code for}, {@code if}, {@code elif},
   * {@code set}; others pass through with their string literals re-encoded.
   */
  static final class JinjaCompiler {
    private enum Type { NAME, STRING, NUMBER, OP, EOF }

    private static final class Token {
      final Type type;
      final String text;

      Token(Type type, String text) {
        this.type = type;
        this.text = text;
      }

      boolean is(String value) {
        return (type == Type.OP || type == Type.NAME) && text.equals(value);
      }

      @Override
      public String toString() {
        return type == Type.EOF ? "end of tag" : "'" + text + "'";
      }
    }

    private static final Pattern NAME = Pattern.compile("[\\p{L}_][\\p{L}\\p{N}_]*");
    private static final Pattern FLOAT =
        Pattern.compile(
            "(\\d+_)*\\d+((\\.(\\d+_)*\\d+)?[eE][+\\-]?(\\d+_)*\\d+|\\.(\\d+_)*\\d+)");
    private static final Pattern INTEGER =
        Pattern.compile(
            "(0[bB](_?[01])+|0[oO](_?[0-7])+|0[xX](_?[\\da-fA-F])+|[1-9](_?\\d)*|0(_?0)*)");
    private static final List<String> OPERATORS =
        List.of(
            "**", "//", "==", "!=", ">=", "<=", "+", "-", "*", "/", "%", "~", "<", ">", "=", "(",
            ")", "[", "]", "{", "}", ",", ".", ":", "|", ";");
    static final String ITERATE = "__py_iter";
    static final String GET_ITEM = "__py_getitem";
    private static final List<String> COMPARE = List.of("==", "!=", ">", ">=", "<", "<=");
    private static final List<String> SIMPLE_STATEMENTS =
        List.of(
            "else", "endif", "endfor", "endset", "endmacro", "endcall", "endfilter", "break",
            "continue", "generation", "endgeneration");

    private final List<Token> tokens = new ArrayList<>();
    private final int line;
    private int at;

    private JinjaCompiler(String source, int line) {
      this.line = line;
      tokenize(source);
    }

    static String expression(String source, int line) {
      JinjaCompiler compiler = new JinjaCompiler(source, line);
      String code = compiler.parseTuple(true, false, List.of());
      compiler.expectEnd();
      return code;
    }

    static String statement(String source, int line) {
      return new JinjaCompiler(source, line).statement();
    }

    // -- tokens

    private void tokenize(String s) {
      int i = 0;
      while (i < s.length()) {
        char c = s.charAt(i);
        if (isPySpace(c)) {
          i++;
          continue;
        }
        if (c == '\'' || c == '"') {
          int close = i + 1;
          while (s.charAt(close) != c) {
            close += s.charAt(close) == '\\' ? 2 : 1;
          }
          tokens.add(new Token(Type.STRING, JinjaLexer.pyUnescape(s.substring(i + 1, close))));
          i = close + 1;
          continue;
        }
        Matcher m = FLOAT.matcher(s).region(i, s.length());
        if (Character.isDigit(c) && m.lookingAt()) {
          tokens.add(new Token(Type.NUMBER, m.group().replace("_", "")));
          i = m.end();
          continue;
        }
        m = INTEGER.matcher(s).region(i, s.length());
        if (Character.isDigit(c) && m.lookingAt()) {
          String digits = m.group().replace("_", "").toLowerCase(Locale.ROOT);
          int radix = digits.startsWith("0x") ? 16 : digits.startsWith("0o") ? 8
              : digits.startsWith("0b") ? 2 : 10;
          String value = radix == 10 ? digits : digits.substring(2);
          tokens.add(new Token(Type.NUMBER, new java.math.BigInteger(value, radix).toString()));
          i = m.end();
          continue;
        }
        m = NAME.matcher(s).region(i, s.length());
        if (m.lookingAt()) {
          tokens.add(new Token(Type.NAME, m.group()));
          i = m.end();
          continue;
        }
        String op = null;
        for (String candidate : OPERATORS) {
          if (s.startsWith(candidate, i)) {
            op = candidate;
            break;
          }
        }
        if (op == null) {
          throw fail("unexpected char '" + c + "'");
        }
        tokens.add(new Token(Type.OP, op));
        i += op.length();
      }
      tokens.add(new Token(Type.EOF, ""));
    }

    private Token current() {
      return tokens.get(at);
    }

    private Token peek() {
      return tokens.get(Math.min(at + 1, tokens.size() - 1));
    }

    private Token next() {
      Token token = current();
      if (token.type != Type.EOF) {
        at++;
      }
      return token;
    }

    private boolean skip(String value) {
      if (current().is(value)) {
        at++;
        return true;
      }
      return false;
    }

    private void expect(String value) {
      if (!skip(value)) {
        throw fail("expected '" + value + "', got " + current());
      }
    }

    private String expectName() {
      if (current().type != Type.NAME) {
        throw fail("expected a name, got " + current());
      }
      return next().text;
    }

    private void expectEnd() {
      if (current().type != Type.EOF) {
        throw fail("unexpected " + current());
      }
    }

    private IllegalArgumentException fail(String problem) {
      return new IllegalArgumentException(
          "chat template does not parse: " + problem + " (line " + line + ")");
    }

    private IllegalArgumentException unsupported(String feature) {
      return new IllegalArgumentException(
          "chat template uses " + feature + " (line " + line + "), which Jinjava does not render"
              + " as Jinja2 does");
    }

    // -- statements

    private String statement() {
      String keyword = expectName();
      switch (keyword) {
        case "for":
          {
            String target = assignTarget(false);
            expect("in");
            String iterable = parseTuple(false, false, List.of("recursive"));
            if (current().is("if")) {
              throw unsupported("a loop filter ({% for x in xs if condition %})");
            }
            if (current().is("recursive")) {
              throw unsupported("a recursive loop");
            }
            expectEnd();
            // Python iterates a string's characters; Jinjava would loop once over the string.
            return "for " + target + " in " + ITERATE + "(" + iterable + ")";
          }
        case "if":
        case "elif":
          {
            String test = parseTuple(false, false, List.of());
            expectEnd();
            return keyword + " " + test;
          }
        case "set":
          {
            String target = assignTarget(true);
            if (skip("=")) {
              String value = parseTuple(true, false, List.of());
              expectEnd();
              if (target.contains(",")) {
                // Jinjava unpacks "set a, b = x, y" only, not a list value.
                if (!value.startsWith("[") || value.endsWith("][0]")) {
                  throw unsupported("unpacking a value in set");
                }
                value = value.substring(1, value.length() - 1);
              }
              return "set " + target + " = " + value;
            }
            expectEnd();
            return "set " + target;
          }
        default:
          if (SIMPLE_STATEMENTS.contains(keyword)) {
            expectEnd();
            return keyword;
          }
          // macro, call, filter, include, ...: tokens as they are, literals re-encoded.
          StringBuilder raw = new StringBuilder(keyword);
          for (Token token = next(); token.type != Type.EOF; token = next()) {
            boolean tight = token.is("(") || token.is(")") || token.is(",") || token.is(".")
                || raw.charAt(raw.length() - 1) == '(' || raw.charAt(raw.length() - 1) == '.';
            if (!tight) {
              raw.append(' ');
            }
            raw.append(token.type == Type.STRING ? JinjaLexer.jinjavaLiteral(token.text)
                : token.text);
          }
          return raw.toString();
      }
    }

    /** Loop and set targets: a name, names separated by commas, or ns.attr for set. */
    private String assignTarget(boolean withNamespace) {
      boolean parens = skip("(");
      List<String> names = new ArrayList<>();
      do {
        if (!names.isEmpty() && (current().is("in") || current().is("=")
            || current().is(")") || current().type == Type.EOF)) {
          break;
        }
        String name = expectName();
        if (withNamespace && names.isEmpty() && skip(".")) {
          name += "." + expectName();
        }
        names.add(name);
      } while (skip(","));
      if (parens) {
        expect(")");
      }
      return String.join(", ", names);
    }

    // -- expressions (jinja2.parser.Parser, with_condexpr and all)

    private String parseTuple(boolean withCondexpr, boolean explicitParens, List<String> endNames) {
      List<String> items = new ArrayList<>();
      boolean isTuple = false;
      while (true) {
        if (!items.isEmpty()) {
          expect(",");
        }
        if (current().type == Type.EOF || current().is(")")
            || (current().type == Type.NAME && endNames.contains(current().text))) {
          break;
        }
        items.add(withCondexpr ? parseCondexpr() : parseOr());
        if (current().is(",")) {
          isTuple = true;
        } else {
          break;
        }
      }
      if (!isTuple) {
        if (items.size() == 1) {
          return items.get(0);
        }
        if (!explicitParens) {
          throw fail("expected an expression, got " + current());
        }
      }
      // Tuples become lists: Jinjava has no tuple type.
      return "[" + String.join(", ", items) + "]";
    }

    private String parseExpression() {
      return parseCondexpr();
    }

    private String parseCondexpr() {
      String expr = parseOr();
      while (skip("if")) {
        String condition = parseOr();
        String otherwise = skip("else") ? parseCondexpr() : "none";
        expr = "(" + expr + " if " + condition + " else " + otherwise + ")";
      }
      return expr;
    }

    private String parseOr() {
      String left = parseAnd();
      while (skip("or")) {
        left = "(" + left + " or " + parseAnd() + ")";
      }
      return left;
    }

    private String parseAnd() {
      String left = parseNot();
      while (skip("and")) {
        left = "(" + left + " and " + parseNot() + ")";
      }
      return left;
    }

    private String parseNot() {
      if (skip("not")) {
        return "(not " + parseNot() + ")";
      }
      return parseCompare();
    }

    private String parseCompare() {
      String left = parseMath1();
      List<String> comparisons = new ArrayList<>();
      while (true) {
        String right;
        String comparison;
        if (current().type == Type.OP && COMPARE.contains(current().text)) {
          String op = next().text;
          right = parseMath1();
          comparison = "(" + left + " " + op + " " + right + ")";
        } else if (skip("in")) {
          right = parseMath1();
          comparison = "(" + left + " in " + right + ")";
        } else if (current().is("not") && peek().is("in")) {
          at += 2;
          right = parseMath1();
          comparison = "(not (" + left + " in " + right + "))";
        } else {
          break;
        }
        comparisons.add(comparison);
        left = right;
      }
      if (comparisons.isEmpty()) {
        return left;
      }
      // a < b < c is (a < b) and (b < c) in Python; Jinjava cannot chain comparisons.
      return comparisons.size() == 1
          ? comparisons.get(0)
          : "(" + String.join(" and ", comparisons) + ")";
    }

    private String parseMath1() {
      String left = parseConcat();
      while (current().is("+") || current().is("-")) {
        String op = next().text;
        left = "(" + left + " " + op + " " + parseConcat() + ")";
      }
      return left;
    }

    private String parseConcat() {
      String left = parseMath2();
      while (skip("~")) {
        left = "(" + left + " ~ " + parseMath2() + ")";
      }
      return left;
    }

    private String parseMath2() {
      String left = parsePow();
      while (current().is("*") || current().is("/") || current().is("//")
          || current().is("%")) {
        String op = next().text;
        left = "(" + left + " " + op + " " + parsePow() + ")";
      }
      return left;
    }

    private String parsePow() {
      String left = parseUnary(true);
      while (skip("**")) {
        left = "(" + left + " ** " + parseUnary(true) + ")";
      }
      return left;
    }

    private String parseUnary(boolean withFilter) {
      String node;
      if (skip("-")) {
        node = "(-" + parseUnary(false) + ")";
      } else if (skip("+")) {
        node = parseUnary(false);
      } else {
        node = parsePostfix(parsePrimary());
      }
      return withFilter ? parseFilterExpr(node) : node;
    }

    private String parsePrimary() {
      Token token = current();
      switch (token.type) {
        case NAME:
          next();
          switch (token.text) {
            case "true":
            case "True":
              return "true";
            case "false":
            case "False":
              return "false";
            case "none":
            case "None":
              return "none";
            default:
              return token.text;
          }
        case STRING:
          StringBuilder value = new StringBuilder();
          while (current().type == Type.STRING) {
            value.append(next().text);
          }
          return JinjaLexer.jinjavaLiteral(value.toString());
        case NUMBER:
          return next().text;
        default:
          break;
      }
      if (skip("(")) {
        String inner = parseTuple(true, true, List.of());
        expect(")");
        return inner.startsWith("[") ? inner : "(" + inner + ")";
      }
      if (skip("[")) {
        List<String> items = new ArrayList<>();
        while (!current().is("]")) {
          if (!items.isEmpty()) {
            expect(",");
            if (current().is("]")) {
              break;
            }
          }
          items.add(parseExpression());
        }
        expect("]");
        return "[" + String.join(", ", items) + "]";
      }
      if (skip("{")) {
        List<String> items = new ArrayList<>();
        while (!current().is("}")) {
          if (!items.isEmpty()) {
            expect(",");
            if (current().is("}")) {
              break;
            }
          }
          String key = parseExpression();
          expect(":");
          items.add(key + ": " + parseExpression());
        }
        expect("}");
        // Spaced braces: Jinjava would end the tag at a "}}" of nested dicts. Wrapped in a
        // list: inside parentheses Jinjava reads ({'a': 1, 'b': 2}) as a tuple.
        return items.isEmpty() ? "{}" : "[{ " + String.join(", ", items) + " }][0]";
      }
      throw fail("unexpected " + token);
    }

    private String parsePostfix(String node) {
      while (true) {
        if (skip(".")) {
          Token attribute = next();
          if (attribute.type == Type.NUMBER) {
            node = node + "[" + attribute.text + "]";
          } else if (attribute.type == Type.NAME) {
            if (node.equals("loop") && List.of("previtem", "nextitem", "changed")
                .contains(attribute.text)) {
              throw unsupported("loop." + attribute.text);
            }
            node = node + "." + attribute.text;
          } else {
            throw fail("expected an attribute name, got " + attribute);
          }
        } else if (skip("[")) {
          node = parseSubscript(node);
        } else if (current().is("(")) {
          node = node + parseCallArgs();
        } else {
          return node;
        }
      }
    }

    private String parseSubscript(String node) {
      String start = null;
      if (!current().is(":")) {
        start = parseExpression();
        if (skip("]")) {
          // Python's item access: also a string's characters and negative indices.
          return GET_ITEM + "(" + node + ", " + start + ")";
        }
        if (current().is(",")) {
          throw unsupported("tuple subscripts");
        }
      }
      expect(":");
      String stop = current().is(":") || current().is("]") ? null : parseExpression();
      String step = null;
      if (skip(":")) {
        step = current().is("]") ? null : parseExpression();
      }
      expect("]");
      if (step == null) {
        return node + "[" + (start == null ? "" : start) + ":" + (stop == null ? "" : stop) + "]";
      }
      if (step.equals("(-1)") && start == null && stop == null) {
        return "(" + node + "|reverse)";
      }
      throw unsupported("a slice step other than [::-1]");
    }

    private String parseCallArgs() {
      expect("(");
      List<String> args = new ArrayList<>();
      while (!current().is(")")) {
        if (!args.isEmpty()) {
          expect(",");
          if (current().is(")")) {
            break;
          }
        }
        if (current().is("*") || current().is("**")) {
          throw unsupported("*args / **kwargs in calls");
        }
        if (current().type == Type.NAME && peek().is("=")) {
          String name = next().text;
          next();
          // Parenthesized: Jinjava misreads name=a|f - 1 and name=a + b.
          args.add(name + "=(" + parseExpression() + ")");
        } else {
          args.add(parseExpression());
        }
      }
      expect(")");
      return "(" + String.join(", ", args) + ")";
    }

    private String parseFilterExpr(String node) {
      while (true) {
        if (skip("|")) {
          String name = dottedName();
          String args = current().is("(") ? parseCallArgs() : "";
          node = "(" + node + "|" + name + args + ")";
        } else if (current().is("is")) {
          next();
          boolean negated = skip("not");
          String name = dottedName();
          String args = "";
          Token token = current();
          if (token.is("(")) {
            args = parseCallArgs();
          } else if ((token.type == Type.NAME || token.type == Type.STRING
                  || token.type == Type.NUMBER || token.is("[") || token.is("{"))
              && !(token.is("else") || token.is("or") || token.is("and"))) {
            if (token.is("is")) {
              throw fail("you cannot chain multiple tests with is");
            }
            args = "(" + parsePostfix(parsePrimary()) + ")";
          }
          node = "(" + node + " is " + (negated ? "not " : "") + name + args + ")";
        } else if (current().is("(")) {
          node = node + parseCallArgs();
        } else {
          return node;
        }
      }
    }

    private String dottedName() {
      StringBuilder name = new StringBuilder(expectName());
      while (current().is(".") && peek().type == Type.NAME) {
        next();
        name.append('.').append(next().text);
      }
      return name.toString();
    }
  }
}
