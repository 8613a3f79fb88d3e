package org.prefscore.spark;

import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Row;
import org.prefscore.chat.ChatMessage;

/** Reads a messages column (array of {role, content}) of a row: the prompt's, or a response's. */
public final class InputMessages {

  private InputMessages() {}

  /** The messages of {@code row}, or null when the column is absent or null. */
  public static List<ChatMessage> of(Row row) {
    return of(row, OutputSchema.MESSAGES);
  }

  /**
   * The messages in {@code column} of {@code row}, or null when the column is absent or null.
   *
   * @throws IllegalArgumentException when a message lacks its role or content
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
    for (Row m : items) {
      String role = m == null || m.isNullAt(0) ? null : m.getString(0);
      String content = m == null || m.isNullAt(1) ? null : m.getString(1);
      if (role == null || content == null) {
        throw new IllegalArgumentException("a message without role or content");
      }
      messages.add(new ChatMessage(role, content));
    }
    return messages;
  }
}
