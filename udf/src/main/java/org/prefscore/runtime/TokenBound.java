package org.prefscore.runtime;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * The most characters (UTF-16 units of the input text) one token of a {@code tokenizer.json} can
 * stand for, when its structure bounds it: then a text of {@code c} characters has at least {@code
 * c / bound} tokens, and a text that cannot fit a context window is refused without tokenizing it
 * (tokenizing 4 MB takes 5 s and a GB of memory; a 50 MB prompt would take a minute and more memory
 * than an executor has).
 *
 * <p>The bound is the longest token text of the vocabulary and the added tokens, times the most a
 * normalizer can shrink a text. It holds when every character of the text ends up in some token:
 *
 * <ul>
 *   <li>the model is BPE (WordPiece turns a long word into one unknown token, Unigram and WordLevel
 *       fuse unknown runs: no bound);
 *   <li>no character can be dropped: a byte-level pre-tokenizer with all 256 byte symbols in the
 *       vocabulary, or byte fallback, or an unknown token that is not fused;
 *   <li>the normalizer only keeps or grows the text (none, Prepend, Lowercase, ByteLevel, Replace
 *       of a string by one at least as long; NFD and NFKD shrink it at most by 2 in UTF-16 units,
 *       NFC and NFKC by 4), and the pre-tokenizer removes nothing (ByteLevel, Metaspace, Digits,
 *       UnicodeScripts, Split and Punctuation unless they remove; Whitespace, BertPreTokenizer and
 *       CharDelimiterSplit drop characters: no bound).
 * </ul>
 *
 * Anything else gives no bound (0), and such texts are tokenized as they are. Pure.
 */
final class TokenBound {

  private TokenBound() {}

  /** The bound of a parsed tokenizer.json, or 0 when its structure gives none. */
  static int of(JsonNode tokenizer) {
    JsonNode model = tokenizer.path("model");
    if (!"BPE".equals(model.path("type").asText(""))) {
      return 0;
    }
    int shrink = normalizerShrink(tokenizer.path("normalizer"));
    if (shrink == 0 || !keepsEverything(tokenizer.path("pre_tokenizer"))) {
      return 0;
    }
    JsonNode vocab = model.path("vocab");
    int longest = 0;
    Set<String> keys = new HashSet<>();
    for (Iterator<String> it = vocab.fieldNames(); it.hasNext(); ) {
      String k = it.next();
      keys.add(k);
      longest = Math.max(longest, k.length());
    }
    for (JsonNode added : tokenizer.path("added_tokens")) {
      longest = Math.max(longest, added.path("content").asText("").length());
    }
    if (longest == 0) {
      return 0;
    }
    boolean byteFallback = model.path("byte_fallback").asBoolean(false);
    boolean unknownKept =
        model.path("unk_token").isTextual() && !model.path("fuse_unk").asBoolean(false);
    boolean allBytes =
        hasByteLevel(tokenizer.path("pre_tokenizer")) && keys.containsAll(byteLevelAlphabet());
    if (!allBytes && !byteFallback && !unknownKept) {
      return 0;
    }
    return Math.multiplyExact(longest, shrink);
  }

  /** How much a normalizer can shrink a text (1: never), or 0 when it may drop characters. */
  private static int normalizerShrink(JsonNode n) {
    if (n.isMissingNode() || n.isNull()) {
      return 1;
    }
    String type = n.path("type").asText("");
    switch (type) {
      case "Sequence":
        int worst = 1;
        for (JsonNode part : n.path("normalizers")) {
          int s = normalizerShrink(part);
          if (s == 0) {
            return 0;
          }
          worst = Math.multiplyExact(worst, s);
        }
        return worst;
      case "Prepend":
      case "Lowercase":
      case "ByteLevel":
        return 1;
      case "Replace":
        JsonNode pattern = n.path("pattern").path("String");
        return pattern.isTextual()
                && !pattern.asText().isEmpty()
                && n.path("content").asText("").length() >= pattern.asText().length()
            ? 1
            : 0;
      case "NFD":
      case "NFKD":
        return 2;
      case "NFC":
      case "NFKC":
        return 4;
      default:
        return 0;
    }
  }

  private static final List<String> KEEPING =
      List.of("ByteLevel", "Metaspace", "Digits", "UnicodeScripts", "Split", "Punctuation");

  /** Whether a pre-tokenizer keeps every character (splitting only). */
  private static boolean keepsEverything(JsonNode p) {
    if (p.isMissingNode() || p.isNull()) {
      return true;
    }
    String type = p.path("type").asText("");
    if (type.equals("Sequence")) {
      for (JsonNode part : p.path("pretokenizers")) {
        if (!keepsEverything(part)) {
          return false;
        }
      }
      return true;
    }
    if (!KEEPING.contains(type)) {
      return false;
    }
    return !"Removed".equals(p.path("behavior").asText(""));
  }

  private static boolean hasByteLevel(JsonNode p) {
    if ("ByteLevel".equals(p.path("type").asText(""))) {
      return true;
    }
    for (JsonNode part : p.path("pretokenizers")) {
      if (hasByteLevel(part)) {
        return true;
      }
    }
    return false;
  }

  /** GPT-2's byte-to-symbol map: the 256 one-character tokens a byte-level BPE starts from. */
  static Set<String> byteLevelAlphabet() {
    Set<String> symbols = new HashSet<>();
    int extra = 0;
    for (int b = 0; b < 256; b++) {
      boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      symbols.add(String.valueOf((char) (printable ? b : 256 + extra++)));
    }
    return symbols;
  }
}
