package org.prefscore.chat;

import java.util.Objects;

/**
 * One turn of a conversation, as Hugging Face chat templates see it: a dict with {@code role} and
 * {@code content}.
 *
 * @param role who speaks, usually {@code system}, {@code user} or {@code assistant} (the chat
 *     template decides which roles it accepts)
 * @param content the text of the turn
 */
public record ChatMessage(String role, String content) {

  public ChatMessage {
    Objects.requireNonNull(role, "role");
    Objects.requireNonNull(content, "content");
  }

  public static ChatMessage system(String content) {
    return new ChatMessage("system", content);
  }

  public static ChatMessage user(String content) {
    return new ChatMessage("user", content);
  }

  public static ChatMessage assistant(String content) {
    return new ChatMessage("assistant", content);
  }
}
