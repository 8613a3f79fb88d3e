package org.prefscore.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.prefscore.runtime.score.SequenceScorer;
import org.prefscore.testing.Fixtures;

/**
 * Model directories laid out as users download them: the graph at the top or under onnx/ (the
 * Hugging Face Hub's transformers.js and Optimum repositories), several graphs side by side, the
 * weights in external-data files beside the graph. Real directories made of the committed fixtures.
 */
class ModelLayoutTest {

  private static final List<String> JSON_FILES =
      List.of("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json");

  @TempDir Path tmp;

  /** tiny-llama's JSON files at the top of a new directory. */
  private Path directory(String name) throws IOException {
    Path dir = Files.createDirectories(tmp.resolve(name));
    for (String f : JSON_FILES) {
      Files.copy(Fixtures.model("tiny-llama").resolve(f), dir.resolve(f));
    }
    return dir;
  }

  private static void put(Path from, Path to) throws IOException {
    Files.createDirectories(to.getParent());
    Files.createSymbolicLink(to, from.toAbsolutePath());
  }

  private static LanguageModel load(Path dir, String onnxFile) {
    return ModelLoader.loadDecoder(
        ModelSpec.decoder(dir.toString(), EngineOptions.cpu(1)).withOnnxFile(onnxFile));
  }

  private static float[] logprobs(LanguageModel model) {
    return new SequenceScorer(model, 4096)
        .score(List.of(SequenceScorer.Request.of("Hello there", " general Kenobi")), true)
        .get(0)
        .tokenLogprobs();
  }

  @Test
  void aGraphUnderOnnxLoadsAndGivesTheSameLogprobsAsAtTheTop() throws IOException {
    Path hub = directory("hub");
    put(Fixtures.model("tiny-llama").resolve("model.onnx"), hub.resolve("onnx/model.onnx"));
    float[] expected;
    try (LanguageModel top = Fixtures.decoder("tiny-llama")) {
      expected = logprobs(top);
    }
    try (LanguageModel model = load(hub, "")) {
      assertThat(model.files().onnxFile()).isEqualTo(hub.resolve("onnx/model.onnx"));
      assertThat(logprobs(model)).containsExactly(expected);
    }
    assertThat(ModelCheck.check(ModelSpec.decoder(hub.toString(), EngineOptions.cpu(1))).summary())
        .contains("a prefill and a decode step ran");
  }

  @Test
  void severalGraphsNeedAChoiceAndTheErrorListsThem() throws IOException {
    Path hub = directory("several");
    Path dtypes = Fixtures.model("tiny-llama-dtypes").resolve("onnx");
    put(Fixtures.model("tiny-llama").resolve("model.onnx"), hub.resolve("onnx/model.onnx"));
    put(dtypes.resolve("model_fp16.onnx"), hub.resolve("onnx/model_fp16.onnx"));
    put(dtypes.resolve("model_fp16.onnx_data"), hub.resolve("onnx/model_fp16.onnx_data"));
    put(dtypes.resolve("model_int8.onnx"), hub.resolve("onnx/model_int8.onnx"));
    assertThatThrownBy(() -> load(hub, ""))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageStartingWith(hub.toString())
        .hasMessageContaining(
            "has 3 ONNX graphs [onnx/model.onnx, onnx/model_fp16.onnx, onnx/model_int8.onnx]");
    assertThatThrownBy(
            () -> ModelCheck.check(ModelSpec.decoder(hub.toString(), EngineOptions.cpu(1))))
        .hasMessageContaining("has 3 ONNX graphs");
    try (LanguageModel fp16 = load(hub, "model_fp16.onnx");
        LanguageModel int8 = load(hub, "onnx/model_int8.onnx")) {
      assertThat(fp16.files().onnxFile()).isEqualTo(hub.resolve("onnx/model_fp16.onnx"));
      assertThat(int8.files().onnxFile()).isEqualTo(hub.resolve("onnx/model_int8.onnx"));
      assertThat(fp16.graph().toString()).contains("cache FLOAT16");
      assertThat(int8.graph().toString()).contains("cache FLOAT32");
    }
    assertThatThrownBy(() -> load(hub, "model_q4.onnx"))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageContaining("has no ONNX graph 'model_q4.onnx'")
        .hasMessageContaining("onnx/model_int8.onnx");
  }

  @Test
  void externalDataIsFoundBesideAGraphAtTheTopOrUnderOnnx() throws IOException {
    Path dtypes = Fixtures.model("tiny-llama-dtypes").resolve("onnx");
    Path top = directory("top");
    Files.copy(dtypes.resolve("model_fp16.onnx"), top.resolve("model_fp16.onnx"));
    Files.copy(dtypes.resolve("model_fp16.onnx_data"), top.resolve("model_fp16.onnx_data"));
    float[] atTop;
    try (LanguageModel model = load(top, "")) {
      atTop = logprobs(model);
    }
    try (LanguageModel model =
        ModelLoader.loadDecoder(
            ModelSpec.decoder(Fixtures.model("tiny-llama-dtypes").toString(), EngineOptions.cpu(1))
                .withOnnxFile("onnx/model_fp16.onnx"))) {
      assertThat(logprobs(model)).containsExactly(atTop);
    }
    // Without its external data the graph fails to load, naming the file.
    Files.delete(top.resolve("model_fp16.onnx_data"));
    assertThatThrownBy(() -> load(top, ""))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageStartingWith(top.resolve("model_fp16.onnx").toString())
        .hasMessageContaining("ONNX Runtime cannot load the graph");
  }
}
