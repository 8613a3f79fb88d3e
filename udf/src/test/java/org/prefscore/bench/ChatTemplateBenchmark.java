package org.prefscore.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.prefscore.chat.ChatMessage;
import org.prefscore.chat.ChatTemplate;
import org.prefscore.testing.Fixtures;

/**
 * Microseconds per render of the real Qwen3 chat template (fixtures/templates/qwen3.jinja) on a
 * four-turn conversation with a system message, a thinking block and ~100-word user turns: what
 * every chat prompt costs twice (x and p ⊕ x) in the generate stage. Not a test; run it with
 *
 * <pre>
 * mvn -q -B -ntp -DskipTests install
 * mvn -q -B -ntp -pl udf exec:java -Dexec.classpathScope=test \
 *   -Dexec.mainClass=org.prefscore.bench.ChatTemplateBenchmark
 * </pre>
 */
public final class ChatTemplateBenchmark {

  private ChatTemplateBenchmark() {}

  public static void main(String[] args) throws Exception {
    Path root = Fixtures.root().resolve("templates");
    ChatTemplate template =
        ChatTemplate.of(Files.readString(root.resolve("qwen3.jinja")), "", "<|im_end|>");
    List<ChatMessage> messages =
        List.of(
            ChatMessage.system("Be terse."),
            ChatMessage.user("What is two plus two? ".repeat(20)),
            ChatMessage.assistant("<think>\nadd them\n</think>\n\n4"),
            ChatMessage.user("And three plus three? ".repeat(20)));
    long sink = 0;
    for (int round = 0; round < 7; round++) {
      long start = System.nanoTime();
      int renders = 0;
      while (System.nanoTime() - start < 1_000_000_000L) {
        sink += template.render(messages, true).length();
        renders++;
      }
      System.out.printf(
          Locale.ROOT, "round %d: %.1f us per render%n", round, 1e9 / renders / 1000.0);
    }
    System.out.println("(checksum " + sink + ")");
  }
}
