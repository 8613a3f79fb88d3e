package org.prefscore.chat;

import static org.prefscore.chat.Py.isPySpace;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.prefscore.chat.JinjaAst.And;
import org.prefscore.chat.JinjaAst.Break;
import org.prefscore.chat.JinjaAst.Call;
import org.prefscore.chat.JinjaAst.Compare;
import org.prefscore.chat.JinjaAst.CondExpr;
import org.prefscore.chat.JinjaAst.Const;
import org.prefscore.chat.JinjaAst.Continue;
import org.prefscore.chat.JinjaAst.DictLit;
import org.prefscore.chat.JinjaAst.Expr;
import org.prefscore.chat.JinjaAst.Filter;
import org.prefscore.chat.JinjaAst.FilterBlock;
import org.prefscore.chat.JinjaAst.For;
import org.prefscore.chat.JinjaAst.Generation;
import org.prefscore.chat.JinjaAst.GetAttr;
import org.prefscore.chat.JinjaAst.GetItem;
import org.prefscore.chat.JinjaAst.If;
import org.prefscore.chat.JinjaAst.ListLit;
import org.prefscore.chat.JinjaAst.Macro;
import org.prefscore.chat.JinjaAst.Name;
import org.prefscore.chat.JinjaAst.Node;
import org.prefscore.chat.JinjaAst.Or;
import org.prefscore.chat.JinjaAst.Output;
import org.prefscore.chat.JinjaAst.SetBlock;
import org.prefscore.chat.JinjaAst.Slice;
import org.prefscore.chat.JinjaAst.Test;
import org.prefscore.chat.JinjaAst.Text;
import org.prefscore.chat.JinjaAst.TupleLit;
import org.prefscore.chat.JinjaAst.Unary;
import org.prefscore.chat.JinjaLexer.Segment;

/**
 * Jinja2's grammar (jinja2/parser.py) over the segments of {@link JinjaLexer}: the same operator
 * precedence, postfix and filter rules, and the statements chat templates use ({@code if}, {@code
 * for} with loop filters and {@code recursive}, {@code set} and block {@code set}, {@code macro},
 * {@code filter}, {@code break}/{@code continue} and transformers' {@code generation}). Tags that
 * reach other templates or the environment ({@code include}, {@code import}, {@code extends},
 * {@code call}, ...) are refused when the template is loaded. Nesting is bounded ({@link
 * TemplateLimits#maxNesting()}), so no template can overflow the parser's stack.
 */
final class JinjaParser {

  private enum Type {
    NAME,
    STRING,
    INTEGER,
    FLOAT,
    OP,
    EOF
  }

  private record Token(Type type, String text, Object value, int line) {
    boolean is(String s) {
      return (type == Type.OP || type == Type.NAME) && text.equals(s);
    }

    @Override
    public String toString() {
      return type == Type.EOF ? "end of tag" : "'" + text + "'";
    }
  }

  private static final Pattern NAME = Pattern.compile("[\\p{L}_][\\p{L}\\p{N}_]*");
  private static final Pattern FLOAT =
      Pattern.compile("(\\d+_)*\\d+((\\.(\\d+_)*\\d+)?[eE][+\\-]?(\\d+_)*\\d+|\\.(\\d+_)*\\d+)");
  private static final Pattern INTEGER =
      Pattern.compile(
          "(0[bB](_?[01])+|0[oO](_?[0-7])+|0[xX](_?[\\da-fA-F])+|[1-9](_?\\d)*|0(_?0)*)");
  private static final List<String> OPERATORS =
      List.of(
          "**", "//", "==", "!=", ">=", "<=", "+", "-", "*", "/", "%", "~", "<", ">", "=", "(", ")",
          "[", "]", "{", "}", ",", ".", ":", "|", ";");
  private static final Set<String> COMPARE = Set.of("==", "!=", ">", ">=", "<", "<=");
  private static final Set<String> REFUSED_TAGS =
      Set.of(
          "include",
          "import",
          "from",
          "extends",
          "block",
          "endblock",
          "call",
          "endcall",
          "with",
          "endwith",
          "autoescape",
          "endautoescape",
          "do",
          "trans",
          "endtrans",
          "pluralize");

  private final List<Segment> segments;
  private final int maxNesting;
  private int segment;
  private int depth;

  // The tokens of the segment being parsed.
  private List<Token> tokens = List.of();
  private int at;

  private JinjaParser(List<Segment> segments, int maxNesting) {
    this.segments = segments;
    this.maxNesting = maxNesting;
  }

  /**
   * The template's nodes.
   *
   * @throws IllegalArgumentException naming the problem and the line when the template does not
   *     parse or uses a refused tag
   */
  static List<Node> parse(String template, int maxNesting) {
    JinjaParser parser = new JinjaParser(JinjaLexer.lex(template), maxNesting);
    List<Node> nodes = parser.body(Set.of());
    if (parser.segment < parser.segments.size()) {
      Segment s = parser.segments.get(parser.segment);
      throw syntax("unexpected '" + firstWord(s.source()) + "'", s.line());
    }
    return nodes;
  }

  // -- statements

  /** Nodes up to (not including) a block tag whose first word is in {@code ends}. */
  private List<Node> body(Set<String> ends) {
    List<Node> nodes = new ArrayList<>();
    while (segment < segments.size()) {
      Segment s = segments.get(segment);
      switch (s.kind()) {
        case TEXT -> {
          nodes.add(new Text(s.source(), s.line()));
          segment++;
        }
        case EXPRESSION -> {
          startTag(s);
          Expr e = parseTuple(false, true, Set.of(), false);
          expectEnd();
          nodes.add(new Output(e, s.line()));
          segment++;
        }
        case STATEMENT -> {
          String keyword = firstWord(s.source());
          if (ends.contains(keyword)) {
            return nodes;
          }
          nodes.add(statement(s));
        }
      }
    }
    if (!ends.isEmpty()) {
      throw syntax(
          "unexpected end of template, expected "
              + String.join(" or ", ends.stream().sorted().map(e -> "'" + e + "'").toList()),
          segments.isEmpty() ? 1 : segments.get(segments.size() - 1).line());
    }
    return nodes;
  }

  private Node statement(Segment s) {
    startTag(s);
    int line = s.line();
    String keyword = expectName();
    if (++depth > maxNesting) {
      throw syntax("blocks nested deeper than " + maxNesting, line);
    }
    try {
      return switch (keyword) {
        case "if" -> parseIf(line);
        case "for" -> parseFor(line);
        case "set" -> parseSet(line);
        case "macro" -> parseMacro(line);
        case "filter" -> parseFilterBlock(line);
        case "generation" -> {
          expectEnd();
          segment++;
          List<Node> body = body(Set.of("endgeneration"));
          closeTag("endgeneration");
          yield new Generation(body, line);
        }
        case "break" -> {
          expectEnd();
          segment++;
          yield new Break(line);
        }
        case "continue" -> {
          expectEnd();
          segment++;
          yield new Continue(line);
        }
        default ->
            throw syntax(
                REFUSED_TAGS.contains(keyword)
                    ? "the '" + keyword + "' tag is not allowed in a chat template"
                    : "unknown tag '" + keyword + "'",
                line);
      };
    } finally {
      depth--;
    }
  }

  private Node parseIf(int line) {
    List<Expr> tests = new ArrayList<>();
    List<List<Node>> bodies = new ArrayList<>();
    List<Node> otherwise = List.of();
    tests.add(parseTuple(false, false, Set.of(), false));
    expectEnd();
    segment++;
    while (true) {
      bodies.add(body(Set.of("elif", "else", "endif")));
      Segment s = segments.get(segment);
      startTag(s);
      String word = expectName();
      if (word.equals("elif")) {
        tests.add(parseTuple(false, false, Set.of(), false));
        expectEnd();
        segment++;
        continue;
      }
      if (word.equals("else")) {
        expectEnd();
        segment++;
        otherwise = body(Set.of("endif"));
        closeTag("endif");
      } else {
        expectEnd();
        segment++;
      }
      return new If(tests, bodies, otherwise, line);
    }
  }

  private Node parseFor(int line) {
    List<String> targets = assignTargets(Set.of("in"));
    expectName("in");
    Expr iterable = parseTuple(false, false, Set.of("recursive", "if"), false);
    Expr filter = null;
    if (skip("if")) {
      filter = parseExpression(true);
    }
    boolean recursive = skip("recursive");
    expectEnd();
    segment++;
    List<Node> body = body(Set.of("else", "endfor"));
    List<Node> otherwise = List.of();
    Segment s = segments.get(segment);
    startTag(s);
    if (expectName().equals("else")) {
      expectEnd();
      segment++;
      otherwise = body(Set.of("endfor"));
      closeTag("endfor");
    } else {
      expectEnd();
      segment++;
    }
    return new For(targets, iterable, filter, recursive, body, otherwise, line);
  }

  private Node parseSet(int line) {
    String namespace = null;
    List<String> targets;
    if (current().type == Type.NAME && peek().is(".")) {
      namespace = next().text;
      next();
      targets = List.of(expectName());
    } else {
      targets = assignTargets(Set.of());
    }
    if (skip("=")) {
      Expr value = parseTuple(false, true, Set.of(), false);
      expectEnd();
      segment++;
      return new JinjaAst.Set(namespace, targets, value, line);
    }
    if (namespace != null || targets.size() != 1) {
      throw fail("a block set assigns one plain name");
    }
    List<Filter> filters = filterChain();
    expectEnd();
    segment++;
    List<Node> body = body(Set.of("endset"));
    closeTag("endset");
    return new SetBlock(targets.get(0), filters, body, line);
  }

  private Node parseMacro(int line) {
    String name = expectName();
    List<String> params = new ArrayList<>();
    Map<String, Expr> defaults = new LinkedHashMap<>();
    expect("(");
    while (!skip(")")) {
      if (!params.isEmpty()) {
        expect(",");
        if (skip(")")) {
          break;
        }
      }
      String param = expectName();
      params.add(param);
      if (skip("=")) {
        defaults.put(param, parseExpression(true));
      } else if (!defaults.isEmpty()) {
        throw fail("non-default argument '" + param + "' follows a default argument");
      }
    }
    expectEnd();
    segment++;
    List<Node> body = body(Set.of("endmacro"));
    closeTag("endmacro");
    return new Macro(name, params, defaults, body, line);
  }

  private Node parseFilterBlock(int line) {
    List<Filter> filters = new ArrayList<>();
    filters.add(filterCall(null));
    filters.addAll(filterChain());
    expectEnd();
    segment++;
    List<Node> body = body(Set.of("endfilter"));
    closeTag("endfilter");
    return new FilterBlock(filters, body, line);
  }

  /** Filters {@code | name(args) | ...} applied to a value given later (block set, filter). */
  private List<Filter> filterChain() {
    List<Filter> filters = new ArrayList<>();
    while (skip("|")) {
      filters.add(filterCall(null));
    }
    return filters;
  }

  private void closeTag(String keyword) {
    Segment s = segments.get(segment);
    startTag(s);
    expectName(keyword);
    expectEnd();
    segment++;
  }

  /** Loop and set targets: a name, or names separated by commas (optionally parenthesised). */
  private List<String> assignTargets(Set<String> endNames) {
    boolean parens = skip("(");
    List<String> names = new ArrayList<>();
    do {
      if (!names.isEmpty()
          && (current().type == Type.EOF
              || current().is("=")
              || current().is(")")
              || (current().type == Type.NAME && endNames.contains(current().text)))) {
        break;
      }
      names.add(expectName());
    } while (skip(","));
    if (parens) {
      expect(")");
    }
    return names;
  }

  // -- expressions (jinja2.parser.Parser)

  private Expr parseTuple(
      boolean simplified, boolean withCondexpr, Set<String> endNames, boolean explicitParens) {
    int line = current().line;
    List<Expr> items = new ArrayList<>();
    boolean isTuple = false;
    while (true) {
      if (!items.isEmpty()) {
        expect(",");
      }
      if (current().type == Type.EOF
          || current().is(")")
          || (current().type == Type.NAME && endNames.contains(current().text))) {
        break;
      }
      if (simplified) {
        items.add(parsePrimary());
      } else {
        items.add(parseExpression(withCondexpr));
      }
      if (current().is(",")) {
        isTuple = true;
      } else {
        break;
      }
    }
    if (!isTuple) {
      if (!items.isEmpty()) {
        return items.get(0);
      }
      if (!explicitParens) {
        throw fail("expected an expression, got " + current());
      }
    }
    return new TupleLit(items, line);
  }

  private Expr parseExpression(boolean withCondexpr) {
    return withCondexpr ? parseCondexpr() : parseOr();
  }

  private Expr parseCondexpr() {
    int line = current().line;
    Expr expr1 = parseOr();
    while (skip("if")) {
      Expr expr2 = parseOr();
      Expr expr3 = skip("else") ? parseCondexpr() : null;
      expr1 = new CondExpr(expr2, expr1, expr3, line);
    }
    return expr1;
  }

  private Expr parseOr() {
    int line = current().line;
    Expr left = parseAnd();
    while (skip("or")) {
      left = new Or(left, parseAnd(), line);
    }
    return left;
  }

  private Expr parseAnd() {
    int line = current().line;
    Expr left = parseNot();
    while (skip("and")) {
      left = new And(left, parseNot(), line);
    }
    return left;
  }

  private Expr parseNot() {
    int line = current().line;
    if (skip("not")) {
      enter();
      try {
        return new Unary("not", parseNot(), line);
      } finally {
        depth--;
      }
    }
    return parseCompare();
  }

  private Expr parseCompare() {
    int line = current().line;
    Expr expr = parseMath1();
    List<String> ops = new ArrayList<>();
    List<Expr> rest = new ArrayList<>();
    while (true) {
      Token t = current();
      if (t.type == Type.OP && COMPARE.contains(t.text)) {
        next();
        ops.add(t.text);
        rest.add(parseMath1());
      } else if (skip("in")) {
        ops.add("in");
        rest.add(parseMath1());
      } else if (t.is("not") && peek().is("in")) {
        next();
        next();
        ops.add("notin");
        rest.add(parseMath1());
      } else {
        break;
      }
    }
    return ops.isEmpty() ? expr : new Compare(expr, ops, rest, line);
  }

  private Expr parseMath1() {
    int line = current().line;
    Expr left = parseConcat();
    while (current().is("+") || current().is("-")) {
      String op = next().text;
      left = new JinjaAst.Binary(op, left, parseConcat(), line);
    }
    return left;
  }

  private Expr parseConcat() {
    int line = current().line;
    Expr left = parseMath2();
    while (skip("~")) {
      left = new JinjaAst.Binary("~", left, parseMath2(), line);
    }
    return left;
  }

  private Expr parseMath2() {
    int line = current().line;
    Expr left = parsePow();
    while (current().is("*") || current().is("/") || current().is("//") || current().is("%")) {
      String op = next().text;
      left = new JinjaAst.Binary(op, left, parsePow(), line);
    }
    return left;
  }

  private Expr parsePow() {
    int line = current().line;
    Expr left = parseUnary(true);
    while (skip("**")) {
      left = new JinjaAst.Binary("**", left, parseUnary(true), line);
    }
    return left;
  }

  private Expr parseUnary(boolean withFilter) {
    int line = current().line;
    enter();
    try {
      Expr node;
      if (skip("-")) {
        node = new Unary("-", parseUnary(false), line);
      } else if (skip("+")) {
        node = new Unary("+", parseUnary(false), line);
      } else {
        node = parsePrimary();
      }
      node = parsePostfix(node);
      if (withFilter) {
        node = parseFilterExpr(node);
      }
      return node;
    } finally {
      depth--;
    }
  }

  private Expr parsePrimary() {
    Token t = current();
    enter();
    try {
      switch (t.type) {
        case NAME -> {
          next();
          return switch (t.text) {
            case "true", "True" -> new Const(Boolean.TRUE, t.line);
            case "false", "False" -> new Const(Boolean.FALSE, t.line);
            case "none", "None" -> new Const(null, t.line);
            default -> new Name(t.text, t.line);
          };
        }
        case STRING -> {
          StringBuilder s = new StringBuilder();
          while (current().type == Type.STRING) {
            s.append((String) next().value);
          }
          return new Const(s.toString(), t.line);
        }
        case INTEGER, FLOAT -> {
          next();
          return new Const(t.value, t.line);
        }
        default -> {}
      }
      if (skip("(")) {
        Expr e = parseTuple(false, true, Set.of(), true);
        expect(")");
        return e;
      }
      if (skip("[")) {
        List<Expr> items = new ArrayList<>();
        while (!current().is("]")) {
          if (!items.isEmpty()) {
            expect(",");
            if (current().is("]")) {
              break;
            }
          }
          items.add(parseExpression(true));
        }
        expect("]");
        return new ListLit(items, t.line);
      }
      if (skip("{")) {
        List<Expr> keys = new ArrayList<>();
        List<Expr> values = new ArrayList<>();
        while (!current().is("}")) {
          if (!keys.isEmpty()) {
            expect(",");
            if (current().is("}")) {
              break;
            }
          }
          keys.add(parseExpression(true));
          expect(":");
          values.add(parseExpression(true));
        }
        expect("}");
        return new DictLit(keys, values, t.line);
      }
      throw fail("unexpected " + t);
    } finally {
      depth--;
    }
  }

  private Expr parsePostfix(Expr node) {
    while (true) {
      if (current().is(".") || current().is("[")) {
        node = parseSubscript(node);
      } else if (current().is("(")) {
        node = parseCall(node);
      } else {
        return node;
      }
    }
  }

  private Expr parseFilterExpr(Expr node) {
    while (true) {
      if (skip("|")) {
        node = filterCall(node);
      } else if (current().is("is")) {
        node = parseTest(node);
      } else if (current().is("(")) {
        node = parseCall(node);
      } else {
        return node;
      }
    }
  }

  private Expr parseSubscript(Expr node) {
    Token t = next();
    if (t.is(".")) {
      Token attr = next();
      if (attr.type == Type.NAME) {
        return new GetAttr(node, attr.text, t.line);
      }
      if (attr.type == Type.INTEGER) {
        return new GetItem(node, new Const(attr.value, attr.line), t.line);
      }
      throw fail("expected a name after '.', got " + attr);
    }
    List<Expr[]> args = new ArrayList<>();
    while (!current().is("]")) {
      if (!args.isEmpty()) {
        expect(",");
        if (current().is("]")) {
          break;
        }
      }
      args.add(parseSubscribed());
    }
    expect("]");
    if (args.size() == 1) {
      Expr[] a = args.get(0);
      return a.length == 1
          ? new GetItem(node, a[0], t.line)
          : new Slice(node, a[0], a[1], a[2], t.line);
    }
    List<Expr> key = new ArrayList<>();
    for (Expr[] a : args) {
      if (a.length != 1) {
        throw fail("a slice inside a tuple subscript");
      }
      key.add(a[0]);
    }
    return new GetItem(node, new TupleLit(key, t.line), t.line);
  }

  /** One subscript: {@code [expr]} (length 1) or a slice {@code [start, stop, step]}. */
  private Expr[] parseSubscribed() {
    Expr start = null;
    if (!current().is(":")) {
      start = parseExpression(true);
      if (!current().is(":")) {
        return new Expr[] {start};
      }
    }
    expect(":");
    Expr stop = null;
    Expr step = null;
    if (!current().is("]") && !current().is(",") && !current().is(":")) {
      stop = parseExpression(true);
    }
    if (skip(":")) {
      if (!current().is("]") && !current().is(",")) {
        step = parseExpression(true);
      }
    }
    return new Expr[] {start, stop, step};
  }

  private Call parseCall(Expr callee) {
    int line = current().line;
    List<Expr> args = new ArrayList<>();
    Map<String, Expr> kwargs = new LinkedHashMap<>();
    callArgs(args, kwargs);
    return new Call(callee, args, kwargs, line);
  }

  private void callArgs(List<Expr> args, Map<String, Expr> kwargs) {
    expect("(");
    boolean first = true;
    while (!current().is(")")) {
      if (!first) {
        expect(",");
        if (current().is(")")) {
          break;
        }
      }
      first = false;
      if (current().is("*") || current().is("**")) {
        throw fail("*args and **kwargs in calls are not supported");
      }
      if (current().type == Type.NAME && peek().is("=")) {
        String key = next().text;
        next();
        kwargs.put(key, parseExpression(true));
      } else {
        if (!kwargs.isEmpty()) {
          throw fail("a positional argument follows a keyword argument");
        }
        args.add(parseExpression(true));
      }
    }
    expect(")");
  }

  private Filter filterCall(Expr value) {
    int line = current().line;
    String name = dottedName();
    List<Expr> args = new ArrayList<>();
    Map<String, Expr> kwargs = new LinkedHashMap<>();
    if (current().is("(")) {
      callArgs(args, kwargs);
    }
    return new Filter(value, name, args, kwargs, line);
  }

  private Expr parseTest(Expr node) {
    int line = next().line; // 'is'
    boolean negated = skip("not");
    String name = dottedName();
    List<Expr> args = new ArrayList<>();
    Token t = current();
    if (t.is("(")) {
      Map<String, Expr> kwargs = new LinkedHashMap<>();
      callArgs(args, kwargs);
      if (!kwargs.isEmpty()) {
        throw fail("keyword arguments to a test");
      }
    } else if ((t.type == Type.NAME
            || t.type == Type.STRING
            || t.type == Type.INTEGER
            || t.type == Type.FLOAT
            || t.is("(")
            || t.is("[")
            || t.is("{"))
        && !t.is("else")
        && !t.is("or")
        && !t.is("and")) {
      if (t.is("is")) {
        throw fail("you cannot chain multiple tests with 'is'");
      }
      args.add(parsePostfix(parsePrimary()));
    }
    return new Test(node, name, args, negated, line);
  }

  private String dottedName() {
    StringBuilder name = new StringBuilder(expectName());
    while (skip(".")) {
      name.append('.').append(expectName());
    }
    return name.toString();
  }

  private void enter() {
    if (++depth > maxNesting) {
      depth = 0;
      throw fail("expressions nested deeper than " + maxNesting);
    }
  }

  // -- tokens

  private void startTag(Segment s) {
    tokens = tokenize(s.source(), s.line());
    at = 0;
  }

  private static List<Token> tokenize(String s, int firstLine) {
    List<Token> tokens = new ArrayList<>();
    int line = firstLine;
    int i = 0;
    while (i < s.length()) {
      char c = s.charAt(i);
      if (isPySpace(c)) {
        if (c == '\n') {
          line++;
        }
        i++;
        continue;
      }
      if (c == '\'' || c == '"') {
        int close = i + 1;
        while (close < s.length() && s.charAt(close) != c) {
          close += s.charAt(close) == '\\' ? 2 : 1;
        }
        if (close >= s.length()) {
          throw syntax("unterminated string literal", line);
        }
        String body = s.substring(i + 1, close);
        String value;
        try {
          value = JinjaLexer.pyUnescape(body);
        } catch (IllegalArgumentException e) {
          throw syntax(e.getMessage(), line);
        }
        tokens.add(new Token(Type.STRING, s.substring(i, close + 1), value, line));
        line += count(body, '\n');
        i = close + 1;
        continue;
      }
      Matcher m = FLOAT.matcher(s).region(i, s.length());
      if (Character.isDigit(c) && m.lookingAt()) {
        String text = m.group();
        tokens.add(new Token(Type.FLOAT, text, Double.valueOf(text.replace("_", "")), line));
        i = m.end();
        continue;
      }
      m = INTEGER.matcher(s).region(i, s.length());
      if (Character.isDigit(c) && m.lookingAt()) {
        String digits = m.group().replace("_", "").toLowerCase(Locale.ROOT);
        int radix =
            digits.startsWith("0x")
                ? 16
                : digits.startsWith("0o") ? 8 : digits.startsWith("0b") ? 2 : 10;
        BigInteger value = new BigInteger(radix == 10 ? digits : digits.substring(2), radix);
        if (value.bitLength() > 63) {
          throw syntax("integer literal " + m.group() + " is out of range", line);
        }
        tokens.add(new Token(Type.INTEGER, m.group(), value.longValue(), line));
        i = m.end();
        continue;
      }
      m = NAME.matcher(s).region(i, s.length());
      if (m.lookingAt()) {
        tokens.add(new Token(Type.NAME, m.group(), null, line));
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
        throw syntax("unexpected char '" + c + "'", line);
      }
      tokens.add(new Token(Type.OP, op, null, line));
      i += op.length();
    }
    tokens.add(new Token(Type.EOF, "", null, line));
    return tokens;
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

  private void expectName(String name) {
    if (!current().is(name)) {
      throw fail("expected '" + name + "', got " + current());
    }
    next();
  }

  private void expectEnd() {
    if (current().type != Type.EOF) {
      throw fail("unexpected " + current());
    }
  }

  private IllegalArgumentException fail(String problem) {
    return syntax(problem, current().line);
  }

  private static IllegalArgumentException syntax(String problem, int line) {
    return new IllegalArgumentException(
        "chat template does not parse: " + problem + " (line " + line + ")");
  }

  private static String firstWord(String source) {
    Matcher m = NAME.matcher(source.strip());
    return m.lookingAt() ? m.group() : source.strip();
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
}
