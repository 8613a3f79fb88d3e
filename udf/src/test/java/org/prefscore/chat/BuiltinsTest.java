package org.prefscore.chat;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Builtins that the transformers-rendered goldens cannot pin down (the clock). */
class BuiltinsTest {

  @Test
  void strftimeFollowsPythonForTheDirectivesTemplatesUse() {
    ZonedDateTime t = ZonedDateTime.of(2026, 12, 1, 9, 5, 7, 0, ZoneOffset.UTC);

    // Llama 3.1's date line and a few more.
    assertThat(Builtins.strftime(t, "%d %b %Y")).isEqualTo("01 Dec 2026");
    assertThat(Builtins.strftime(t, "%A, %B %d, %Y")).isEqualTo("Tuesday, December 01, 2026");
    assertThat(Builtins.strftime(t, "%Y-%m-%d %H:%M:%S %p %j %y %%"))
        .isEqualTo("2026-12-01 09:05:07 AM 335 26 %");
    assertThat(Builtins.strftime(t.withHour(0), "%I %p")).isEqualTo("12 AM");
  }

  @Test
  void strftimeNowIsAGlobalThatRendersToday() {
    ChatTemplate template = ChatTemplate.of("{{ strftime_now('%Y') }}", "", "");

    String year = template.render(List.of(ChatMessage.user("x")), false);

    assertThat(Integer.parseInt(year)).isBetween(2026, 2100);
  }
}
