package org.prefscore.job.io;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Parses one JSONL line strictly into the configured fields: a value of the wrong JSON type is a
 * reject with a reason code, never converted (Spark's JSON reader turned {@code {"prompt": 12345}}
 * into the prompt "12345" and an array of messages in the prompt column into its JSON text). Pure:
 * no Spark, so it is tested on its own; {@link InputReader} applies it to every line.
 *
 * <p>A line is UTF-8 text holding one JSON object (a leading byte-order mark is dropped); the
 * object's other keys are ignored. Strings of any length are read (Jackson's default limit of 20
 * million characters made a valid long line malformed; an over-long prompt is the runtime's {@code
 * PROMPT_TOO_LONG}).
 *
 * <table>
 *   <caption>Reject codes (stage read)</caption>
 *   <tr><th>code</th><th>when</th></tr>
 *   <tr><td>{@value #MALFORMED_RECORD}</td><td>not UTF-8, not JSON, not one JSON object (an
 *       array, a scalar, trailing text), a key given twice</td></tr>
 *   <tr><td>{@value #INVALID_PROMPT_TYPE}</td><td>the prompt column holds a number, boolean,
 *       array or object (null or absent: no text prompt)</td></tr>
 *   <tr><td>{@value #INVALID_MESSAGES}</td><td>the messages column (or, with assistant turns,
 *       chosen/rejected) is not an array of objects, or a role or content is not a string (null or
 *       absent role/content, and unknown roles, are prepare's INVALID_MESSAGES)</td></tr>
 *   <tr><td>{@value #INVALID_RESPONSE_TYPE}</td><td>score-pairs/evaluate with text responses:
 *       chosen or rejected is not a string (null: prepare's EMPTY_RESPONSE)</td></tr>
 *   <tr><td>{@value #INVALID_FIELD_TYPE}</td><td>the id column holds neither a string nor an
 *       integer (an integer id is taken as its decimal text), or the score-gap column is not a
 *       number</td></tr>
 * </table>
 */
public final class JsonlRecords implements Serializable {

  private static final long serialVersionUID = 1L;

  public static final String MALFORMED_RECORD = "MALFORMED_RECORD";
  public static final String INVALID_PROMPT_TYPE = "INVALID_PROMPT_TYPE";
  public static final String INVALID_MESSAGES = "INVALID_MESSAGES";
  public static final String INVALID_RESPONSE_TYPE = "INVALID_RESPONSE_TYPE";
  public static final String INVALID_FIELD_TYPE = "INVALID_FIELD_TYPE";

  /** How much of a bad line or value a detail quotes. */
  static final int QUOTED = 160;

  private static final ObjectMapper JSON =
      new ObjectMapper(
              JsonFactory.builder()
                  .streamReadConstraints(
                      StreamReadConstraints.builder()
                          .maxStringLength(Integer.MAX_VALUE)
                          .maxNumberLength(1000)
                          .build())
                  .build())
          .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  /** One message as given: role and content, null when absent or null. */
  public record Message(String role, String content) implements Serializable {}

  /**
   * One parsed line: the configured fields, or why the line is rejected (then the fields are null).
   *
   * @param messages null when the column is absent or null
   * @param chosenMessages assistant turns (input.response-format=messages), else null
   */
  public record Record(
      String givenId,
      String prompt,
      List<Message> messages,
      String chosen,
      String rejected,
      List<Message> chosenMessages,
      List<Message> rejectedMessages,
      Double scoreGap,
      String reason,
      String detail)
      implements Serializable {

    static Record reject(String reason, String detail) {
      return new Record(null, null, null, null, null, null, null, null, reason, detail);
    }

    /** Whether the line is rejected. */
    public boolean isReject() {
      return reason != null;
    }
  }

  private final String idColumn;
  private final String promptColumn;
  private final String messagesColumn;
  private final String chosenColumn;
  private final String rejectedColumn;
  private final String scoreGapColumn;
  private final boolean chatResponses;

  /** A prompt column holding an array makes the line a conversation (base preferences). */
  private final boolean conversationWhenArray;

  /**
   * The parser of {@code mix.base-preferences}: TRL preference rows, {@code prompt}, {@code chosen}
   * and {@code rejected}, either all strings (standard format) or all message lists (conversational
   * format: the prompt's messages, then the assistant turns), decided per line by the JSON type of
   * {@code prompt}. A line that mixes the two is a reject (INVALID_RESPONSE_TYPE after a text
   * prompt, INVALID_MESSAGES after a conversation); nothing is converted.
   */
  public static JsonlRecords basePreferences() {
    return new JsonlRecords("", "prompt", "", "chosen", "rejected", "", false, true);
  }

  /**
   * @param idColumn "" for none; likewise every other column
   * @param chosenColumn "" in west-of-n
   * @param chatResponses chosen/rejected are assistant turns
   */
  public JsonlRecords(
      String idColumn,
      String promptColumn,
      String messagesColumn,
      String chosenColumn,
      String rejectedColumn,
      String scoreGapColumn,
      boolean chatResponses) {
    this(
        idColumn,
        promptColumn,
        messagesColumn,
        chosenColumn,
        rejectedColumn,
        scoreGapColumn,
        chatResponses,
        false);
  }

  private JsonlRecords(
      String idColumn,
      String promptColumn,
      String messagesColumn,
      String chosenColumn,
      String rejectedColumn,
      String scoreGapColumn,
      boolean chatResponses,
      boolean conversationWhenArray) {
    this.conversationWhenArray = conversationWhenArray;
    this.idColumn = idColumn;
    this.promptColumn = promptColumn;
    this.messagesColumn = messagesColumn;
    this.chosenColumn = chosenColumn;
    this.rejectedColumn = rejectedColumn;
    this.scoreGapColumn = scoreGapColumn;
    this.chatResponses = chatResponses;
  }

  /**
   * Whether a line holds only JSON whitespace, so it is no row (as Spark's JSON reader skips it).
   */
  public static boolean isBlank(byte[] line) {
    for (byte b : line) {
      if (b != ' ' && b != '\t' && b != '\r' && b != '\n') {
        return false;
      }
    }
    return true;
  }

  /** Parses one line (its bytes, without the line break). */
  public Record parse(byte[] line) {
    String text;
    try {
      text = decode(line);
    } catch (MalformedInputException e) {
      return Record.reject(
          MALFORMED_RECORD,
          "not UTF-8 text (an invalid byte sequence of "
              + e.getInputLength()
              + " bytes): "
              + quote(new String(line, StandardCharsets.UTF_8)));
    } catch (CharacterCodingException e) {
      return Record.reject(MALFORMED_RECORD, "not UTF-8 text: " + e);
    }
    if (!text.isEmpty() && text.charAt(0) == '\uFEFF') {
      text = text.substring(1);
    }
    JsonNode node;
    try {
      node = JSON.readTree(text);
    } catch (Exception e) {
      return Record.reject(
          MALFORMED_RECORD, "not JSON (" + firstLine(e.getMessage()) + "): " + quote(text));
    }
    if (node == null || !node.isObject()) {
      return Record.reject(
          MALFORMED_RECORD,
          "a JSON " + (node == null ? "nothing" : kind(node)) + ", not an object: " + quote(text));
    }
    Problem problem = new Problem();
    String id = id(node, problem);
    boolean conversation = false;
    if (conversationWhenArray) {
      JsonNode p = field(node, promptColumn);
      conversation = p != null && p.isArray();
    }
    String prompt = conversation ? null : text(node, promptColumn, INVALID_PROMPT_TYPE, problem);
    List<Message> messages = messages(node, conversation ? promptColumn : messagesColumn, problem);
    String chosen = null;
    String rejected = null;
    List<Message> chosenMessages = null;
    List<Message> rejectedMessages = null;
    if (chatResponses || conversation) {
      chosenMessages = messages(node, chosenColumn, problem);
      rejectedMessages = messages(node, rejectedColumn, problem);
    } else {
      chosen = text(node, chosenColumn, INVALID_RESPONSE_TYPE, problem);
      rejected = text(node, rejectedColumn, INVALID_RESPONSE_TYPE, problem);
    }
    Double gap = number(node, scoreGapColumn, problem);
    if (problem.reason != null) {
      return Record.reject(problem.reason, problem.detail);
    }
    return new Record(
        id, prompt, messages, chosen, rejected, chosenMessages, rejectedMessages, gap, null, null);
  }

  /** The first problem of a line, in column order. */
  private static final class Problem {
    String reason;
    String detail;

    void add(String r, String d) {
      if (reason == null) {
        reason = r;
        detail = d;
      }
    }
  }

  private String id(JsonNode node, Problem problem) {
    JsonNode v = field(node, idColumn);
    if (v == null) {
      return null;
    }
    if (v.isTextual()) {
      return v.textValue();
    }
    if (v.isIntegralNumber()) {
      return v.bigIntegerValue().toString();
    }
    problem.add(
        INVALID_FIELD_TYPE,
        "id column '"
            + idColumn
            + "' holds "
            + article(v)
            + " ("
            + quote(v.toString())
            + "), not a string or an integer");
    return null;
  }

  private String text(JsonNode node, String column, String code, Problem problem) {
    JsonNode v = field(node, column);
    if (v == null) {
      return null;
    }
    if (v.isTextual()) {
      return v.textValue();
    }
    String hint = "";
    if (code.equals(INVALID_PROMPT_TYPE) && v.isArray()) {
      hint =
          messagesColumn.isEmpty()
              ? "; a conversation belongs in input.messages-column"
              : "; a conversation belongs in the messages column '"
                  + messagesColumn
                  + "' (or set input.messages-column="
                  + column
                  + " and input.prompt-column=)";
    } else if (code.equals(INVALID_RESPONSE_TYPE) && v.isArray()) {
      hint = "; for assistant turns set input.response-format=messages";
    }
    problem.add(
        code,
        (code.equals(INVALID_PROMPT_TYPE) ? "prompt column '" : "column '")
            + column
            + "' holds "
            + article(v)
            + " ("
            + quote(v.toString())
            + "), not a string"
            + hint);
    return null;
  }

  private List<Message> messages(JsonNode node, String column, Problem problem) {
    JsonNode v = field(node, column);
    if (v == null) {
      return null;
    }
    if (!v.isArray()) {
      problem.add(
          INVALID_MESSAGES,
          "column '"
              + column
              + "' holds "
              + article(v)
              + " ("
              + quote(v.toString())
              + "), not an array of {role, content}");
      return null;
    }
    List<Message> messages = new ArrayList<>(v.size());
    for (int i = 0; i < v.size(); i++) {
      JsonNode m = v.get(i);
      String where = column + "[" + i + "]";
      if (!m.isObject()) {
        problem.add(
            INVALID_MESSAGES,
            where
                + " is "
                + article(m)
                + " ("
                + quote(m.toString())
                + "), not an object {role, content}");
        return null;
      }
      String role = messageText(m, "role", where, problem);
      String content = messageText(m, "content", where, problem);
      messages.add(new Message(role, content));
    }
    return messages;
  }

  private static String messageText(JsonNode m, String key, String where, Problem problem) {
    JsonNode v = m.get(key);
    if (v == null || v.isNull()) {
      return null;
    }
    if (v.isTextual()) {
      return v.textValue();
    }
    problem.add(
        INVALID_MESSAGES,
        where
            + "."
            + key
            + " is "
            + article(v)
            + " ("
            + quote(v.toString())
            + "), not a string"
            + (key.equals("content") && v.isArray()
                ? " (multimodal content parts are not supported)"
                : ""));
    return null;
  }

  private Double number(JsonNode node, String column, Problem problem) {
    JsonNode v = field(node, column);
    if (v == null) {
      return null;
    }
    if (v.isNumber()) {
      return v.doubleValue();
    }
    problem.add(
        INVALID_FIELD_TYPE,
        "score-gap column '"
            + column
            + "' holds "
            + article(v)
            + " ("
            + quote(v.toString())
            + "), not a number");
    return null;
  }

  /** The value of a configured column; null when the column is not configured, absent or null. */
  private static JsonNode field(JsonNode node, String column) {
    if (column.isEmpty()) {
      return null;
    }
    JsonNode v = node.get(column);
    return v == null || v.isNull() ? null : v;
  }

  private static String decode(byte[] line) throws CharacterCodingException {
    CharsetDecoder decoder =
        StandardCharsets.UTF_8
            .newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);
    CharBuffer chars = decoder.decode(ByteBuffer.wrap(line));
    return chars.toString();
  }

  private static String kind(JsonNode v) {
    return v.getNodeType().name().toLowerCase(Locale.ROOT);
  }

  private static String article(JsonNode v) {
    String k = kind(v);
    return (k.startsWith("a") || k.startsWith("o") ? "an " : "a ") + k;
  }

  private static String firstLine(String message) {
    if (message == null) {
      return "";
    }
    String first = message.lines().findFirst().orElse("");
    return first.length() <= QUOTED ? first : first.substring(0, QUOTED) + "…";
  }

  /** The start of a text, on one line. */
  static String quote(String s) {
    String one = s.replace('\n', ' ').replace('\r', ' ');
    return one.length() <= QUOTED ? one : one.substring(0, QUOTED) + "…";
  }
}
