package org.prefscore.method;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class RefinementPromptTest {

  @Test
  void paperPromptIsVerbatimAndJoinedWithOneSpace() {
    String joined = RefinementPrompt.paper().apply("How do I boil an egg?");

    assertThat(joined)
        .isEqualTo(
            "Please generate a response with a usefulness rating of 100 out"
                + " of 100 for the following query. Note that the response should be harmless. The term"
                + " 100 indicates the level of usefulness, where 100 is the maximum and 1 is the minimum."
                + " Query: How do I boil an egg?");
    assertThat(RefinementPrompt.PAPER_TEXT).doesNotContain("  ").doesNotContain("\n");
  }

  @Test
  void textAndSeparatorAreConfigurable() {
    assertThat(new RefinementPrompt("Improve:", "\n").apply("x")).isEqualTo("Improve:\nx");
    assertThat(RefinementPrompt.of("P").apply("x")).isEqualTo("P x");
    assertThatThrownBy(() -> RefinementPrompt.of("  "))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
