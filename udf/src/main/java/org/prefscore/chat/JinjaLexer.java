package org.prefscore.chat;

import static org.prefscore.chat.Py.isPySpace;
import static org.prefscore.chat.Py.pyStrip;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Jinja2's lexer, as far as it decides the output text: resolves trim_blocks, lstrip_blocks,
 * whitespace control, comments, raw blocks and keep_trailing_newline=False on the template source
 * (transformers' configuration) and splits it into {@link Segment}s: literal text with no
 * whitespace rules left to apply, and the insides of {@code {{ }}} and {@code {% %}} tags with the
 * line each starts on.
 */
final class JinjaLexer {

  /** What a segment is. */
  enum Kind {
    TEXT,
    EXPRESSION,
    STATEMENT
  }

  /**
   * A piece of the template: literal text, or the source inside a tag.
   *
   * @param line the template line the piece starts on (1-based)
   */
  record Segment(Kind kind, String source, int line) {}

  private static final Pattern RAW_BEGIN = Pattern.compile("\\{%([-+]?)\\s*raw\\s*(-%}\\s*|%})");
  private static final Pattern RAW_END =
      Pattern.compile("\\{%([-+]?)\\s*endraw\\s*(\\+%}|-%}\\s*|%}\\n?)");

  private final String src;
  private final List<Segment> segments = new ArrayList<>();
  private final StringBuilder text = new StringBuilder();
  private int textLine = 1;
  private int[] newlines;
  private int pos;
  private boolean lineStarting = true;

  private JinjaLexer(String template) {
    String source = template.replace("\r\n", "\n").replace('\r', '\n');
    this.src = source.endsWith("\n") ? source.substring(0, source.length() - 1) : source;
  }

  /** The template's segments, in order. */
  static List<Segment> lex(String template) {
    return new JinjaLexer(template).run();
  }

  private List<Segment> run() {
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
    flushText();
    return segments;
  }

  private int nextTagStart(int from) {
    for (int i = src.indexOf('{', from);
        i >= 0 && i + 1 < src.length();
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
      if ((lineStart > 0 || lineStarting)
          && lineStart < data.length()
          && allSpace(data, lineStart)) {
        kept = data.substring(0, lineStart);
      }
    }
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
    Matcher end = RAW_END.matcher(src).region(begin.end(), src.length());
    if (!end.find()) {
      throw syntax("missing end of raw directive", begin.start());
    }
    lineStarting = begin.group().endsWith("\n");
    String content = src.substring(begin.end(), end.start());
    char sign = end.group(1).isEmpty() ? 0 : end.group(1).charAt(0);
    appendText(lstrip(content, sign, true));
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
    flushText();
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
    segments.add(
        new Segment(
            block ? Kind.STATEMENT : Kind.EXPRESSION, src.substring(start, i), line(start)));
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

  /**
   * Decodes a Jinja2 string literal's body: {@code encode("ascii", "backslashreplace")
   * .decode("unicode-escape")}.
   */
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
            while (end < body.length()
                && end < i + 3
                && body.charAt(end) >= '0'
                && body.charAt(end) <= '7') {
              end++;
            }
            value.appendCodePoint(Integer.parseInt(body.substring(i, end), 8));
            i = end - 1;
          } else if (e > 0x7f) {
            // backslashreplace turned the char into an escape whose backslash is now escaped.
            value
                .append('\\')
                .append(
                    e <= 0xff ? String.format("x%02x", (int) e) : String.format("u%04x", (int) e));
          } else {
            value.append('\\').append(e);
          }
      }
    }
    return value.toString();
  }

  private void appendText(String data) {
    if (text.length() == 0) {
      textLine = line(pos);
    }
    text.append(data);
  }

  private void flushText() {
    if (text.length() > 0) {
      segments.add(new Segment(Kind.TEXT, text.toString(), textLine));
      text.setLength(0);
    }
  }

  private IllegalArgumentException syntax(String problem, int at) {
    return new IllegalArgumentException(
        "chat template does not parse: " + problem + " (line " + line(at) + ")");
  }

  private int line(int at) {
    if (newlines == null) {
      List<Integer> found = new ArrayList<>();
      for (int i = src.indexOf('\n'); i >= 0; i = src.indexOf('\n', i + 1)) {
        found.add(i);
      }
      newlines = found.stream().mapToInt(Integer::intValue).toArray();
    }
    int index = java.util.Arrays.binarySearch(newlines, Math.min(at, src.length()));
    return 1 + (index >= 0 ? index : -index - 1);
  }
}
