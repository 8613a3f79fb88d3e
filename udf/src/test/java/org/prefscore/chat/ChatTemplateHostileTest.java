package org.prefscore.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.prefscore.chat.ChatTemplate.ChatTemplateException;
import org.prefscore.chat.ChatTemplate.LimitExceededException;

/**
 * Chat templates written by an attacker: each one fails closed, within a time bound, with a typed
 * error, and without side effects (a canary file that a successful escape would create never
 * appears). A template either fails when it is loaded ({@link IllegalArgumentException}: syntax,
 * refused tags, nesting) or when it renders ({@link ChatTemplateException}; {@link
 * LimitExceededException} naming the limit).
 */
class ChatTemplateHostileTest {

  @TempDir static Path dir;

  private static final List<ChatMessage> MESSAGES =
      List.of(ChatMessage.system("s"), ChatMessage.user("hello"));

  /** How a hostile template must fail. */
  enum Outcome {
    LOAD,
    RENDER,
    LIMIT
  }

  static Path canary() {
    return dir.resolve("CANARY");
  }

  static Stream<Arguments> corpus() {
    String touch = "'touch " + canary() + "'";
    List<Arguments> c = new ArrayList<>();
    // Reflection and Python-style escapes.
    c.add(Arguments.of("dunder class", "{{ ''.__class__ }}", Outcome.RENDER, null));
    c.add(
        Arguments.of(
            "python subclasses walk",
            "{{ ''.__class__.__mro__[1].__subclasses__() }}",
            Outcome.RENDER,
            null));
    c.add(Arguments.of("java getClass", "{{ messages.getClass() }}", Outcome.RENDER, null));
    c.add(
        Arguments.of(
            "java forName",
            "{{ messages.getClass().forName('java.lang.Runtime').getRuntime().exec("
                + touch
                + ") }}",
            Outcome.RENDER,
            null));
    c.add(
        Arguments.of(
            "string getClass exec",
            "{{ ''.getClass().forName('java.lang.Runtime').getMethod('getRuntime').invoke(none)"
                + ".exec("
                + touch
                + ") }}",
            Outcome.RENDER,
            null));
    // Jinjava's reserved interpreter name and what CVE-2025-59340 reached through it.
    c.add(
        Arguments.of(
            "interpreter object",
            "{{ ____int3rpr3t3r____.config.objectMapper }}",
            Outcome.RENDER,
            null));
    c.add(
        Arguments.of(
            "interpreter context",
            "{{ ____int3rpr3t3r____.getContext().getGlobalContext() }}",
            Outcome.RENDER,
            null));
    c.add(
        Arguments.of(
            "jackson to janino",
            "{% set m = ____int3rpr3t3r____.config.objectMapper %}{{ m.readValue("
                + "'{\"@class\":\"org.codehaus.janino.ScriptEvaluator\"}', m.getTypeFactory()"
                + ".constructFromCanonical('java.lang.Object')) }}",
            Outcome.RENDER,
            null));
    c.add(
        Arguments.of(
            "script engine",
            "{{ ____int3rpr3t3r____.getClass().getClassLoader().loadClass("
                + "'javax.script.ScriptEngineManager').newInstance().getEngineByName('js').eval("
                + "'java.lang.Runtime.getRuntime().exec("
                + touch.replace("'", "\\\"")
                + ")') }}",
            Outcome.RENDER,
            null));
    // Bean getters and setters, and mutation of the messages.
    c.add(Arguments.of("bean getter chain", "{{ messages[0].class.name }}", Outcome.RENDER, null));
    c.add(
        Arguments.of(
            "bean setter", "{% set messages[0].role = 'x' %}{{ messages }}", Outcome.LOAD, null));
    c.add(Arguments.of("list append", "{{ messages.append(1) }}", Outcome.RENDER, null));
    c.add(
        Arguments.of(
            "dict update", "{{ messages[0].update({'role': 'x'}) }}", Outcome.RENDER, null));
    c.add(Arguments.of("dunder setitem", "{{ {}.__setitem__('a', 1) }}", Outcome.RENDER, null));
    c.add(
        Arguments.of(
            "str.format attribute walk", "{{ '{0.__class__}'.format('') }}", Outcome.RENDER, null));
    c.add(
        Arguments.of(
            "global function internals",
            "{{ cycler.__init__.__globals__ }}",
            Outcome.RENDER,
            null));
    c.add(
        Arguments.of(
            "raise_exception internals", "{{ raise_exception.__call__ }}", Outcome.RENDER, null));
    // EL syntax: lambdas and static calls.
    c.add(Arguments.of("EL lambda", "{{ (x -> x)(1) }}", Outcome.LOAD, null));
    c.add(
        Arguments.of(
            "EL static call",
            "{{ T(java.lang.Runtime).getRuntime().exec(" + touch + ") }}",
            Outcome.RENDER,
            null));
    c.add(Arguments.of("EL dollar", "{{ ${1+1} }}", Outcome.LOAD, null));
    // Reaching other files.
    c.add(Arguments.of("include", "{% include '/etc/passwd' %}", Outcome.LOAD, null));
    c.add(Arguments.of("import", "{% import 'x.j2' as x %}{{ x }}", Outcome.LOAD, null));
    c.add(Arguments.of("extends", "{% extends 'base.j2' %}", Outcome.LOAD, null));
    c.add(Arguments.of("from import", "{% from 'x' import y %}", Outcome.LOAD, null));
    // Resources.
    c.add(Arguments.of("huge range", "{{ range(100000000)|length }}", Outcome.LIMIT, "range size"));
    c.add(
        Arguments.of(
            "1000^3 loops",
            "{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}x"
                + "{% endfor %}{% endfor %}{% endfor %}",
            Outcome.LIMIT,
            null));
    c.add(
        Arguments.of(
            "1000^4 empty loops",
            "{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}"
                + "{% for d in range(1000) %}{% endfor %}{% endfor %}{% endfor %}{% endfor %}",
            Outcome.LIMIT,
            "loop iterations"));
    c.add(
        Arguments.of(
            "unbounded recursive macro",
            "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(1) }}",
            Outcome.LIMIT,
            "call depth"));
    c.add(
        Arguments.of(
            "unbounded recursive loop",
            "{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}",
            Outcome.LIMIT,
            "call depth"));
    c.add(
        Arguments.of(
            "string doubled 40 times",
            "{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}"
                + "{% endfor %}{{ ns.s|length }}",
            Outcome.LIMIT,
            "allocated characters"));
    c.add(
        Arguments.of(
            "string repetition", "{{ 'a' * 10000000000 }}", Outcome.LIMIT, "allocated characters"));
    c.add(
        Arguments.of(
            "list repetition", "{{ [1] * 100000000 }}", Outcome.LIMIT, "allocated characters"));
    c.add(
        Arguments.of(
            "shared big string printed many times",
            "{% set s = 'x' * 1000000 %}{{ [s] * 1000 }}",
            Outcome.LIMIT,
            "allocated characters"));
    c.add(
        Arguments.of(
            "replace blow-up",
            "{{ ('x' * 1000000).replace('', 'yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy') }}",
            Outcome.LIMIT,
            "allocated characters"));
    c.add(
        Arguments.of(
            "join blow-up",
            "{% set s = 'x' * 1000000 %}{{ ([s] * 100)|join }}",
            Outcome.LIMIT,
            "allocated characters"));
    c.add(
        Arguments.of(
            "tojson blow-up",
            "{% set s = 'x' * 1000000 %}{{ ([s] * 100)|tojson }}",
            Outcome.LIMIT,
            "allocated characters"));
    c.add(
        Arguments.of(
            "very long output",
            "{% for i in range(100000) %}{{ 'abcdefghij' * 10 }}{% endfor %}",
            Outcome.LIMIT,
            null));
    c.add(Arguments.of("integer overflow", "{{ 10 ** 1000 }}", Outcome.RENDER, null));
    c.add(
        Arguments.of(
            "deep parentheses",
            "{{ " + "(".repeat(20000) + "1" + ")".repeat(20000) + " }}",
            Outcome.LOAD,
            null));
    c.add(Arguments.of("deep not", "{{ " + "not ".repeat(20000) + "1 }}", Outcome.LOAD, null));
    c.add(
        Arguments.of(
            "deep blocks",
            "{% if true %}".repeat(5000) + "x" + "{% endif %}".repeat(5000),
            Outcome.LOAD,
            null));
    c.add(
        Arguments.of(
            "deep lists",
            "{{ " + "[".repeat(20000) + "]".repeat(20000) + " }}",
            Outcome.LOAD,
            null));
    return c.stream();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("corpus")
  void failsClosedQuicklyWithoutSideEffects(
      String name, String source, Outcome outcome, String limit) {
    long start = System.nanoTime();
    if (outcome == Outcome.LOAD) {
      assertThatThrownBy(() -> ChatTemplate.of(source, "<s>", "</s>"))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("chat template");
    } else {
      ChatTemplate template = ChatTemplate.of(source, "<s>", "</s>");
      var thrown = assertThatThrownBy(() -> template.render(MESSAGES, true));
      thrown.isInstanceOf(ChatTemplateException.class);
      if (outcome == Outcome.LIMIT) {
        thrown
            .isInstanceOf(LimitExceededException.class)
            .hasMessageContaining("an inline template")
            .hasMessageContaining("limit");
        if (limit != null) {
          thrown.matches(e -> ((LimitExceededException) e).limit().equals(limit), "limit " + limit);
        }
      }
    }
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
    assertThat(canary()).doesNotExist();
  }

  @Test
  void theCorpusIsLarge() {
    assertThat(corpus().count()).isGreaterThanOrEqualTo(25);
  }

  @Test
  void renderTimeIsBounded() {
    TemplateLimits tight =
        new TemplateLimits(
            Duration.ofMillis(200), 4_000_000, 32_000_000, Long.MAX_VALUE, 64, 100_000, 100);
    ChatTemplate slow =
        ChatTemplate.of(
            "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
            "", "", tight);
    long start = System.nanoTime();

    assertThatThrownBy(() -> slow.render(MESSAGES, true))
        .isInstanceOf(LimitExceededException.class)
        .matches(e -> ((LimitExceededException) e).limit().equals("render time"))
        .hasMessageContaining("200 ms");
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
  }

  @Test
  void dataThatLooksLikeCodeIsRenderedAsData() {
    ChatTemplate template =
        ChatTemplate.of(
            "{{ '${jndi:ldap://127.0.0.1:1389/a}' }}|{% for m in messages %}{{ m.content }}"
                + "{% endfor %}",
            "", "");

    String out = template.render(List.of(ChatMessage.user("{{ 7*7 }} ${env:HOME} #{1+1}")), false);

    assertThat(out).isEqualTo("${jndi:ldap://127.0.0.1:1389/a}|{{ 7*7 }} ${env:HOME} #{1+1}");
  }

  @Test
  void keywordArgumentsArePlainValuesWithFreeNames() {
    ChatTemplate template = ChatTemplate.of("{{ flag }}", "", "");

    assertThat(template.render(MESSAGES, true, Map.of("flag", false))).isEqualTo("False");
    assertThatThrownBy(() -> template.render(MESSAGES, true, Map.of("messages", List.of())))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("messages");
    assertThatThrownBy(() -> template.render(MESSAGES, true, Map.of("flag", new Object())))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("plain");
  }

  @Test
  void inThePipelineAnExceededLimitIsARenderFailureOfThatPrompt() {
    ChatTemplate looping =
        ChatTemplate.of(
            "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
            "", "");
    PromptRenderer renderer =
        new PromptRenderer(() -> looping, new org.prefscore.method.RefinementPrompt("P:", " "));

    // GenerationFunction and PromptRenderFunction turn this into a CHAT_TEMPLATE_ERROR reject.
    assertThatThrownBy(() -> renderer.render(null, MESSAGES))
        .isInstanceOf(PromptRenderer.RenderException.class)
        .hasMessageContaining("an inline template exceeded its loop iterations limit");
    // A plain-text prompt never runs the template.
    assertThat(renderer.render("plain", null).pxPrompt()).isEqualTo("P: plain");
  }

  @Test
  void aTemplateCannotWriteFiles() throws Exception {
    // The strongest attempt of the corpus, run once more and checked on disk.
    ChatTemplate template =
        ChatTemplate.of(
            "{{ messages.getClass().forName('java.lang.Runtime').getRuntime().exec('touch "
                + canary()
                + "') }}",
            "",
            "");
    assertThatThrownBy(() -> template.render(MESSAGES, true))
        .isInstanceOf(ChatTemplateException.class);
    Thread.sleep(100);
    assertThat(Files.exists(canary())).isFalse();
  }
}
