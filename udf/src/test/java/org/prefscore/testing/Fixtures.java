package org.prefscore.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.prefscore.runtime.EngineOptions;
import org.prefscore.runtime.LanguageModel;
import org.prefscore.runtime.ModelLoader;
import org.prefscore.runtime.ModelSpec;
import org.prefscore.runtime.RewardModel;

/**
 * Locates the repository, the committed fixture models and their golden values (see
 * fixtures/README.md): the one test helper for such paths, shared with spark-jobs' tests through
 * this module's test jar.
 */
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

  /** The repository root: the folder that holds fixtures/ (and README.md, spark-jobs/, ...). */
  public static Path repoRoot() {
    return root().toAbsolutePath().getParent();
  }

  /** A fixture model's directory. */
  public static Path model(String name) {
    return root().resolve("models").resolve(name);
  }

  /** A golden-values file of fixtures/golden, parsed. */
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

  /**
   * Adds a special token with {@code id} to the tokenizer.json of the model directory {@code dir}
   * (a copy: fixtures are never changed), as a tokenizer from another model would have it.
   */
  public static void addSpecialToken(Path dir, long id, String content) {
    try {
      Path file = dir.resolve("tokenizer.json");
      com.fasterxml.jackson.databind.node.ObjectNode tokenizer =
          (com.fasterxml.jackson.databind.node.ObjectNode) JSON.readTree(file.toFile());
      com.fasterxml.jackson.databind.node.ObjectNode extra = JSON.createObjectNode();
      extra.put("id", id);
      extra.put("content", content);
      extra.put("single_word", false);
      extra.put("lstrip", false);
      extra.put("rstrip", false);
      extra.put("normalized", false);
      extra.put("special", true);
      ((com.fasterxml.jackson.databind.node.ArrayNode) tokenizer.get("added_tokens")).add(extra);
      JSON.writeValue(file.toFile(), tokenizer);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Tolerance for comparing two sums of teacher-forced log-probs of the same request scored in
   * different batch layouts (other batch mates, left padding, a cached continuation, chunks of
   * positions): 1e-5, or 2e-7 of the value when larger. The engine's logits are float32 and move in
   * their last bits with the layout; measured up to 1.3e-7 of the sum
   * (SequenceScorerPrefillOnceTest).
   */
  public static double logprobTolerance(double value) {
    return Math.max(1e-5, 2e-7 * Math.abs(value));
  }

  /** Loads a fixture decoder on CPU with one intra-op thread; the caller closes it. */
  public static LanguageModel decoder(String name) {
    return ModelLoader.loadDecoder(ModelSpec.decoder(model(name).toString(), EngineOptions.cpu(1)));
  }

  /** Loads the fixture reward model; the caller closes it. */
  public static RewardModel reward() {
    return ModelLoader.loadReward(ModelSpec.reward(model(REWARD).toString(), EngineOptions.cpu(1)));
  }
}
