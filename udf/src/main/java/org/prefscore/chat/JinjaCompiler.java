package org.prefscore.chat;

import static org.prefscore.chat.PythonShims.isPySpace;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Jinja2's expression grammar (jinja2/parser.py), compiled to Jinjava with every operation
 * parenthesized. Jinjava's own parser differs from Jinja2 in precedence: {@code not x is defined}
 * is {@code (not x) is defined} there and {@code not a in b} is {@code (not a) in b}, both silently
 * wrong, and keyword arguments such as {@code namespace(n=xs|length - 1)} fail. Also rewritten:
 * chained comparisons, {@code not in}, {@code x[::-1]} (to {@code x|reverse}), adjacent string
 * literals, tuples (to lists), {@code True/False/None}, and if-expressions without else. Statements
 * whose expressions are compiled: {@code for}, {@code if}, {@code elif}, {@code set}; others pass
 * through with their string literals re-encoded.
 */
final class JinjaCompiler {
  private enum Type {
    NAME,
    STRING,
    NUMBER,
    OP,
    EOF
  }

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
      Pattern.compile("(\\d+_)*\\d+((\\.(\\d+_)*\\d+)?[eE][+\\-]?(\\d+_)*\\d+|\\.(\\d+_)*\\d+)");
  private static final Pattern INTEGER =
      Pattern.compile(
          "(0[bB](_?[01])+|0[oO](_?[0-7])+|0[xX](_?[\\da-fA-F])+|[1-9](_?\\d)*|0(_?0)*)");
  private static final List<String> OPERATORS =
      List.of(
          "**", "//", "==", "!=", ">=", "<=", "+", "-", "*", "/", "%", "~", "<", ">", "=", "(", ")",
          "[", "]", "{", "}", ",", ".", ":", "|", ";");
  static final String ITERATE = "__py_iter";
  static final String GET_ITEM = "__py_getitem";
  private static final List<String> COMPARE = List.of("==", "!=", ">", ">=", "<", "<=");
  private static final List<String> SIMPLE_STATEMENTS =
      List.of(
          "else",
          "endif",
          "endfor",
          "endset",
          "endmacro",
          "endcall",
          "endfilter",
          "break",
          "continue",
          "generation",
          "endgeneration");

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
        int radix =
            digits.startsWith("0x")
                ? 16
                : digits.startsWith("0o") ? 8 : digits.startsWith("0b") ? 2 : 10;
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
        "chat template uses "
            + feature
            + " (line "
            + line
            + "), which Jinjava does not render"
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
          boolean tight =
              token.is("(")
                  || token.is(")")
                  || token.is(",")
                  || token.is(".")
                  || raw.charAt(raw.length() - 1) == '('
                  || raw.charAt(raw.length() - 1) == '.';
          if (!tight) {
            raw.append(' ');
          }
          raw.append(
              token.type == Type.STRING ? JinjaLexer.jinjavaLiteral(token.text) : token.text);
        }
        return raw.toString();
    }
  }

  /** Loop and set targets: a name, names separated by commas, or ns.attr for set. */
  private String assignTarget(boolean withNamespace) {
    boolean parens = skip("(");
    List<String> names = new ArrayList<>();
    do {
      if (!names.isEmpty()
          && (current().is("in")
              || current().is("=")
              || current().is(")")
              || current().type == Type.EOF)) {
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
      if (current().type == Type.EOF
          || current().is(")")
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
    while (current().is("*") || current().is("/") || current().is("//") || current().is("%")) {
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
          if (node.equals("loop")
              && List.of("previtem", "nextitem", "changed").contains(attribute.text)) {
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
        } else if ((token.type == Type.NAME
                || token.type == Type.STRING
                || token.type == Type.NUMBER
                || token.is("[")
                || token.is("{"))
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
