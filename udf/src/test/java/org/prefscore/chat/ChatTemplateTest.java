package org.prefscore.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.prefscore.chat.ChatTemplate.ChatTemplateException;
import org.prefscore.runtime.ModelFiles;
import org.prefscore.runtime.ModelLoadException;
import org.prefscore.testing.Fixtures;

class ChatTemplateTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  // -- golden: transformers' apply_chat_template on the fixture models ------------------------

  @ParameterizedTest(name = "{0} chat case {1}")
  @MethodSource("goldenChatCases")
  void rendersLikeTransformersApplyChatTemplate(String model, int index, JsonNode chatCase) {
    ChatTemplate template =
        ChatTemplate.of(ModelFiles.read(Fixtures.root().resolve("models/" + model)));
    List<ChatMessage> messages = new ArrayList<>();
    for (JsonNode message : chatCase.get("messages")) {
      messages.add(new ChatMessage(message.get("role").asText(), message.get("content").asText()));
    }

    String rendered = template.render(messages, chatCase.get("add_generation_prompt").asBoolean());

    assertThat(rendered).isEqualTo(chatCase.get("rendered").asText());
  }

  /** Every chat case of every golden file that has some. */
  static Stream<Arguments> goldenChatCases() throws IOException {
    List<Arguments> cases = new ArrayList<>();
    List<Path> goldens;
    try (Stream<Path> files = Files.list(Fixtures.root().resolve("golden"))) {
      goldens =
          files.filter(f -> f.toString().endsWith(".json")).sorted().collect(Collectors.toList());
    }
    for (Path golden : goldens) {
      String model = golden.getFileName().toString().replaceFirst("\\.json$", "");
      JsonNode chatCases = JSON.readTree(golden.toFile()).path("chat_cases");
      for (int i = 0; i < chatCases.size(); i++) {
        cases.add(Arguments.of(model, i, chatCases.get(i)));
      }
    }
    return cases.stream();
  }

  // -- inline templates, expected output from jinja2 ------------------------------------------
  //
  // Every expected string below was rendered by Python's jinja2 3.1 in transformers'
  // configuration: jinja2.sandbox.ImmutableSandboxedEnvironment(trim_blocks=True,
  // lstrip_blocks=True) with a raise_exception global, called as
  // template.render(messages=..., add_generation_prompt=..., bos_token="<s>", eos_token="</s>").

  /** ChatML, with the system message rendered like any other turn. */
  private static final String CHATML =
      "{% for message in messages %}"
          + "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
          + "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

  /**
   * Llama 2's template: system message folded into the first turn, raise_exception on bad roles.
   */
  private static final String LLAMA2 =
      "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
          + "{% set system_message = messages[0]['content'] %}{% else %}"
          + "{% set loop_messages = messages %}{% set system_message = false %}{% endif %}"
          + "{% for message in loop_messages %}"
          + "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
          + "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
          + "{% endif %}{% if loop.index0 == 0 and system_message != false %}"
          + "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
          + "{% else %}{% set content = message['content'] %}{% endif %}"
          + "{% if message['role'] == 'user' %}"
          + "{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
          + "{% elif message['role'] == 'assistant' %}"
          + "{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}";

  /** Whitespace control with {%- -%} / {{- -}} / {#- -#}, and loop.last. */
  private static final String DASH =
      "{%- for message in messages -%}\n"
          + "    {#- one line per turn -#}\n"
          + "    {{- message.role ~ ': ' ~ message.content | trim -}}\n"
          + "    {%- if not loop.last %}\n{{ '\\n' }}\n"
          + "    {%- endif %}\n{%- endfor -%}\n"
          + "{%- if add_generation_prompt %} | assistant:{% endif %}\n";

  /**
   * lstrip_blocks/trim_blocks on indented tags, a tag after text in mid-line (whose space must be
   * kept), and "not x is defined" (Jinja2: not (x is defined)).
   */
  private static final String LSTRIP =
      "{% for message in messages %}\n"
          + "    {% if message.role == 'user' %}\n"
          + "Q: {{ message.content }} {% if loop.last %}(last){% endif %}\n"
          + "\n    {% else %}\n"
          + "{{ message.role | upper }}: {{ message.content }}\n"
          + "    {% endif %}\n{% endfor %}\n"
          + "{% if not add_generation_prompt is defined %}never{% elif add_generation_prompt %}A:{% endif %}\n";

  /** Qwen3-style: namespace(n=a|length - 1), messages[::-1], str.split/lstrip, string tests. */
  private static final String QWEN3ISH =
      "{%- set ns = namespace(last_user=messages|length - 1) %}\n"
          + "{%- for message in messages[::-1] %}\n"
          + "    {%- if message.role == 'user' and ns.last_user == messages|length - 1 %}\n"
          + "        {%- set ns.last_user = (messages|length - 1) - loop.index0 %}\n"
          + "    {%- endif %}\n{%- endfor %}\n"
          + "{%- for message in messages %}\n"
          + "    {%- set content = message.content %}\n"
          + "    {%- if '</think>' in content %}\n"
          + "        {%- set content = content.split('</think>')[-1].lstrip('\\n') %}\n"
          + "    {%- endif %}\n"
          + "    {{- '<|im_start|>' + message.role + '\\n' + content + '<|im_end|>\\n' }}\n"
          + "    {%- if loop.index0 == ns.last_user %}{{ '<!-- last user -->\\n' }}{% endif %}\n"
          + "{%- endfor %}\n{%- if add_generation_prompt %}\n"
          + "    {{- '<|im_start|>assistant\\n' }}\n{%- endif %}";

  /**
   * Python semantics and lexer corner cases: string indexing, first/last/title, str.split(), dict
   * get, not-in-list precedence, a chained comparison, CRLF line ends, raw, comments, a brace in
   * text, Python escapes in literals, adjacent literals, iterating a string.
   */
  private static final String PYTHONISMS =
      "{#- Python semantics and lexer corner cases -#}\r\n"
          + "{% for m in messages %}\r\n"
          + "  {{- m.role[0] | upper }}{{ m.role[-1] }}:{{ m['content'][:4] }}|"
          + "{{ m.content|first }}{{ m.content|last }}|{{ m.role|title }}|"
          + "{{ m.content.split()|length }}|{{ m.get('name', 'anon') }}\r\n"
          + "  {%- if not m.role in ['system'] and 1 < loop.index <= 3 %} #{{ loop.index }}"
          + "{% endif %}\r\n"
          + "{% endfor %}\r\n"
          + "{% raw %}{{ not rendered }}{% endraw %} { {{ '\\u2581\\x41\\t' ~ 'x' 'y' }}"
          + " {# gone #}\r\n"
          + "{% for c in 'ab' %}[{{ c }}]{% endfor %}\r\n";

  /**
   * transformers' own tojson filter (json.dumps, not Jinja's): its expected output below was
   * rendered with transformers' compiled template (_compile_jinja_template), which adds that filter
   * to the environment described above.
   */
  private static final String TOJSON =
      "{{ messages|tojson }}\n{{ messages[0]|tojson(indent=2) }}\n"
          + "{{ {'b': 1, 'a': [true, none, 1.5]}|tojson(sort_keys=true) }}";

  private static final List<ChatMessage> SYS3 =
      List.of(
          ChatMessage.system("You answer briefly."),
          ChatMessage.user("Name a color."),
          ChatMessage.assistant("Blue."));

  private static final List<ChatMessage> U3 =
      List.of(
          ChatMessage.user("Hi!"),
          ChatMessage.assistant("  Hello! How can I help?  "),
          ChatMessage.user("Tell me a joke about caf\u00e9 \u2615."));

  /** Message text that looks like Jinja must come out as it is, never rendered. */
  private static final List<ChatMessage> TRICKY =
      List.of(
          ChatMessage.user("Literal {{ 7*7 }} and {% if x %}tags{% endif %}"),
          ChatMessage.assistant("<think>\nhmm\n</think>\n\nSure."));

  static Stream<Arguments> jinja2Cases() {
    return Stream.of(
        Arguments.of(
            "CHATML",
            CHATML,
            SYS3,
            true,
            "<|im_start|>system\nYou answer briefly.<|im_end|>\n"
                + "<|im_start|>user\nName a color.<|im_end|>\n"
                + "<|im_start|>assistant\nBlue.<|im_end|>\n<|im_start|>assistant\n"),
        Arguments.of(
            "CHATML",
            CHATML,
            SYS3,
            false,
            "<|im_start|>system\nYou answer briefly.<|im_end|>\n"
                + "<|im_start|>user\nName a color.<|im_end|>\n"
                + "<|im_start|>assistant\nBlue.<|im_end|>\n"),
        Arguments.of(
            "CHATML",
            CHATML,
            U3,
            true,
            "<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n"
                + "  Hello! How can I help?  <|im_end|>\n<|im_start|>user\n"
                + "Tell me a joke about caf\u00e9 \u2615.<|im_end|>\n"
                + "<|im_start|>assistant\n"),
        Arguments.of(
            "LLAMA2",
            LLAMA2,
            SYS3,
            false,
            "<s>[INST] <<SYS>>\nYou answer briefly.\n<</SYS>>\n"
                + "\nName a color. [/INST] Blue. </s>"),
        Arguments.of(
            "LLAMA2",
            LLAMA2,
            U3,
            true,
            "<s>[INST] Hi! [/INST] Hello! How can I help? </s>"
                + "<s>[INST] Tell me a joke about caf\u00e9 \u2615. [/INST]"),
        Arguments.of(
            "DASH",
            DASH,
            SYS3,
            true,
            "system: You answer briefly.\nuser: Name a color.\n" + "assistant: Blue. | assistant:"),
        Arguments.of(
            "DASH",
            DASH,
            U3,
            false,
            "user: Hi!\nassistant: Hello! How can I help?\n"
                + "user: Tell me a joke about caf\u00e9 \u2615."),
        Arguments.of(
            "LSTRIP",
            LSTRIP,
            SYS3,
            true,
            "SYSTEM: You answer briefly.\nQ: Name a color. \n" + "ASSISTANT: Blue.\nA:"),
        Arguments.of(
            "LSTRIP",
            LSTRIP,
            U3,
            false,
            "Q: Hi! \nASSISTANT:   Hello! How can I help?  \n"
                + "Q: Tell me a joke about caf\u00e9 \u2615. (last)\n"),
        Arguments.of(
            "QWEN3ISH",
            QWEN3ISH,
            U3,
            true,
            "<|im_start|>user\nHi!<|im_end|>\n<!-- last user -->\n"
                + "<|im_start|>assistant\n"
                + "  Hello! How can I help?  <|im_end|>\n<|im_start|>user\n"
                + "Tell me a joke about caf\u00e9 \u2615.<|im_end|>\n"
                + "<|im_start|>assistant\n"),
        Arguments.of(
            "QWEN3ISH",
            QWEN3ISH,
            TRICKY,
            false,
            "<|im_start|>user\n"
                + "Literal {{ 7*7 }} and {% if x %}tags{% endif %}<|im_end|>\n"
                + "<!-- last user -->\n<|im_start|>assistant\n"
                + "Sure.<|im_end|>\n"),
        Arguments.of(
            "PYTHONISMS",
            PYTHONISMS,
            SYS3,
            true,
            "Sm:You |Y.|System|3|anonUr:Name|N.|User|3|anon #2"
                + "At:Blue|B.|Assistant|1|anon #3{{ not rendered }} { \u2581A\txy [a][b]"),
        Arguments.of(
            "TOJSON",
            TOJSON,
            SYS3,
            false,
            "[{\"role\": \"system\", \"content\": \"You answer briefly.\"}, "
                + "{\"role\": \"user\", \"content\": \"Name a color.\"}, "
                + "{\"role\": \"assistant\", \"content\": \"Blue.\"}]\n"
                + "{\n  \"role\": \"system\",\n  \"content\": \"You answer briefly.\"\n}\n"
                + "{\"a\": [true, null, 1.5], \"b\": 1}"));
  }

  @ParameterizedTest(name = "{0} {3}")
  @MethodSource("jinja2Cases")
  void rendersLikeJinja2InTransformersConfiguration(
      String name,
      String template,
      List<ChatMessage> messages,
      boolean addGenerationPrompt,
      String expected) {
    ChatTemplate chat = ChatTemplate.of(template, "<s>", "</s>");

    assertThat(chat.render(messages, addGenerationPrompt)).isEqualTo(expected);
  }

  // -- failing loudly ---------------------------------------------------------------------------

  @Test
  void raiseExceptionThrowsWithTheTemplatesMessage() {
    ChatTemplate llama2 = ChatTemplate.of(LLAMA2, "<s>", "</s>");

    assertThatThrownBy(
            () -> llama2.render(List.of(ChatMessage.user("a"), ChatMessage.user("b")), true))
        .isInstanceOf(ChatTemplateException.class)
        .hasMessageContaining("Conversation roles must alternate user/assistant/user/assistant/...")
        .matches(e -> ((ChatTemplateException) e).raisedByTemplate());
  }

  @Test
  void undefinedFilterThrowsInsteadOfRenderingSilently() {
    ChatTemplate template =
        ChatTemplate.of("{% for m in messages %}{{ m.content | shout }}{% endfor %}", "", "");

    assertThatThrownBy(() -> template.render(U3, true))
        .isInstanceOf(ChatTemplateException.class)
        .hasMessageContaining("Unknown filter 'shout'")
        .matches(e -> !((ChatTemplateException) e).raisedByTemplate());
  }

  @Test
  void undefinedTestAndFunctionThrow() {
    ChatTemplate test = ChatTemplate.of("{% if messages is crowded %}x{% endif %}", "", "");
    ChatTemplate function = ChatTemplate.of("{{ shout(messages[0].content) }}", "", "");

    assertThatThrownBy(() -> test.render(U3, true))
        .isInstanceOf(ChatTemplateException.class)
        .hasMessageContaining("Unknown test 'crowded'");
    assertThatThrownBy(() -> function.render(U3, true))
        .isInstanceOf(ChatTemplateException.class)
        .hasMessageContaining("shout");
  }

  @Test
  void errorsNameTheTemplateLine() {
    ChatTemplate template =
        ChatTemplate.of(
            "{%- if true %}\n  x\n{%- endif %}\n{# a\n comment #}\n{{ 1 | shout }}", "", "");

    assertThatThrownBy(() -> template.render(U3, true)).hasMessageContaining("line 6");
  }

  @Test
  void templateThatDoesNotParseFailsWhenLoaded() {
    assertThatThrownBy(() -> ChatTemplate.of("{% for m in messages %}{{ m.content }}", "", ""))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("endfor");
    assertThatThrownBy(() -> ChatTemplate.of("{{ 1 + }}", "", ""))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("does not parse");
  }

  @Test
  void tagsThatReachOutsideTheTemplateAreRefusedWhenLoaded() {
    for (String tag :
        List.of(
            "{% include 'x' %}",
            "{% import 'x' as y %}", "{% extends 'x' %}", "{% call f() %}{% endcall %}")) {
      assertThatThrownBy(() -> ChatTemplate.of(tag, "", ""))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("not allowed in a chat template");
    }
  }

  @Test
  void modelWithoutChatTemplateIsAClearError(@TempDir Path dir) throws IOException {
    Files.writeString(dir.resolve("config.json"), "{\"n_positions\": 64, \"eos_token_id\": 0}");
    Files.writeString(dir.resolve("model.onnx"), "");
    Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": {\"vocab\": {\"a\": 0}}}");
    Files.writeString(dir.resolve("tokenizer_config.json"), "{\"eos_token\": \"a\"}");
    ModelFiles files = ModelFiles.read(dir);

    assertThatThrownBy(() -> ChatTemplate.of(files))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageContaining("tokenizer_config.json")
        .hasMessageContaining("no chat_template");
  }

  @Test
  void messagesAreValidated() {
    ChatTemplate chatml = ChatTemplate.of(CHATML, "", "");

    assertThatThrownBy(() -> chatml.render(List.of(), true))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new ChatMessage(null, "x")).isInstanceOf(NullPointerException.class);
    assertThatThrownBy(() -> new ChatMessage("user", null))
        .isInstanceOf(NullPointerException.class);
  }

  // -- threads ------------------------------------------------------------------------------------

  @Test
  void oneInstanceRendersConcurrently() throws Exception {
    ChatTemplate template = ChatTemplate.of(QWEN3ISH, "<s>", "</s>");
    List<List<ChatMessage>> conversations = new ArrayList<>();
    for (int i = 0; i < 32; i++) {
      conversations.add(
          List.of(
              ChatMessage.user("question " + i),
              ChatMessage.assistant("<think>\nthought " + i + "\n</think>\nanswer " + i),
              ChatMessage.user("follow-up " + i)));
    }
    List<String> expected = new ArrayList<>();
    for (List<ChatMessage> conversation : conversations) {
      expected.add(template.render(conversation, true));
    }

    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<Boolean>> results = new ArrayList<>();
      for (int t = 0; t < 8; t++) {
        results.add(
            pool.submit(
                () -> {
                  for (int round = 0; round < 10; round++) {
                    for (int i = 0; i < conversations.size(); i++) {
                      if (!template.render(conversations.get(i), true).equals(expected.get(i))) {
                        return false;
                      }
                    }
                  }
                  return true;
                }));
      }
      for (Future<Boolean> result : results) {
        assertThat(result.get()).isTrue();
      }
    } finally {
      pool.shutdownNow();
    }
    assertThat(expected.get(7))
        .contains("question 7")
        .contains("answer 7")
        .doesNotContain("thought");
  }
}
