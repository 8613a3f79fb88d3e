package org.prefscore.chat;

import java.util.AbstractList;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Python's semantics over the only values a template can hold: {@code None} (null), {@code bool}
 * (Boolean), {@code int} (Long), {@code float} (Double), {@code str} (String), lists (List), tuples
 * ({@link Tuple}), dicts (Map, insertion-ordered), Jinja2's {@link Undefined}, and the template's
 * own objects ({@link Namespace}, loops, macros and other {@link Callable}s). No other Java object
 * ever enters a render, so nothing but these semantics is reachable from a template.
 */
final class Py {

  private Py() {}

  /** A failure of the template's Python-level evaluation (TypeError, ZeroDivisionError, ...). */
  static final class PyError extends RuntimeException {
    private static final long serialVersionUID = 1L;

    PyError(String message) {
      super(message, null, false, false);
    }
  }

  /** Jinja2's default Undefined: prints as '', is falsy and empty, fails on attribute access. */
  static final class Undefined {
    final String hint;

    Undefined(String hint) {
      this.hint = hint;
    }

    PyError error() {
      return new PyError(hint + " is undefined");
    }

    @Override
    public String toString() {
      return "";
    }
  }

  /** An immutable tuple: a list that prints with parentheses. */
  static final class Tuple extends AbstractList<Object> {
    private final List<Object> items;

    Tuple(List<?> items) {
      this.items = Collections.unmodifiableList(new ArrayList<>(items));
    }

    @Override
    public Object get(int index) {
      return items.get(index);
    }

    @Override
    public int size() {
      return items.size();
    }
  }

  /** Jinja2's {@code namespace(...)}: the one object whose attributes a template may set. */
  static final class Namespace {
    final Map<String, Object> attributes = new LinkedHashMap<>();
  }

  /** A function the template can call: a macro, a global, a bound method. */
  interface Callable {
    Object call(List<Object> args, Map<String, Object> kwargs);
  }

  // -- conversions

  static boolean isInt(Object v) {
    return v instanceof Long || v instanceof Boolean;
  }

  static boolean isNumber(Object v) {
    return v instanceof Long || v instanceof Double || v instanceof Boolean;
  }

  static long asLong(Object v) {
    return v instanceof Boolean b ? (b ? 1 : 0) : (Long) v;
  }

  static double asDouble(Object v) {
    return v instanceof Double d ? d : asLong(v);
  }

  /** Python's truth value. */
  static boolean truthy(Object v) {
    if (v == null || v instanceof Undefined) {
      return false;
    }
    if (v instanceof Boolean b) {
      return b;
    }
    if (v instanceof Long l) {
      return l != 0;
    }
    if (v instanceof Double d) {
      return d != 0;
    }
    if (v instanceof String s) {
      return !s.isEmpty();
    }
    if (v instanceof List<?> l) {
      return !l.isEmpty();
    }
    if (v instanceof Map<?, ?> m) {
      return !m.isEmpty();
    }
    return true;
  }

  /** Python's type name, for error messages. */
  static String typeName(Object v) {
    if (v == null) {
      return "NoneType";
    }
    if (v instanceof Boolean) {
      return "bool";
    }
    if (v instanceof Long) {
      return "int";
    }
    if (v instanceof Double) {
      return "float";
    }
    if (v instanceof String) {
      return "str";
    }
    if (v instanceof Tuple) {
      return "tuple";
    }
    if (v instanceof List) {
      return "list";
    }
    if (v instanceof Map) {
      return "dict";
    }
    if (v instanceof Undefined) {
      return "Undefined";
    }
    if (v instanceof Namespace) {
      return "Namespace";
    }
    if (v instanceof Callable) {
      return "function";
    }
    return "object";
  }

  /** Python's {@code str(v)}, as {@code {{ v }}} prints it. */
  static String str(Object v) {
    if (v instanceof String s) {
      return s;
    }
    if (v instanceof Undefined) {
      return "";
    }
    return repr(v);
  }

  /** Python's {@code repr(v)}. */
  static String repr(Object v) {
    if (v == null) {
      return "None";
    }
    if (v instanceof Boolean b) {
      return b ? "True" : "False";
    }
    if (v instanceof Long) {
      return v.toString();
    }
    if (v instanceof Double d) {
      return PythonJson.pyFloat(d).replace("Infinity", "inf").replace("NaN", "nan");
    }
    if (v instanceof String s) {
      return reprString(s);
    }
    if (v instanceof Undefined) {
      return "";
    }
    if (v instanceof Tuple t) {
      StringBuilder out = new StringBuilder("(");
      for (int i = 0; i < t.size(); i++) {
        out.append(i > 0 ? ", " : "").append(repr(t.get(i)));
      }
      return out.append(t.size() == 1 ? ",)" : ")").toString();
    }
    if (v instanceof List<?> l) {
      StringBuilder out = new StringBuilder("[");
      for (int i = 0; i < l.size(); i++) {
        out.append(i > 0 ? ", " : "").append(repr(l.get(i)));
      }
      return out.append(']').toString();
    }
    if (v instanceof Map<?, ?> m) {
      StringBuilder out = new StringBuilder("{");
      boolean first = true;
      for (Map.Entry<?, ?> e : m.entrySet()) {
        out.append(first ? "" : ", ").append(repr(e.getKey())).append(": ");
        out.append(repr(e.getValue()));
        first = false;
      }
      return out.append('}').toString();
    }
    if (v instanceof Namespace) {
      return "<Namespace>";
    }
    return "<" + typeName(v) + ">";
  }

  private static String reprString(String s) {
    char quote = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
    StringBuilder out = new StringBuilder(s.length() + 2).append(quote);
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == quote || c == '\\') {
        out.append('\\').append(c);
      } else if (c == '\n') {
        out.append("\\n");
      } else if (c == '\r') {
        out.append("\\r");
      } else if (c == '\t') {
        out.append("\\t");
      } else if (c < 0x20 || c == 0x7f) {
        out.append(String.format("\\x%02x", (int) c));
      } else {
        out.append(c);
      }
    }
    return out.append(quote).toString();
  }

  // -- comparison

  /** Python's {@code a == b}. */
  static boolean eq(Object a, Object b) {
    if (a == b) {
      return true;
    }
    if (a == null || b == null) {
      return false;
    }
    if (isNumber(a) && isNumber(b)) {
      return isInt(a) && isInt(b) ? asLong(a) == asLong(b) : asDouble(a) == asDouble(b);
    }
    if (a instanceof Undefined || b instanceof Undefined) {
      return a instanceof Undefined && b instanceof Undefined;
    }
    if (a instanceof String || b instanceof String) {
      return a.equals(b);
    }
    if (a instanceof List<?> x && b instanceof List<?> y) {
      if ((a instanceof Tuple) != (b instanceof Tuple) || x.size() != y.size()) {
        return false;
      }
      for (int i = 0; i < x.size(); i++) {
        if (!eq(x.get(i), y.get(i))) {
          return false;
        }
      }
      return true;
    }
    if (a instanceof Map<?, ?> x && b instanceof Map<?, ?> y) {
      if (x.size() != y.size()) {
        return false;
      }
      for (Map.Entry<?, ?> e : x.entrySet()) {
        if (!y.containsKey(e.getKey()) || !eq(e.getValue(), y.get(e.getKey()))) {
          return false;
        }
      }
      return true;
    }
    return false;
  }

  /** Python's ordering for {@code <}, {@code >}, ...: numbers, strings, lists, tuples. */
  static int compare(Object a, Object b, String op) {
    if (isNumber(a) && isNumber(b)) {
      return isInt(a) && isInt(b)
          ? Long.compare(asLong(a), asLong(b))
          : Double.compare(asDouble(a), asDouble(b));
    }
    if (a instanceof String x && b instanceof String y) {
      return x.compareTo(y);
    }
    if (a instanceof List<?> x
        && b instanceof List<?> y
        && (a instanceof Tuple) == (b instanceof Tuple)) {
      for (int i = 0; i < Math.min(x.size(), y.size()); i++) {
        if (!eq(x.get(i), y.get(i))) {
          return compare(x.get(i), y.get(i), op);
        }
      }
      return Integer.compare(x.size(), y.size());
    }
    throw new PyError(
        "'"
            + op
            + "' not supported between instances of '"
            + typeName(a)
            + "' and '"
            + typeName(b)
            + "'");
  }

  /** Python's {@code item in container}. */
  static boolean contains(Object container, Object item) {
    if (container instanceof String s) {
      if (!(item instanceof String)) {
        throw new PyError("'in <string>' requires string as left operand, not " + typeName(item));
      }
      return s.contains((String) item);
    }
    if (container instanceof List<?> l) {
      for (Object x : l) {
        if (eq(x, item)) {
          return true;
        }
      }
      return false;
    }
    if (container instanceof Map<?, ?> m) {
      return dictKey(m, item) != NO_KEY;
    }
    if (container instanceof Undefined u) {
      throw u.error();
    }
    throw new PyError("argument of type '" + typeName(container) + "' is not iterable");
  }

  static final Object NO_KEY = new Object();

  /** The key of {@code m} equal to {@code key} in Python's sense, or {@link #NO_KEY}. */
  static Object dictKey(Map<?, ?> m, Object key) {
    if (m.containsKey(key)) {
      return key;
    }
    if (isNumber(key)) {
      for (Object k : m.keySet()) {
        if (isNumber(k) && eq(k, key)) {
          return k;
        }
      }
    }
    return NO_KEY;
  }

  // -- iteration

  /** The items a for loop or a filter iterates: list items, dict keys, string characters. */
  static List<Object> iterate(Object v) {
    if (v instanceof List<?> l) {
      return new ArrayList<>(l);
    }
    if (v instanceof Map<?, ?> m) {
      return new ArrayList<>(m.keySet());
    }
    if (v instanceof String s) {
      List<Object> chars = new ArrayList<>(s.length());
      s.codePoints().forEach(c -> chars.add(new String(Character.toChars(c))));
      return chars;
    }
    if (v instanceof Undefined) {
      return new ArrayList<>();
    }
    throw new PyError("'" + typeName(v) + "' object is not iterable");
  }

  /** Python's {@code len(v)}. */
  static long len(Object v) {
    if (v instanceof String s) {
      return s.codePointCount(0, s.length());
    }
    if (v instanceof List<?> l) {
      return l.size();
    }
    if (v instanceof Map<?, ?> m) {
      return m.size();
    }
    if (v instanceof Undefined) {
      return 0;
    }
    throw new PyError("object of type '" + typeName(v) + "' has no len()");
  }

  // -- item access and slicing

  /** Python's {@code obj[key]} as Jinja2's environment.getitem: Undefined when there is none. */
  static Object getItem(Object obj, Object key) {
    if (obj instanceof Undefined u) {
      throw u.error();
    }
    if (obj instanceof Map<?, ?> m) {
      Object k = dictKey(m, key);
      return k == NO_KEY
          ? new Undefined("'" + typeName(obj) + " object' has no attribute " + repr(key))
          : m.get(k);
    }
    if ((obj instanceof List || obj instanceof String) && isInt(key)) {
      long index = asLong(key);
      if (obj instanceof String s) {
        int n = s.codePointCount(0, s.length());
        long at = index < 0 ? index + n : index;
        if (at < 0 || at >= n) {
          return new Undefined("string index " + index);
        }
        int offset = s.offsetByCodePoints(0, (int) at);
        return new String(Character.toChars(s.codePointAt(offset)));
      }
      List<?> l = (List<?>) obj;
      long at = index < 0 ? index + l.size() : index;
      return at < 0 || at >= l.size() ? new Undefined("list index " + index) : l.get((int) at);
    }
    if (obj instanceof Namespace ns && key instanceof String name) {
      return ns.attributes.containsKey(name)
          ? ns.attributes.get(name)
          : new Undefined("'Namespace object' has no attribute '" + name + "'");
    }
    return new Undefined("'" + typeName(obj) + " object' has no attribute " + repr(key));
  }

  /** Python's {@code obj[start:stop:step]} on a string, list or tuple. */
  static Object slice(Object obj, Object start, Object stop, Object step) {
    long st = step == null ? 1 : sliceIndex(step);
    if (st == 0) {
      throw new PyError("slice step cannot be zero");
    }
    List<Object> items;
    boolean string = obj instanceof String;
    if (string) {
      items = iterate(obj);
    } else if (obj instanceof List<?> l) {
      items = new ArrayList<>(l);
    } else if (obj instanceof Undefined u) {
      throw u.error();
    } else {
      throw new PyError("'" + typeName(obj) + "' object is not subscriptable");
    }
    int n = items.size();
    long lo;
    long hi;
    if (st > 0) {
      lo = start == null ? 0 : clamp(sliceIndex(start), n, 0, n);
      hi = stop == null ? n : clamp(sliceIndex(stop), n, 0, n);
    } else {
      lo = start == null ? n - 1 : clamp(sliceIndex(start), n, -1, n - 1);
      hi = stop == null ? -1 : clamp(sliceIndex(stop), n, -1, n - 1);
    }
    List<Object> out = new ArrayList<>();
    for (long i = lo; st > 0 ? i < hi : i > hi; i += st) {
      out.add(items.get((int) i));
    }
    if (string) {
      StringBuilder s = new StringBuilder();
      out.forEach(c -> s.append((String) c));
      return s.toString();
    }
    return obj instanceof Tuple ? new Tuple(out) : out;
  }

  private static long sliceIndex(Object v) {
    if (v == null) {
      return 0;
    }
    if (!isInt(v)) {
      throw new PyError("slice indices must be integers or None");
    }
    return asLong(v);
  }

  private static long clamp(long index, int n, long low, long high) {
    long i = index < 0 ? index + n : index;
    return Math.max(low, Math.min(high, i));
  }

  // -- arithmetic

  /** A binary operator: + - * / // % **. */
  static Object arithmetic(String op, Object a, Object b, Budget budget) {
    if (isNumber(a) && isNumber(b)) {
      boolean ints = isInt(a) && isInt(b);
      try {
        switch (op) {
          case "+":
            return ints ? (Object) Math.addExact(asLong(a), asLong(b)) : asDouble(a) + asDouble(b);
          case "-":
            return ints
                ? (Object) Math.subtractExact(asLong(a), asLong(b))
                : asDouble(a) - asDouble(b);
          case "*":
            return ints
                ? (Object) Math.multiplyExact(asLong(a), asLong(b))
                : asDouble(a) * asDouble(b);
          case "/":
            if (asDouble(b) == 0) {
              throw new PyError("division by zero");
            }
            return asDouble(a) / asDouble(b);
          case "//":
            if (asDouble(b) == 0) {
              throw new PyError("integer division or modulo by zero");
            }
            return ints
                ? (Object) Math.floorDiv(asLong(a), asLong(b))
                : Math.floor(asDouble(a) / asDouble(b));
          case "%":
            if (asDouble(b) == 0) {
              throw new PyError("integer division or modulo by zero");
            }
            if (ints) {
              return Math.floorMod(asLong(a), asLong(b));
            }
            double m = asDouble(a) % asDouble(b);
            return m != 0 && (m < 0) != (asDouble(b) < 0) ? m + asDouble(b) : m;
          case "**":
            if (ints && asLong(b) >= 0) {
              return power(asLong(a), asLong(b));
            }
            return Math.pow(asDouble(a), asDouble(b));
          default:
            break;
        }
      } catch (ArithmeticException e) {
        throw new PyError("integer overflow in " + repr(a) + " " + op + " " + repr(b));
      }
    }
    if (op.equals("+")) {
      if (a instanceof String x && b instanceof String y) {
        budget.allocate(x.length() + (long) y.length());
        return x + y;
      }
      if (a instanceof List<?> x
          && b instanceof List<?> y
          && (a instanceof Tuple) == (b instanceof Tuple)) {
        budget.allocate(x.size() + (long) y.size());
        List<Object> out = new ArrayList<>(x);
        out.addAll(y);
        return a instanceof Tuple ? new Tuple(out) : out;
      }
    }
    if (op.equals("*")) {
      if ((a instanceof String || a instanceof List) && isInt(b)) {
        return repeat(a, asLong(b), budget);
      }
      if ((b instanceof String || b instanceof List) && isInt(a)) {
        return repeat(b, asLong(a), budget);
      }
    }
    if (op.equals("%") && a instanceof String format) {
      return percentFormat(format, b, budget);
    }
    if (a instanceof Undefined u) {
      throw u.error();
    }
    if (b instanceof Undefined u) {
      throw u.error();
    }
    throw new PyError(
        "unsupported operand type(s) for "
            + op
            + ": '"
            + typeName(a)
            + "' and '"
            + typeName(b)
            + "'");
  }

  private static long power(long base, long exponent) {
    long result = 1;
    for (long i = 0; i < exponent; i++) {
      result = Math.multiplyExact(result, base);
      if (result == 0 || result == 1 && base == 1) {
        return result;
      }
    }
    return result;
  }

  private static Object repeat(Object value, long times, Budget budget) {
    long n = Math.max(0, times);
    if (value instanceof String s) {
      budget.allocate(s.length() * n);
      return s.repeat((int) n);
    }
    List<?> l = (List<?>) value;
    budget.allocate(l.size() * n);
    List<Object> out = new ArrayList<>();
    for (long i = 0; i < n; i++) {
      out.addAll(l);
    }
    return value instanceof Tuple ? new Tuple(out) : out;
  }

  private static final Pattern PERCENT = Pattern.compile("%([sdir%])");

  /** Python's {@code format % args} for %s, %d, %i, %r and %%. */
  private static String percentFormat(String format, Object args, Budget budget) {
    List<?> values = args instanceof Tuple t ? t : List.of(args == null ? "None" : args);
    if (args == null) {
      values = java.util.Collections.singletonList(null);
    }
    Matcher m = PERCENT.matcher(format);
    StringBuilder out = new StringBuilder();
    int next = 0;
    while (m.find()) {
      String spec = m.group(1);
      String text;
      if (spec.equals("%")) {
        text = "%";
      } else {
        if (next >= values.size()) {
          throw new PyError("not enough arguments for format string");
        }
        Object v = values.get(next++);
        text =
            switch (spec) {
              case "s" -> str(v);
              case "r" -> repr(v);
              default -> {
                if (!isNumber(v)) {
                  throw new PyError(
                      "%" + spec + " format: a real number is required, not " + typeName(v));
                }
                yield Long.toString(v instanceof Double d ? (long) (double) d : asLong(v));
              }
            };
      }
      m.appendReplacement(out, Matcher.quoteReplacement(text));
    }
    m.appendTail(out);
    if (next < values.size()) {
      throw new PyError("not all arguments converted during string formatting");
    }
    budget.allocate(out.length());
    return out.toString();
  }

  // -- strings (Python's str methods that differ from Java's)

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
  static List<Object> pySplit(String s, String sep, long maxsplit, boolean fromRight) {
    List<Object> parts = new ArrayList<>();
    if (sep == null) {
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
        parts.add(pyStrip(s.substring(words.get((int) maxsplit)[0]), null, false, true));
      } else {
        int first = (int) (words.size() - maxsplit);
        parts.add(pyStrip(s.substring(0, words.get(first - 1)[1]), null, true, false));
        for (int w = first; w < words.size(); w++) {
          parts.add(s.substring(words.get(w)[0], words.get(w)[1]));
        }
      }
      return parts;
    }
    if (sep.isEmpty()) {
      throw new PyError("empty separator");
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
    while ((maxsplit < 0 || splits < maxsplit)
        && to - sep.length() >= 0
        && (at = s.lastIndexOf(sep, to - sep.length())) >= 0) {
      parts.add(0, s.substring(at + sep.length(), to));
      to = at;
      splits++;
    }
    parts.add(0, s.substring(0, to));
    return parts;
  }

  static String pyReplace(String s, String old, String replacement, long count) {
    if (count < 0) {
      return s.replace(old, replacement);
    }
    StringBuilder out = new StringBuilder();
    int from = 0;
    for (long done = 0; done < count; done++) {
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

  static final Pattern WORD_BEGINNING = Pattern.compile("([-\\s({\\[<]+)");

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

  static String pyTitle(String s) {
    StringBuilder out = new StringBuilder(s.length());
    boolean previousCased = false;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      out.append(previousCased ? Character.toLowerCase(c) : Character.toTitleCase(c));
      previousCased = Character.isLetter(c);
    }
    return out.toString();
  }

  /** A plain value given by the caller (kwargs), checked and copied into template values. */
  static Object fromJava(Object v) {
    if (v == null
        || v instanceof String
        || v instanceof Boolean
        || v instanceof Long
        || v instanceof Double) {
      return v;
    }
    if (v instanceof Integer || v instanceof Short || v instanceof Byte) {
      return ((Number) v).longValue();
    }
    if (v instanceof Float f) {
      return (double) f;
    }
    if (v instanceof List<?> l) {
      List<Object> out = new ArrayList<>(l.size());
      l.forEach(x -> out.add(fromJava(x)));
      return Collections.unmodifiableList(out);
    }
    if (v instanceof Map<?, ?> m) {
      Map<Object, Object> out = new LinkedHashMap<>();
      m.forEach((k, x) -> out.put(fromJava(Objects.requireNonNull(k, "key")), fromJava(x)));
      return Collections.unmodifiableMap(out);
    }
    throw new IllegalArgumentException(
        "a template value must be a plain string, number, boolean, null, list or map, not "
            + v.getClass().getSimpleName());
  }

  /** Iterator helper for the renderer. */
  static Iterator<Object> iterator(Object v) {
    return iterate(v).iterator();
  }
}
