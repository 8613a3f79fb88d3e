package org.prefscore.chat;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.prefscore.testing.Fixtures;

/**
 * Every case of fixtures/templates/cases.json, rendered by transformers' own chat-template code
 * (jinja2 3.1, fixtures/make_template_goldens.py): Jinja2's features one template each (loop
 * filters, loop attributes, recursive loops, macros, printing, str methods, filters, tests,
 * assignments, tojson, keyword arguments, whitespace control) and the real Qwen3 and Llama 3
 * templates, Qwen3's with and without {@code enable_thinking}.
 */
class ChatTemplateJinja2Test {

  private static final ObjectMapper JSON = new ObjectMapper();

  static Path dir() {
    return Fixtures.root().resolve("templates");
  }

  static Stream<Arguments> cases() throws IOException {
    JsonNode root = JSON.readTree(dir().resolve("cases.json").toFile());
    List<Arguments> cases = new ArrayList<>();
    for (JsonNode c : root.get("cases")) {
      cases.add(Arguments.of(c.get("name").asText(), c));
    }
    return cases.stream();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void rendersAsTransformersDoes(String name, JsonNode c) throws IOException {
    String source =
        c.has("template_file")
            ? Files.readString(dir().resolve(c.get("template_file").asText()))
            : c.get("template").asText();
    ChatTemplate template =
        ChatTemplate.of(source, c.get("bos_token").asText(), c.get("eos_token").asText());
    List<ChatMessage> messages = new ArrayList<>();
    for (JsonNode m : c.get("messages")) {
      messages.add(new ChatMessage(m.get("role").asText(), m.get("content").asText()));
    }
    @SuppressWarnings("unchecked")
    Map<String, Object> kwargs = JSON.convertValue(c.get("kwargs"), Map.class);

    String rendered = template.render(messages, c.get("add_generation_prompt").asBoolean(), kwargs);

    assertThat(rendered).isEqualTo(c.get("rendered").asText());
  }

  @Test
  void theCorpusCoversTheRealTemplatesAndEnableThinking() throws IOException {
    List<String> names = new ArrayList<>();
    cases().forEach(a -> names.add((String) a.get()[0]));

    assertThat(names).hasSizeGreaterThan(50);
    assertThat(names)
        .anyMatch(n -> n.startsWith("qwen3/") && n.contains("\"enable_thinking\": false"));
    assertThat(names)
        .anyMatch(n -> n.startsWith("qwen3/") && n.contains("\"enable_thinking\": true"));
    assertThat(names).anyMatch(n -> n.startsWith("llama3/"));
  }
}
