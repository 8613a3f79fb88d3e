package org.prefscore.runtime;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Locates the committed fixture models and their golden values (see fixtures/README.md). */
public final class Fixtures {

  /** Decoder fixtures, one per architecture family users bring. */
  public static final List<String> DECODERS = List.of("tiny-gpt2", "tiny-pythia", "tiny-llama");

  public static final String REWARD = "tiny-reward";

  private static final ObjectMapper JSON = new ObjectMapper();

  private Fixtures() {}

  /** The fixtures folder: system property {@code prefscore.fixtures}, else found upwards. */
  public static Path root() {
    String configured = System.getProperty("prefscore.fixtures");
    if (configured != null && Files.isDirectory(Path.of(configured, "models"))) {
      return Path.of(configured);
    }
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      if (Files.isDirectory(dir.resolve("fixtures/models"))) {
        return dir.resolve("fixtures");
      }
    }
    throw new IllegalStateException("fixtures/models not found; set -Dprefscore.fixtures");
  }

  public static Path model(String name) {
    return root().resolve("models").resolve(name);
  }

  public static JsonNode golden(String name) {
    try {
      return JSON.readTree(root().resolve("golden").resolve(name + ".json").toFile());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static long[] ids(JsonNode array) {
    long[] ids = new long[array.size()];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = array.get(i).asLong();
    }
    return ids;
  }

  /** Loads a fixture decoder on CPU with one intra-op thread; the caller closes it. */
  public static LanguageModel decoder(String name) {
    return ModelRegistry.loadDecoder(
        ModelSpec.decoder(model(name).toString(), EngineOptions.cpu(1)));
  }

  /** Loads the fixture reward model; the caller closes it. */
  public static RewardModel reward() {
    return ModelRegistry.loadReward(ModelSpec.reward(model(REWARD).toString(), EngineOptions.cpu(1)));
  }
}
