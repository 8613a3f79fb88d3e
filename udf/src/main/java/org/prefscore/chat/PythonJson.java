package org.prefscore.chat;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Python's {@code json.dumps} for the values a template can hold, as transformers' {@code tojson}
 * filter calls it ({@code ensure_ascii}, {@code indent}, {@code separators}, {@code sort_keys}),
 * and Python's float repr. Hand-written rather than Jackson: Python's output differs from Jackson's
 * in its float repr ({@code 1e+16}, {@code 0.0001}), its lowercase {@code \\u} escapes and its
 * separators, and matching them through Jackson's extension points would take as much code.
 */
final class PythonJson {
  private final String indent;
  private final String itemSep;
  private final String keySep;
  private final boolean ascii;
  private final boolean sortKeys;
  private final Budget budget;

  PythonJson(
      String indent,
      String itemSep,
      String keySep,
      boolean ascii,
      boolean sortKeys,
      Budget budget) {
    this.budget = budget;
    this.indent = indent;
    this.itemSep = itemSep;
    this.keySep = keySep;
    this.ascii = ascii;
    this.sortKeys = sortKeys;
  }

  void write(StringBuilder out, Object value, int level) {
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
    } else if (value instanceof List) {
      List<Object> items = new ArrayList<>((List<?>) value);
      writeSeq(out, '[', ']', items.size(), level, i -> write(out, items.get(i), level + 1));
    } else if (value instanceof String) {
      writeString(out, (String) value);
    } else {
      throw new Py.PyError("Object of type " + Py.typeName(value) + " is not JSON serializable");
    }
    budget.ensureRoom(out.length());
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
    return Py.str(key);
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
    return (d < 0 ? "-" : "")
        + mantissa
        + "e"
        + (exponent < 0 ? "-" : "+")
        + String.format("%02d", Math.abs(exponent));
  }
}
