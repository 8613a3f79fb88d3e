package org.prefscore.runtime.decode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class SamplingConfigTest {

  @Test
  void listsEveryViolationInOneMessage() {
    assertThatThrownBy(() -> new SamplingConfig(0, -1, -2, 1.5, 0, List.of("")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("samplesPerPrompt")
        .hasMessageContaining("temperature")
        .hasMessageContaining("topK")
        .hasMessageContaining("topP")
        .hasMessageContaining("maxNewTokens")
        .hasMessageContaining("stopStrings");
  }

  @Test
  void paperDefaults() {
    SamplingConfig c = SamplingConfig.westOfNDefaults();
    assertThat(c.samplesPerPrompt()).isEqualTo(64);
    assertThat(c.temperature()).isEqualTo(0.7);
    assertThat(c.maxNewTokens()).isEqualTo(128);
    assertThat(c.isGreedy()).isFalse();
    assertThat(SamplingConfig.greedy(5).isGreedy()).isTrue();
  }

  @Test
  void theWholeDistributionUnlessTopPOrATopKShortOfTheVocabulary() {
    List<String> none = List.of();
    assertThat(new SamplingConfig(4, 0.7, 0, 1.0, 8, none).drawsFromWholeDistribution(961))
        .isTrue();
    assertThat(new SamplingConfig(4, 0.7, 961, 1.0, 8, none).drawsFromWholeDistribution(961))
        .isTrue();
    assertThat(new SamplingConfig(4, 0.7, 960, 1.0, 8, none).drawsFromWholeDistribution(961))
        .isFalse();
    assertThat(new SamplingConfig(4, 0.7, 0, 0.9, 8, none).drawsFromWholeDistribution(961))
        .isFalse();
  }
}
