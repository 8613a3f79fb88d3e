package org.prefscore.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.prefscore.executor.ExecutorRegistry;
import org.prefscore.testing.Fixtures;

/** Broken model directories fail with a message naming the file and the mismatch. */
class ModelLoadingTest {

  @TempDir Path temp;

  private Path copyOf(String fixture) throws IOException {
    Path target = temp.resolve(fixture);
    Files.createDirectories(target);
    try (Stream<Path> files = Files.list(Fixtures.model(fixture))) {
      for (Path f : files.toList()) {
        Files.copy(f, target.resolve(f.getFileName()));
      }
    }
    return target;
  }

  private static LanguageModel loadDecoder(Path dir) {
    return ModelLoader.loadDecoder(ModelSpec.decoder(dir.toString(), EngineOptions.cpu(1)));
  }

  @Test
  void missingTokenizerIsNamed() throws IOException {
    Path dir = copyOf("tiny-gpt2");
    Files.delete(dir.resolve("tokenizer.json"));
    assertThatThrownBy(() -> loadDecoder(dir))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageContaining("tokenizer.json")
        .hasMessageContaining("missing tokenizer");
  }

  @Test
  void graphWithoutPastInputsIsRefused() throws IOException {
    Path dir = copyOf("tiny-gpt2");
    Files.copy(
        Fixtures.model(Fixtures.REWARD).resolve("model.onnx"),
        dir.resolve("model.onnx"),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    assertThatThrownBy(() -> loadDecoder(dir))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageContaining("model.onnx")
        .hasMessageContaining("no past_key_values");
  }

  @Test
  void decoderGraphIsNotAReward() throws IOException {
    Path dir = copyOf(Fixtures.REWARD);
    Files.copy(
        Fixtures.model("tiny-gpt2").resolve("model.onnx"),
        dir.resolve("model.onnx"),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    assertThatThrownBy(
            () -> ModelLoader.loadReward(ModelSpec.reward(dir.toString(), EngineOptions.cpu(1))))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageContaining("model.onnx")
        .hasMessageContaining("unexpected inputs");
  }

  @Test
  void tokenizerLargerThanLogitsIsRefused() throws IOException {
    Path dir = copyOf("tiny-gpt2");
    Fixtures.addSpecialToken(dir, 100_000, "<|extra|>");
    assertThatThrownBy(() -> loadDecoder(dir))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageContaining("tokenizer.json")
        .hasMessageContaining("100001 ids")
        .hasMessageContaining("logits");
  }

  @Test
  void missingDirectoryAndConfigAreNamed() throws IOException {
    assertThatThrownBy(() -> ModelFiles.read(temp.resolve("nope")))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageContaining("does not exist");
    Path dir = copyOf("tiny-gpt2");
    Files.delete(dir.resolve("config.json"));
    assertThatThrownBy(() -> ModelFiles.read(dir))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageContaining("config.json");
  }

  @Test
  void registryLoadsOncePerSpec() {
    ModelSpec spec =
        ModelSpec.decoder(Fixtures.model("tiny-gpt2").toString(), EngineOptions.cpu(1));
    LanguageModel first = ExecutorRegistry.instance().decoder(spec);
    assertThat(ExecutorRegistry.instance().decoder(spec)).isSameAs(first);
  }
}
