package org.prefscore.spark;

import java.io.Serializable;
import java.util.List;
import org.prefscore.runtime.decode.SamplingConfig;

/**
 * The serializable form of {@link SamplingConfig} that travels in closures; {@link #toConfig}
 * rebuilds (and re-validates) it on the executor.
 */
public record SamplingSettings(
    int samplesPerPrompt,
    double temperature,
    int topK,
    double topP,
    int maxNewTokens,
    List<String> stopStrings)
    implements Serializable {

  public SamplingSettings {
    stopStrings = List.copyOf(stopStrings);
  }

  public static SamplingSettings of(SamplingConfig config) {
    return new SamplingSettings(
        config.samplesPerPrompt(),
        config.temperature(),
        config.topK(),
        config.topP(),
        config.maxNewTokens(),
        config.stopStrings());
  }

  public SamplingConfig toConfig() {
    return new SamplingConfig(samplesPerPrompt, temperature, topK, topP, maxNewTokens, stopStrings);
  }
}
