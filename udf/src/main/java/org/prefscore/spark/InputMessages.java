package org.prefscore.spark;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.apache.spark.sql.Row;
import org.prefscore.chat.ChatMessage;

/** Reads a messages column (array of {role, content}) of a row: the prompt's, or a response's. */
public final class InputMessages {

  /**
   * The roles a message may have. Others (tool, developer, ipython, a misspelt role) are refused:
   * messages are role and text, and tool calling is out of scope.
   */
  public static final Set<String> ROLES = Set.of("system", "user", "assistant");

  private InputMessages() {}

  /** The messages of {@code row}, or null when the column is absent or null. */
  public static List<ChatMessage> of(Row row) {
    return of(row, OutputSchema.MESSAGES);
  }

  /**
   * The messages in {@code column} of {@code row}, or null when the column is absent or null.
   *
   * @throws IllegalArgumentException when a message is null, lacks its role or content, or has a
   *     role other than {@link #ROLES} (the message's index is named)
   */
  public static List<ChatMessage> of(Row row, String column) {
    if (row.schema().getFieldIndex(column).isEmpty()) {
      return null;
    }
    int i = row.fieldIndex(column);
    if (row.isNullAt(i)) {
      return null;
    }
    List<Row> items = row.getList(i);
    List<ChatMessage> messages = new ArrayList<>(items.size());
    for (int k = 0; k < items.size(); k++) {
      Row m = items.get(k);
      String where = column + "[" + k + "]";
      if (m == null) {
        throw new IllegalArgumentException(where + " is null, not a message {role, content}");
      }
      String role = m.isNullAt(0) ? null : m.getString(0);
      String content = m.isNullAt(1) ? null : m.getString(1);
      if (role == null) {
        throw new IllegalArgumentException(where + " has no role");
      }
      if (!ROLES.contains(role)) {
        throw new IllegalArgumentException(
            where + " has the unknown role '" + role + "' (system, user or assistant)");
      }
      if (content == null) {
        throw new IllegalArgumentException(where + " (" + role + ") has no content");
      }
      messages.add(new ChatMessage(role, content));
    }
    return messages;
  }

  /**
   * {@code messages} as the value of an {@link OutputSchema#MESSAGES_TYPE} column of a row that a
   * Row encoder serializes (a Scala Seq of {@link OutputSchema#MESSAGE} rows); null for null.
   */
  public static scala.collection.Seq<Row> rows(List<ChatMessage> messages) {
    if (messages == null) {
      return null;
    }
    List<Row> rows = new ArrayList<>(messages.size());
    for (ChatMessage m : messages) {
      rows.add(
          new org.apache.spark.sql.catalyst.expressions.GenericRowWithSchema(
              new Object[] {m.role(), m.content()}, OutputSchema.MESSAGE));
    }
    return scala.collection.JavaConverters.asScalaBuffer(rows).toList();
  }
}
