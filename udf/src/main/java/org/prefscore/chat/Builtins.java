package org.prefscore.chat;

import java.time.ZonedDateTime;
import java.time.format.TextStyle;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.prefscore.chat.Py.Callable;
import org.prefscore.chat.Py.Namespace;
import org.prefscore.chat.Py.PyError;
import org.prefscore.chat.Py.Tuple;
import org.prefscore.chat.Py.Undefined;

/**
 * Everything a template can call: the filters, tests and global functions of Jinja2 that chat
 * templates use (plus transformers' {@code raise_exception}, {@code strftime_now} and {@code
 * tojson}), and the allowlisted methods of str, dict and list. A name not listed here does not
 * exist for a template; attributes starting with an underscore and the methods that modify a list
 * or dict are refused, as Jinja2's {@code ImmutableSandboxedEnvironment} refuses them.
 */
final class Builtins {

  private Builtins() {}

  private static final Set<String> STR_METHODS =
      Set.of(
          "strip",
          "lstrip",
          "rstrip",
          "split",
          "rsplit",
          "splitlines",
          "startswith",
          "endswith",
          "replace",
          "upper",
          "lower",
          "capitalize",
          "title",
          "swapcase",
          "casefold",
          "find",
          "rfind",
          "index",
          "rindex",
          "count",
          "join",
          "isdigit",
          "isnumeric",
          "isdecimal",
          "isalpha",
          "isalnum",
          "isspace",
          "islower",
          "isupper",
          "istitle",
          "zfill",
          "center",
          "ljust",
          "rjust",
          "removeprefix",
          "removesuffix",
          "partition",
          "rpartition",
          "format");
  private static final Set<String> DICT_METHODS = Set.of("get", "items", "keys", "values", "copy");
  private static final Set<String> LIST_METHODS = Set.of("index", "count", "copy");
  private static final Set<String> MUTATING =
      Set.of(
          "append",
          "extend",
          "insert",
          "pop",
          "remove",
          "sort",
          "reverse",
          "clear",
          "update",
          "setdefault",
          "popitem",
          "add",
          "discard",
          "difference_update",
          "intersection_update",
          "symmetric_difference_update",
          "__setitem__",
          "__delitem__");

  // -- attributes

  /**
   * Jinja2's sandboxed {@code getattr(obj, name)}: the attribute, else the item, else Undefined.
   */
  static Object getattr(JinjaRenderer r, Object obj, String name) {
    if (name.startsWith("_")) {
      throw unsafe(obj, name);
    }
    if (obj instanceof Undefined u) {
      throw u.error();
    }
    if (obj instanceof Map<?, ?> map) {
      if (DICT_METHODS.contains(name)) {
        return method(r, obj, name);
      }
      if (MUTATING.contains(name)) {
        throw unsafe(obj, name);
      }
      return Py.getItem(map, name);
    }
    if (obj instanceof String) {
      if (STR_METHODS.contains(name)) {
        return method(r, obj, name);
      }
      return noAttribute(obj, name);
    }
    if (obj instanceof List) {
      if (LIST_METHODS.contains(name)) {
        return method(r, obj, name);
      }
      if (MUTATING.contains(name)) {
        throw unsafe(obj, name);
      }
      return noAttribute(obj, name);
    }
    if (obj instanceof Namespace ns) {
      return ns.attributes.containsKey(name) ? ns.attributes.get(name) : noAttribute(obj, name);
    }
    if (obj instanceof JinjaRenderer.Loop loop) {
      Object value = loop.attribute(name);
      return value != null ? value : noAttribute(obj, name);
    }
    if (obj instanceof Cycler c) {
      return c.attribute(name);
    }
    return noAttribute(obj, name);
  }

  private static Undefined noAttribute(Object obj, String name) {
    return new Undefined("'" + Py.typeName(obj) + " object' has no attribute '" + name + "'");
  }

  private static PyError unsafe(Object obj, String name) {
    return new PyError(
        "access to attribute '" + name + "' of '" + Py.typeName(obj) + "' object is unsafe");
  }

  private static Callable method(JinjaRenderer r, Object receiver, String name) {
    return (args, kwargs) -> {
      if (receiver instanceof String s) {
        return strMethod(r, s, name, args, kwargs);
      }
      if (receiver instanceof Map<?, ?> m) {
        return dictMethod(m, name, args);
      }
      return listMethod((List<?>) receiver, name, args);
    };
  }

  private static Object arg(
      List<Object> args, Map<String, Object> kwargs, int i, String name, Object otherwise) {
    if (i < args.size()) {
      return args.get(i);
    }
    return kwargs.containsKey(name) ? kwargs.get(name) : otherwise;
  }

  private static String strArg(Object v, String method) {
    if (v == null) {
      return null;
    }
    if (!(v instanceof String s)) {
      throw new PyError(method + "() argument must be str or None, not " + Py.typeName(v));
    }
    return s;
  }

  private static long intArg(Object v, String method) {
    if (!Py.isInt(v)) {
      throw new PyError(method + "(): an integer is required, not " + Py.typeName(v));
    }
    return Py.asLong(v);
  }

  private static void arity(List<Object> args, int min, int max, String name) {
    if (args.size() < min || args.size() > max) {
      throw new PyError(
          name
              + "() takes "
              + (min == max ? "" + min : min + " to " + max)
              + " argument(s), got "
              + args.size());
    }
  }

  private static Object strMethod(
      JinjaRenderer r, String s, String name, List<Object> args, Map<String, Object> kwargs) {
    Budget budget = r.budget;
    switch (name) {
      case "strip", "lstrip", "rstrip" -> {
        arity(args, 0, 1, name);
        String chars = strArg(arg(args, kwargs, 0, "chars", null), name);
        return Py.pyStrip(s, chars, !name.equals("rstrip"), !name.equals("lstrip"));
      }
      case "split", "rsplit" -> {
        arity(args, 0, 2, name);
        String sep = strArg(arg(args, kwargs, 0, "sep", null), name);
        long max = intArg(arg(args, kwargs, 1, "maxsplit", -1L), name);
        List<Object> parts = Py.pySplit(s, sep, max, name.equals("rsplit"));
        budget.allocate(parts.size() + (long) s.length());
        return parts;
      }
      case "splitlines" -> {
        List<Object> lines =
            new ArrayList<>(
                List.of(s.split("\r\n|[\n\r\u000b\f\u001c\u001d\u001e\u0085\u2028\u2029]", -1)));
        if (!lines.isEmpty() && lines.get(lines.size() - 1).equals("")) {
          lines.remove(lines.size() - 1);
        }
        budget.allocate(lines.size() + (long) s.length());
        return lines;
      }
      case "startswith", "endswith" -> {
        arity(args, 1, 1, name);
        List<Object> affixes = args.get(0) instanceof Tuple t ? t : List.of(args.get(0));
        for (Object affix : affixes) {
          String a = strArg(affix, name);
          if (a == null) {
            throw new PyError(name + " first arg must be str or a tuple of str, not NoneType");
          }
          if (name.equals("startswith") ? s.startsWith(a) : s.endsWith(a)) {
            return true;
          }
        }
        return false;
      }
      case "replace" -> {
        arity(args, 2, 3, name);
        String old = strArg(args.get(0), name);
        String replacement = strArg(args.get(1), name);
        long count = args.size() == 3 ? intArg(args.get(2), name) : -1;
        long occurrences = old.isEmpty() ? s.length() + 1L : countOf(s, old);
        if (count >= 0) {
          occurrences = Math.min(occurrences, count);
        }
        budget.allocate(
            s.length() + occurrences * Math.max(0, replacement.length() - old.length()));
        return Py.pyReplace(s, old, replacement, count);
      }
      case "upper" -> {
        return s.toUpperCase(Locale.ROOT);
      }
      case "lower", "casefold" -> {
        return s.toLowerCase(Locale.ROOT);
      }
      case "swapcase" -> {
        StringBuilder out = new StringBuilder(s.length());
        s.codePoints()
            .forEach(
                c ->
                    out.appendCodePoint(
                        Character.isUpperCase(c)
                            ? Character.toLowerCase(c)
                            : Character.toUpperCase(c)));
        return out.toString();
      }
      case "capitalize" -> {
        return Py.pyCapitalize(s);
      }
      case "title" -> {
        return Py.pyTitle(s);
      }
      case "find", "rfind", "index", "rindex" -> {
        arity(args, 1, 1, name);
        String sub = strArg(args.get(0), name);
        int at = name.startsWith("r") ? s.lastIndexOf(sub) : s.indexOf(sub);
        if (at < 0 && name.contains("index")) {
          throw new PyError("substring not found");
        }
        return at < 0 ? -1L : (long) s.codePointCount(0, at);
      }
      case "count" -> {
        arity(args, 1, 1, name);
        String sub = strArg(args.get(0), name);
        return sub.isEmpty() ? s.codePointCount(0, s.length()) + 1L : countOf(s, sub);
      }
      case "join" -> {
        arity(args, 1, 1, name);
        return join(r, Py.iterate(args.get(0)), s);
      }
      case "isdigit", "isnumeric", "isdecimal" -> {
        return !s.isEmpty() && s.codePoints().allMatch(Character::isDigit);
      }
      case "isalpha" -> {
        return !s.isEmpty() && s.codePoints().allMatch(Character::isLetter);
      }
      case "isalnum" -> {
        return !s.isEmpty() && s.codePoints().allMatch(Character::isLetterOrDigit);
      }
      case "isspace" -> {
        return !s.isEmpty() && s.chars().allMatch(c -> Py.isPySpace((char) c));
      }
      case "islower" -> {
        return s.codePoints().anyMatch(Character::isLowerCase)
            && s.codePoints().noneMatch(Character::isUpperCase);
      }
      case "isupper" -> {
        return s.codePoints().anyMatch(Character::isUpperCase)
            && s.codePoints().noneMatch(Character::isLowerCase);
      }
      case "istitle" -> {
        return !s.isEmpty()
            && Py.pyTitle(s).equals(s)
            && s.codePoints().anyMatch(Character::isLetter);
      }
      case "zfill", "center", "ljust", "rjust" -> {
        arity(args, 1, 2, name);
        long width = intArg(args.get(0), name);
        budget.allocate(Math.max(0, width));
        String fill =
            args.size() == 2 ? strArg(args.get(1), name) : name.equals("zfill") ? "0" : " ";
        if (fill == null || fill.length() != 1) {
          throw new PyError("The fill character must be exactly one character long");
        }
        return pad(s, (int) Math.min(width, Integer.MAX_VALUE), fill.charAt(0), name);
      }
      case "removeprefix" -> {
        String p = strArg(args.get(0), name);
        return s.startsWith(p) ? s.substring(p.length()) : s;
      }
      case "removesuffix" -> {
        String p = strArg(args.get(0), name);
        return s.endsWith(p) && !p.isEmpty() ? s.substring(0, s.length() - p.length()) : s;
      }
      case "partition", "rpartition" -> {
        arity(args, 1, 1, name);
        String sep = strArg(args.get(0), name);
        int at = name.equals("partition") ? s.indexOf(sep) : s.lastIndexOf(sep);
        if (at < 0) {
          return name.equals("partition")
              ? new Tuple(List.of(s, "", ""))
              : new Tuple(List.of("", "", s));
        }
        return new Tuple(List.of(s.substring(0, at), sep, s.substring(at + sep.length())));
      }
      case "format" -> {
        return strFormat(r, s, args, kwargs);
      }
      default -> throw new PyError("'str' object has no attribute '" + name + "'");
    }
  }

  private static String pad(String s, int width, char fill, String how) {
    int n = s.codePointCount(0, s.length());
    if (width <= n) {
      return s;
    }
    int total = width - n;
    String f = String.valueOf(fill);
    switch (how) {
      case "ljust":
        return s + f.repeat(total);
      case "rjust":
        return f.repeat(total) + s;
      case "zfill":
        if (!s.isEmpty() && (s.charAt(0) == '-' || s.charAt(0) == '+')) {
          return s.charAt(0) + f.repeat(total) + s.substring(1);
        }
        return f.repeat(total) + s;
      default:
        int left = total / 2 + (total & width & 1);
        return f.repeat(left) + s + f.repeat(total - left);
    }
  }

  /** Python's str.format for {} / {0} / {name} fields without format specs. */
  private static String strFormat(
      JinjaRenderer r, String s, List<Object> args, Map<String, Object> kwargs) {
    StringBuilder out = new StringBuilder();
    int auto = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '{' && i + 1 < s.length() && s.charAt(i + 1) == '{') {
        out.append('{');
        i++;
      } else if (c == '}' && i + 1 < s.length() && s.charAt(i + 1) == '}') {
        out.append('}');
        i++;
      } else if (c == '{') {
        int close = s.indexOf('}', i);
        if (close < 0) {
          throw new PyError("Single '{' encountered in format string");
        }
        String field = s.substring(i + 1, close);
        if (field.contains(":")
            || field.contains("!")
            || field.contains("[")
            || field.contains(".")) {
          throw new PyError("format specs and conversions are not supported in str.format");
        }
        Object value;
        if (field.isEmpty()) {
          if (auto >= args.size()) {
            throw new PyError(
                "Replacement index " + auto + " out of range for positional args tuple");
          }
          value = args.get(auto++);
        } else if (field.chars().allMatch(Character::isDigit)) {
          int index = Integer.parseInt(field);
          if (index >= args.size()) {
            throw new PyError(
                "Replacement index " + index + " out of range for positional args tuple");
          }
          value = args.get(index);
        } else {
          if (!kwargs.containsKey(field)) {
            throw new PyError("KeyError: '" + field + "'");
          }
          value = kwargs.get(field);
        }
        out.append(r.sized(value));
        r.budget.ensureRoom(out.length());
        i = close;
      } else if (c == '}') {
        throw new PyError("Single '}' encountered in format string");
      } else {
        out.append(c);
      }
    }
    r.budget.allocate(out.length());
    return out.toString();
  }

  private static long countOf(String s, String sub) {
    long count = 0;
    for (int at = s.indexOf(sub); at >= 0; at = s.indexOf(sub, at + sub.length())) {
      count++;
    }
    return count;
  }

  private static Object dictMethod(Map<?, ?> m, String name, List<Object> args) {
    switch (name) {
      case "get" -> {
        arity(args, 1, 2, name);
        Object k = Py.dictKey(m, args.get(0));
        return k != Py.NO_KEY ? m.get(k) : args.size() == 2 ? args.get(1) : null;
      }
      case "items" -> {
        arity(args, 0, 0, name);
        List<Object> items = new ArrayList<>(m.size());
        m.forEach((k, v) -> items.add(new Tuple(java.util.Arrays.asList(k, v))));
        return items;
      }
      case "keys" -> {
        arity(args, 0, 0, name);
        return new ArrayList<>(m.keySet());
      }
      case "values" -> {
        arity(args, 0, 0, name);
        return new ArrayList<>(m.values());
      }
      default -> {
        arity(args, 0, 0, name);
        return new LinkedHashMap<>(m);
      }
    }
  }

  private static Object listMethod(List<?> l, String name, List<Object> args) {
    switch (name) {
      case "index" -> {
        arity(args, 1, 1, name);
        for (int i = 0; i < l.size(); i++) {
          if (Py.eq(l.get(i), args.get(0))) {
            return (long) i;
          }
        }
        throw new PyError(Py.repr(args.get(0)) + " is not in list");
      }
      case "count" -> {
        arity(args, 1, 1, name);
        return l.stream().filter(x -> Py.eq(x, args.get(0))).count();
      }
      default -> {
        arity(args, 0, 0, name);
        return l instanceof Tuple ? l : new ArrayList<>(l);
      }
    }
  }

  static String join(JinjaRenderer r, List<Object> items, String separator) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < items.size(); i++) {
      if (i > 0) {
        out.append(separator);
      }
      out.append(r.sized(items.get(i)));
      r.budget.ensureRoom(out.length());
    }
    r.budget.allocate(out.length());
    return out.toString();
  }

  // -- globals

  /** The names every template sees besides its bindings. */
  static Map<String, Object> globals(JinjaRenderer r) {
    Map<String, Object> g = new LinkedHashMap<>();
    g.put("range", (Callable) (args, kwargs) -> range(r, args));
    g.put(
        "namespace",
        (Callable)
            (args, kwargs) -> {
              Namespace ns = new Namespace();
              for (Object a : args) {
                if (!(a instanceof Map<?, ?> m)) {
                  throw new PyError("namespace() takes a dict as positional argument");
                }
                m.forEach((k, v) -> ns.attributes.put(Py.str(k), v));
              }
              ns.attributes.putAll(kwargs);
              return ns;
            });
    g.put(
        "dict",
        (Callable)
            (args, kwargs) -> {
              Map<Object, Object> d = new LinkedHashMap<>();
              for (Object a : args) {
                if (!(a instanceof Map<?, ?> m)) {
                  throw new PyError("dict() takes a dict as positional argument");
                }
                d.putAll(m);
              }
              d.putAll(kwargs);
              return d;
            });
    g.put("cycler", (Callable) (args, kwargs) -> new Cycler(args));
    g.put(
        "joiner",
        (Callable)
            (args, kwargs) -> {
              String sep = args.isEmpty() ? ", " : Py.str(args.get(0));
              boolean[] used = {false};
              return (Callable)
                  (a, k) -> {
                    if (!used[0]) {
                      used[0] = true;
                      return "";
                    }
                    return sep;
                  };
            });
    g.put(
        "raise_exception",
        (Callable)
            (args, kwargs) -> {
              throw new JinjaRenderer.RaisedByTemplate(args.isEmpty() ? "" : Py.str(args.get(0)));
            });
    g.put(
        "strftime_now",
        (Callable)
            (args, kwargs) -> {
              arity(args, 1, 1, "strftime_now");
              return strftime(ZonedDateTime.now(), Py.str(args.get(0)));
            });
    return g;
  }

  private static Object range(JinjaRenderer r, List<Object> args) {
    arity(args, 1, 3, "range");
    for (Object a : args) {
      intArg(a, "range");
    }
    long start = args.size() == 1 ? 0 : Py.asLong(args.get(0));
    long stop = Py.asLong(args.get(args.size() == 1 ? 0 : 1));
    long step = args.size() == 3 ? Py.asLong(args.get(2)) : 1;
    if (step == 0) {
      throw new PyError("range() arg 3 must not be zero");
    }
    double count = Math.ceil(((double) stop - start) / step);
    long n = (long) Math.max(0, count);
    r.budget.range(n);
    List<Object> items = new ArrayList<>((int) n);
    for (long i = 0, v = start; i < n; i++, v += step) {
      items.add(v);
    }
    return items;
  }

  /** Jinja2's cycler. */
  static final class Cycler {
    private final List<Object> items;
    private int position;

    Cycler(List<Object> items) {
      if (items.isEmpty()) {
        throw new PyError("at least one item has to be provided");
      }
      this.items = items;
    }

    Object attribute(String name) {
      return switch (name) {
        case "current" -> items.get(position);
        case "next" ->
            (Callable)
                (a, k) -> {
                  Object v = items.get(position);
                  position = (position + 1) % items.size();
                  return v;
                };
        case "reset" ->
            (Callable)
                (a, k) -> {
                  position = 0;
                  return null;
                };
        default -> new Undefined("'Cycler object' has no attribute '" + name + "'");
      };
    }
  }

  /** Python's strftime for the directives chat templates use. */
  static String strftime(ZonedDateTime t, String format) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < format.length(); i++) {
      char c = format.charAt(i);
      if (c != '%' || i + 1 >= format.length()) {
        out.append(c);
        continue;
      }
      char d = format.charAt(++i);
      switch (d) {
        case 'Y' -> out.append(t.getYear());
        case 'y' -> out.append(String.format("%02d", t.getYear() % 100));
        case 'm' -> out.append(String.format("%02d", t.getMonthValue()));
        case 'd' -> out.append(String.format("%02d", t.getDayOfMonth()));
        case 'e' -> out.append(String.format("%2d", t.getDayOfMonth()));
        case 'H' -> out.append(String.format("%02d", t.getHour()));
        case 'I' -> out.append(String.format("%02d", (t.getHour() + 11) % 12 + 1));
        case 'M' -> out.append(String.format("%02d", t.getMinute()));
        case 'S' -> out.append(String.format("%02d", t.getSecond()));
        case 'p' -> out.append(t.getHour() < 12 ? "AM" : "PM");
        case 'B' -> out.append(t.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
        case 'b', 'h' -> out.append(t.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
        case 'A' -> out.append(t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
        case 'a' -> out.append(t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
        case 'j' -> out.append(String.format("%03d", t.getDayOfYear()));
        case '%' -> out.append('%');
        default -> out.append('%').append(d);
      }
    }
    return out.toString();
  }

  // -- filters

  static Object filter(
      JinjaRenderer r, String name, Object value, List<Object> args, Map<String, Object> kwargs) {
    Budget budget = r.budget;
    switch (name) {
      case "abs" -> {
        if (Py.isInt(value)) {
          return Math.abs(Py.asLong(value));
        }
        if (value instanceof Double d) {
          return Math.abs(d);
        }
        throw new PyError("bad operand type for abs(): '" + Py.typeName(value) + "'");
      }
      case "attr" -> {
        return getattr(r, value, Py.str(arg(args, kwargs, 0, "name", "")));
      }
      case "capitalize" -> {
        return Py.pyCapitalize(r.sized(value));
      }
      case "center" -> {
        long width = intArg(arg(args, kwargs, 0, "width", 80L), "center");
        budget.allocate(Math.max(0, width));
        return pad(r.sized(value), (int) width, ' ', "center");
      }
      case "count", "length" -> {
        return Py.len(value);
      }
      case "default", "d" -> {
        Object fallback = arg(args, kwargs, 0, "default_value", "");
        boolean bool = Py.truthy(arg(args, kwargs, 1, "boolean", false));
        return value instanceof Undefined || (bool && !Py.truthy(value)) ? fallback : value;
      }
      case "dictsort" -> {
        if (!(value instanceof Map<?, ?> m)) {
          throw new PyError("dictsort expects a dict, got " + Py.typeName(value));
        }
        boolean caseSensitive = Py.truthy(arg(args, kwargs, 0, "case_sensitive", false));
        String by = Py.str(arg(args, kwargs, 1, "by", "key"));
        boolean reverse = Py.truthy(arg(args, kwargs, 2, "reverse", false));
        int pos = by.equals("value") ? 1 : 0;
        List<Object> items = new ArrayList<>();
        m.forEach((k, v) -> items.add(new Tuple(java.util.Arrays.asList(k, v))));
        items.sort(sortKey(x -> ((Tuple) x).get(pos), caseSensitive, reverse));
        return items;
      }
      case "escape", "e", "forceescape" -> {
        String s = r.sized(value);
        budget.allocate(s.length() * 6L);
        return s.replace("&", "&amp;")
            .replace("<", "&lt;")
            .replace(">", "&gt;")
            .replace("\"", "&#34;")
            .replace("'", "&#39;");
      }
      case "first" -> {
        List<Object> items = Py.iterate(value);
        return items.isEmpty() ? new Undefined("first item of an empty sequence") : items.get(0);
      }
      case "last" -> {
        List<Object> items = Py.iterate(value);
        return items.isEmpty()
            ? new Undefined("last item of an empty sequence")
            : items.get(items.size() - 1);
      }
      case "float" -> {
        Object fallback = arg(args, kwargs, 0, "default", 0.0);
        if (Py.isNumber(value)) {
          return Py.asDouble(value);
        }
        try {
          return Double.parseDouble(Py.str(value).strip());
        } catch (NumberFormatException e) {
          return fallback;
        }
      }
      case "format" -> {
        return Py.arithmetic(
            "%", r.sized(value), args.size() == 1 ? args.get(0) : new Tuple(args), budget);
      }
      case "indent" -> {
        Object w = arg(args, kwargs, 0, "width", 4L);
        String indent =
            w instanceof String s ? s : " ".repeat((int) Math.min(intArg(w, "indent"), 1000));
        boolean first = Py.truthy(arg(args, kwargs, 1, "first", false));
        boolean blank = Py.truthy(arg(args, kwargs, 2, "blank", false));
        String s = r.sized(value);
        List<String> lines = new ArrayList<>(List.of(s.split("\n", -1)));
        budget.allocate(s.length() + (long) indent.length() * lines.size());
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < lines.size(); i++) {
          String line = lines.get(i);
          if (i > 0) {
            out.append('\n');
          }
          boolean indentIt = (i > 0 || first) && (blank || !line.isBlank());
          out.append(indentIt ? indent : "").append(line);
        }
        return out.toString();
      }
      case "int" -> {
        Object fallback = arg(args, kwargs, 0, "default", 0L);
        long base = intArg(arg(args, kwargs, 1, "base", 10L), "int");
        if (Py.isInt(value)) {
          return Py.asLong(value);
        }
        if (value instanceof Double d) {
          return (long) (double) d;
        }
        String s = Py.str(value).strip().replace("_", "");
        try {
          return Long.parseLong(s, (int) base);
        } catch (NumberFormatException e) {
          try {
            return (long) Double.parseDouble(s);
          } catch (NumberFormatException e2) {
            return fallback;
          }
        }
      }
      case "items" -> {
        if (value instanceof Undefined) {
          return new ArrayList<>();
        }
        if (!(value instanceof Map<?, ?> m)) {
          throw new PyError("can only get item pairs from a mapping");
        }
        return dictMethod(m, "items", List.of());
      }
      case "join" -> {
        String sep = Py.str(arg(args, kwargs, 0, "d", ""));
        Object attribute = arg(args, kwargs, 1, "attribute", null);
        List<Object> items = Py.iterate(value);
        if (attribute != null) {
          items = mapAttribute(r, items, attribute, null);
        }
        return join(r, items, sep);
      }
      case "list" -> {
        List<Object> items = Py.iterate(value);
        budget.allocate(items.size());
        return items;
      }
      case "lower" -> {
        return r.sized(value).toLowerCase(Locale.ROOT);
      }
      case "upper" -> {
        return r.sized(value).toUpperCase(Locale.ROOT);
      }
      case "title" -> {
        return Py.jinjaTitle(r.sized(value));
      }
      case "trim" -> {
        Object chars = arg(args, kwargs, 0, "chars", null);
        return Py.pyStrip(r.sized(value), chars == null ? null : Py.str(chars), true, true);
      }
      case "replace" -> {
        List<Object> a = new ArrayList<>(args);
        if (kwargs.containsKey("count")) {
          a.add(kwargs.get("count"));
        }
        return strMethod(r, r.sized(value), "replace", a, Map.of());
      }
      case "reverse" -> {
        if (value instanceof String s) {
          return new StringBuilder(s).reverse().toString();
        }
        List<Object> items = Py.iterate(value);
        java.util.Collections.reverse(items);
        return items;
      }
      case "round" -> {
        long precision = intArg(arg(args, kwargs, 0, "precision", 0L), "round");
        String method = Py.str(arg(args, kwargs, 1, "method", "common"));
        double v = Py.asDouble(numberArg(value, "round"));
        if (Double.isNaN(v) || Double.isInfinite(v)) {
          return v;
        }
        // Python's round(): the exact binary value, rounded half to even; ceil/floor as Jinja2.
        java.math.RoundingMode mode =
            switch (method) {
              case "ceil" -> java.math.RoundingMode.CEILING;
              case "floor" -> java.math.RoundingMode.FLOOR;
              case "common" -> java.math.RoundingMode.HALF_EVEN;
              default -> throw new PyError("method must be 'common', 'ceil' or 'floor'");
            };
        return new java.math.BigDecimal(v)
            .setScale((int) Math.max(-400, Math.min(400, precision)), mode)
            .doubleValue();
      }
      case "safe", "string" -> {
        return name.equals("safe") && value instanceof String ? value : r.sized(value);
      }
      case "sum" -> {
        Object attribute = arg(args, kwargs, 0, "attribute", null);
        Object total = arg(args, kwargs, 1, "start", 0L);
        List<Object> items = Py.iterate(value);
        if (attribute != null) {
          items = mapAttribute(r, items, attribute, null);
        }
        for (Object x : items) {
          total = Py.arithmetic("+", total, x, budget);
        }
        return total;
      }
      case "max", "min" -> {
        boolean caseSensitive = Py.truthy(arg(args, kwargs, 0, "case_sensitive", false));
        Object attribute = arg(args, kwargs, 1, "attribute", null);
        List<Object> items = Py.iterate(value);
        if (items.isEmpty()) {
          return new Undefined("no " + name + " item of an empty sequence");
        }
        List<Object> keys = attribute != null ? mapAttribute(r, items, attribute, null) : items;
        int best = 0;
        for (int i = 1; i < items.size(); i++) {
          int c =
              Py.compare(
                  foldCase(keys.get(i), caseSensitive),
                  foldCase(keys.get(best), caseSensitive),
                  "<");
          if (name.equals("max") ? c > 0 : c < 0) {
            best = i;
          }
        }
        return items.get(best);
      }
      case "sort" -> {
        boolean reverse = Py.truthy(arg(args, kwargs, 0, "reverse", false));
        boolean caseSensitive = Py.truthy(arg(args, kwargs, 1, "case_sensitive", false));
        Object attribute = arg(args, kwargs, 2, "attribute", null);
        List<Object> items = Py.iterate(value);
        budget.allocate(items.size());
        items.sort(
            sortKey(
                x -> attribute == null ? x : attributePath(r, x, attribute),
                caseSensitive,
                reverse));
        return items;
      }
      case "unique" -> {
        boolean caseSensitive = Py.truthy(arg(args, kwargs, 0, "case_sensitive", false));
        Object attribute = arg(args, kwargs, 1, "attribute", null);
        List<Object> out = new ArrayList<>();
        List<Object> seen = new ArrayList<>();
        for (Object x : Py.iterate(value)) {
          Object key =
              foldCase(attribute == null ? x : attributePath(r, x, attribute), caseSensitive);
          if (seen.stream().noneMatch(k -> Py.eq(k, key))) {
            seen.add(key);
            out.add(x);
          }
        }
        return out;
      }
      case "wordcount" -> {
        return (long) Py.pySplit(r.sized(value), null, -1, false).size();
      }
      case "map" -> {
        List<Object> items = Py.iterate(value);
        if (kwargs.containsKey("attribute")) {
          return mapAttribute(r, items, kwargs.get("attribute"), kwargs.get("default"));
        }
        if (args.isEmpty()) {
          throw new PyError("map requires a filter argument");
        }
        String filterName = Py.str(args.get(0));
        List<Object> rest = args.subList(1, args.size());
        List<Object> out = new ArrayList<>(items.size());
        for (Object x : items) {
          r.budget.iteration();
          out.add(filter(r, filterName, x, rest, Map.of()));
        }
        return out;
      }
      case "select", "reject" -> {
        return selectOrReject(r, value, null, args, name.equals("select"));
      }
      case "selectattr", "rejectattr" -> {
        if (args.isEmpty()) {
          throw new PyError(name + " requires an attribute name");
        }
        return selectOrReject(
            r, value, args.get(0), args.subList(1, args.size()), name.equals("selectattr"));
      }
      case "tojson" -> {
        Object ascii = arg(args, kwargs, 0, "ensure_ascii", false);
        Object indent = arg(args, kwargs, 1, "indent", null);
        Object separators = arg(args, kwargs, 2, "separators", null);
        boolean sort = Py.truthy(arg(args, kwargs, 3, "sort_keys", false));
        String itemSep = indent == null ? ", " : ",";
        String keySep = ": ";
        if (separators instanceof List<?> l && l.size() == 2) {
          itemSep = Py.str(l.get(0));
          keySep = Py.str(l.get(1));
        }
        String indentText =
            indent == null
                ? null
                : Py.isInt(indent)
                    ? " ".repeat((int) Math.min(Py.asLong(indent), 1000))
                    : Py.str(indent);
        StringBuilder out = new StringBuilder();
        new PythonJson(indentText, itemSep, keySep, Py.truthy(ascii), sort, budget)
            .write(out, value, 0);
        budget.allocate(out.length());
        return out.toString();
      }
      default -> throw new PyError("Unknown filter '" + name + "'");
    }
  }

  private static Object numberArg(Object v, String filter) {
    if (!Py.isNumber(v)) {
      throw new PyError(filter + " expects a number, got " + Py.typeName(v));
    }
    return v;
  }

  private static Object foldCase(Object v, boolean caseSensitive) {
    return !caseSensitive && v instanceof String s ? s.toLowerCase(Locale.ROOT) : v;
  }

  private static Comparator<Object> sortKey(
      java.util.function.Function<Object, Object> key, boolean caseSensitive, boolean reverse) {
    Comparator<Object> c =
        (a, b) ->
            Py.compare(
                foldCase(key.apply(a), caseSensitive), foldCase(key.apply(b), caseSensitive), "<");
    return reverse ? c.reversed() : c;
  }

  /** Jinja2's attribute getter: dotted path, integer parts as indexes. */
  static Object attributePath(JinjaRenderer r, Object item, Object attribute) {
    Object v = item;
    for (String part : Py.str(attribute).split("\\.")) {
      Object key =
          part.chars().allMatch(Character::isDigit) && !part.isEmpty()
              ? (Object) Long.parseLong(part)
              : part;
      v = v instanceof Map || key instanceof Long ? Py.getItem(v, key) : getattr(r, v, part);
    }
    return v;
  }

  private static List<Object> mapAttribute(
      JinjaRenderer r, List<Object> items, Object attribute, Object fallback) {
    List<Object> out = new ArrayList<>(items.size());
    for (Object x : items) {
      Object v = attributePath(r, x, attribute);
      out.add(v instanceof Undefined && fallback != null ? fallback : v);
    }
    return out;
  }

  private static List<Object> selectOrReject(
      JinjaRenderer r, Object value, Object attribute, List<Object> args, boolean select) {
    List<Object> out = new ArrayList<>();
    for (Object x : Py.iterate(value)) {
      r.budget.iteration();
      Object subject = attribute == null ? x : attributePath(r, x, attribute);
      boolean ok =
          args.isEmpty()
              ? Py.truthy(subject)
              : test(r, Py.str(args.get(0)), subject, args.subList(1, args.size()));
      if (ok == select) {
        out.add(x);
      }
    }
    return out;
  }

  // -- tests

  static boolean test(JinjaRenderer r, String name, Object v, List<Object> args) {
    switch (name) {
      case "defined":
        return !(v instanceof Undefined);
      case "undefined":
        return v instanceof Undefined;
      case "none":
        return v == null;
      case "boolean":
        return v instanceof Boolean;
      case "true":
        return Boolean.TRUE.equals(v);
      case "false":
        return Boolean.FALSE.equals(v);
      case "integer":
        return v instanceof Long;
      case "float":
        return v instanceof Double;
      case "number":
        return Py.isNumber(v);
      case "string":
        return v instanceof String;
      case "mapping":
        return v instanceof Map;
      case "iterable":
        return v instanceof List || v instanceof Map || v instanceof String;
      case "sequence":
        return v instanceof List || v instanceof Map || v instanceof String;
      case "callable":
        return v instanceof Callable;
      case "odd":
        return Py.asLong(numberArg(v, "odd")) % 2 != 0;
      case "even":
        return Py.asLong(numberArg(v, "even")) % 2 == 0;
      case "divisibleby":
        arity(args, 1, 1, name);
        long divisor = Py.asLong(numberArg(args.get(0), name));
        if (divisor == 0) {
          throw new PyError("integer division or modulo by zero");
        }
        return Py.asLong(numberArg(v, name)) % divisor == 0;
      case "lower":
        return v instanceof String s && s.equals(s.toLowerCase(Locale.ROOT));
      case "upper":
        return v instanceof String s && s.equals(s.toUpperCase(Locale.ROOT));
      case "escaped":
        return false;
      case "sameas":
        arity(args, 1, 1, name);
        return v == args.get(0) || (v != null && (v instanceof Boolean) && v.equals(args.get(0)));
      case "in":
        arity(args, 1, 1, name);
        return Py.contains(args.get(0), v);
      case "eq":
      case "equalto":
      case "==":
        arity(args, 1, 1, name);
        return Py.eq(v, args.get(0));
      case "ne":
      case "!=":
        arity(args, 1, 1, name);
        return !Py.eq(v, args.get(0));
      case "lt":
      case "lessthan":
      case "<":
        arity(args, 1, 1, name);
        return Py.compare(v, args.get(0), "<") < 0;
      case "le":
      case "<=":
        arity(args, 1, 1, name);
        return Py.compare(v, args.get(0), "<=") <= 0;
      case "gt":
      case "greaterthan":
      case ">":
        arity(args, 1, 1, name);
        return Py.compare(v, args.get(0), ">") > 0;
      case "ge":
      case ">=":
        arity(args, 1, 1, name);
        return Py.compare(v, args.get(0), ">=") >= 0;
      default:
        throw new PyError("Unknown test '" + name + "'");
    }
  }
}
