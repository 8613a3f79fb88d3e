package org.prefscore.chat;

import static org.prefscore.chat.ChatTemplate.iterate;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.Filter;
import com.hubspot.jinjava.objects.SafeString;
import java.beans.FeatureDescriptor;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

/**
 * Python semantics the chat templates rely on, for Jinjava: str methods ({@link PythonMethods}),
 * transformers' filters ({@code trim}, {@code string}, {@code first}/{@code last}, {@code tojson})
 * and Python's {@code json.dumps} and float repr ({@link Json}).
 */
final class PythonShims {

  private PythonShims() {}

  static String str(Object value) {
    return value instanceof SafeString ? ((SafeString) value).getValue() : String.valueOf(value);
  }

  /** Python's str.isspace for one char. */
  static boolean isPySpace(char c) {
    return Character.isWhitespace(c) || Character.isSpaceChar(c) || c == '\u0085';
  }

  static boolean stripped(char c, String chars) {
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

  static int pyInt(Object value) {
    return ((Number) value).intValue();
  }

  /** Python str and dict methods that Java's String and Map lack or implement differently. */
  static final class PythonMethods extends ELResolver {
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
      } else if (base instanceof Map
          && "get".equals(method.toString())
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
  static final class PyTrimFilter implements Filter {
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
  static final class PyStringFilter implements Filter {
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
  static final class PyEndFilter implements Filter {
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
  static final class PyToJsonFilter implements Filter {
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
      boolean ascii =
          Boolean.TRUE.equals(
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
  static final class Json {
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
        writeSeq(
            out,
            '{',
            '}',
            list.size(),
            level,
            i -> {
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
      String mantissa =
          digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
      return (d < 0 ? "-" : "")
          + mantissa
          + "e"
          + (exponent < 0 ? "-" : "+")
          + String.format("%02d", Math.abs(exponent));
    }
  }
}
