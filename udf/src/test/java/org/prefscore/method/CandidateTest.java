package org.prefscore.method;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class CandidateTest {

  @Test
  void acceptsAValidCandidate() {
    Candidate c = new Candidate("p1", 0, 42L, "", -0.5, 0.0, 0);
    assertThat(c.text()).isEmpty();
    assertThat(c.policyLogprob()).isZero();
  }

  @Test
  void rejectsNanReward() {
    assertThatThrownBy(() -> new Candidate("p1", 0, 1L, "y", Double.NaN, -1.0, 3))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("reward must be finite");
  }

  @Test
  void listsEveryViolationInOneMessage() {
    assertThatThrownBy(() -> new Candidate(" ", -1, 1L, null, Double.POSITIVE_INFINITY, 0.5, -2))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("promptId must be non-blank")
        .hasMessageContaining("sampleIndex must be >= 0")
        .hasMessageContaining("text must be non-null")
        .hasMessageContaining("reward must be finite")
        .hasMessageContaining("policyLogprob")
        .hasMessageContaining("responseTokens must be >= 0");
  }

  @Test
  void rejectsNonFiniteLogprob() {
    assertThatThrownBy(() -> new Candidate("p1", 0, 1L, "y", 0.0, Double.NEGATIVE_INFINITY, 3))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("policyLogprob");
    assertThatThrownBy(() -> new Candidate("p1", 0, 1L, "y", 0.0, Double.NaN, 3))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("policyLogprob");
  }
}
