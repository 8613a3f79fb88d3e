package org.prefscore.runtime.decode;

import java.util.ArrayList;
import java.util.List;

/**
 * How samples are drawn. Temperature 0 means greedy decoding.
 *
 * @param samplesPerPrompt N, the number of samples drawn for every prompt
 * @param temperature softmax temperature of the sampling distribution; 0 for greedy
 * @param topK keep only the k most likely tokens; 0 disables
 * @param topP keep the smallest set of most likely tokens whose mass reaches p; 1 disables
 * @param maxNewTokens at most this many tokens per sample
 * @param stopStrings generation of a sample ends once its text contains one of these
 */
public record SamplingConfig(
    int samplesPerPrompt,
    double temperature,
    int topK,
    double topP,
    int maxNewTokens,
    List<String> stopStrings) {

  /** West-of-N paper defaults: N = 64, temperature 0.7, at most 128 new tokens. */
  public static SamplingConfig westOfNDefaults() {
    return new SamplingConfig(64, 0.7, 0, 1.0, 128, List.of());
  }

  /** Greedy decoding of one sample per prompt. */
  public static SamplingConfig greedy(int maxNewTokens) {
    return new SamplingConfig(1, 0.0, 0, 1.0, maxNewTokens, List.of());
  }

  public SamplingConfig {
    stopStrings = List.copyOf(stopStrings);
    List<String> problems = new ArrayList<>();
    if (samplesPerPrompt < 1) {
      problems.add("samplesPerPrompt must be >= 1, got " + samplesPerPrompt);
    }
    if (!(temperature >= 0) || Double.isInfinite(temperature)) {
      problems.add("temperature must be a finite number >= 0, got " + temperature);
    }
    if (topK < 0) {
      problems.add("topK must be >= 0 (0 disables), got " + topK);
    }
    if (!(topP > 0 && topP <= 1)) {
      problems.add("topP must be in (0, 1], got " + topP);
    }
    if (maxNewTokens < 1) {
      problems.add("maxNewTokens must be >= 1, got " + maxNewTokens);
    }
    if (stopStrings.stream().anyMatch(String::isEmpty)) {
      problems.add("stopStrings must not contain an empty string");
    }
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException("invalid sampling config: " + String.join("; ", problems));
    }
  }

  /** Whether tokens are chosen by argmax rather than drawn. */
  public boolean isGreedy() {
    return temperature == 0.0;
  }

  /**
   * Whether a drawn token comes from the whole warped distribution over {@code sampleableVocab}
   * ids: no top-p, and no top-k that keeps fewer ids than that (a sampling head can then serve the
   * draw; top-k and top-p need the ranks of the whole row).
   */
  public boolean drawsFromWholeDistribution(int sampleableVocab) {
    return topP >= 1.0 && (topK <= 0 || topK >= sampleableVocab);
  }

  /** A copy with another N. */
  public SamplingConfig withSamplesPerPrompt(int n) {
    return new SamplingConfig(n, temperature, topK, topP, maxNewTokens, stopStrings);
  }
}
