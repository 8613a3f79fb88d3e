package org.prefscore.job;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.text.Normalizer;
import java.util.HexFormat;
import java.util.List;
import org.prefscore.chat.ChatMessage;

/**
 * What makes two prompts "the same", and the stable id of a prompt. Pure logic.
 *
 * <ul>
 *   <li>Normalisation of a text: Unicode NFC, then {@link String#strip()} (leading and trailing
 *       Unicode whitespace removed). Nothing else: case and inner whitespace count.
 *   <li>Canonical form of a plain-text prompt: its normalised text. Of a chat prompt: the compact
 *       JSON array {@code [{"role":r,"content":c},...]} of its messages with r and c normalised.
 *   <li>Prompt id: the first 16 hex characters (64 bits) of SHA-256 over the UTF-8 canonical form.
 * </ul>
 *
 * Exact duplicates are prompts with equal canonical forms. The models see the prompt as given, not
 * its normalised form.
 */
public final class PromptIdentity {

  private static final ObjectMapper JSON = new ObjectMapper();

  private PromptIdentity() {}

  public static String normalise(String text) {
    return Normalizer.normalize(text, Normalizer.Form.NFC).strip();
  }

  public static String canonical(String text) {
    return normalise(text);
  }

  public static String canonical(List<ChatMessage> messages) {
    ArrayNode array = JSON.createArrayNode();
    for (ChatMessage m : messages) {
      array.addObject().put("role", normalise(m.role())).put("content", normalise(m.content()));
    }
    try {
      return JSON.writeValueAsString(array);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** SHA-256 hex of the UTF-8 bytes of {@code canonical}, truncated to 16 characters. */
  public static String id(String canonical) {
    return sha256Hex(canonical.getBytes(StandardCharsets.UTF_8)).substring(0, 16);
  }

  static String sha256Hex(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
