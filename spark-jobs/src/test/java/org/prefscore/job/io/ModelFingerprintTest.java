package org.prefscore.job.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.prefscore.job.TestSupport;

/**
 * A model directory's fingerprint covers every file that changes behaviour (config, generation
 * config, tokenizer config, tokenizer, graph), and the weights wherever the export put them: inside
 * model.onnx, or in external-data files beside it (graphs over 2 GB), which is where two
 * checkpoints of one architecture differ.
 */
class ModelFingerprintTest {

  @TempDir Path tmp;

  private Path copyOf(String model) throws IOException {
    Path dir = tmp.resolve(model);
    Files.createDirectories(dir);
    try (Stream<Path> files = Files.list(Path.of(TestSupport.model(model)))) {
      for (Path f : files.toList()) {
        Files.copy(f, dir.resolve(f.getFileName()));
      }
    }
    return dir;
  }

  @Test
  void weightsInsideTheGraphNeedNoExternalDataEntry() throws IOException {
    Path dir = copyOf("tiny-gpt2");
    ModelFingerprint f = ModelFingerprint.of(dir.toString());
    assertThat(f.externalDataSha256()).isEmpty();
    assertThat(f.modelOnnxSha256()).isEqualTo(ModelFingerprint.sha256(dir.resolve("model.onnx")));
    assertThat(f.tokenizerJsonSha256())
        .isEqualTo(ModelFingerprint.sha256(dir.resolve("tokenizer.json")));
  }

  @Test
  void externalDataFilesAreFingerprintedSoOtherWeightsGiveAnotherFingerprint() throws IOException {
    Path dir = copyOf("tiny-gpt2");
    Files.writeString(dir.resolve("model.onnx_data"), "weights of checkpoint A");
    Files.writeString(dir.resolve("notes.txt"), "not tensor data");
    ModelFingerprint a = ModelFingerprint.of(dir.toString());
    assertThat(a.externalDataSha256()).containsOnlyKeys("model.onnx_data");
    assertThat(a.externalDataSha256().get("model.onnx_data"))
        .isEqualTo(ModelFingerprint.sha256(dir.resolve("model.onnx_data")));

    Files.writeString(dir.resolve("model.onnx_data"), "weights of checkpoint B");
    ModelFingerprint b = ModelFingerprint.of(dir.toString());
    assertThat(b.modelOnnxSha256()).isEqualTo(a.modelOnnxSha256());
    assertThat(b.externalDataSha256()).isNotEqualTo(a.externalDataSha256());
    assertThat(b).isNotEqualTo(a);
  }

  @Test
  void configGenerationConfigAndTokenizerConfigAreFingerprintedToo() throws IOException {
    Path dir = copyOf("tiny-gpt2");
    ModelFingerprint a = ModelFingerprint.of(dir.toString());
    assertThat(a.files())
        .containsOnlyKeys(
            "config.json",
            "generation_config.json",
            "tokenizer_config.json",
            "tokenizer.json",
            "model.onnx");
    for (String file : List.of("config.json", "generation_config.json", "tokenizer_config.json")) {
      Path f = dir.resolve(file);
      String before = Files.readString(f);
      Files.writeString(f, before.replaceFirst("\\{", "{\"edited\": true, "));
      ModelFingerprint b = ModelFingerprint.of(dir.toString());
      assertThat(b.files().get(file)).as(file).isNotEqualTo(a.files().get(file));
      assertThat(b.sha256()).as(file).isNotEqualTo(a.sha256());
      Files.writeString(f, before);
      assertThat(ModelFingerprint.of(dir.toString()).sha256()).isEqualTo(a.sha256());
    }
  }

  @Test
  void bothExporterNamingsAreRecognised() throws IOException {
    Path dir = copyOf("tiny-gpt2");
    Files.writeString(dir.resolve("model.onnx.data"), "torch's naming");
    Files.writeString(dir.resolve("other.onnx_data"), "data of another graph");
    assertThat(ModelFingerprint.of(dir.toString()).externalDataSha256())
        .containsOnlyKeys("model.onnx.data");
  }

  /**
   * A Hub layout with several graphs under onnx/: the fingerprint covers the chosen graph and its
   * external data, not the graphs that are not run; choosing another graph changes it.
   */
  @Test
  void aHubLayoutIsFingerprintedByTheChosenGraphAndItsExternalData() throws IOException {
    Path dir = tmp.resolve("hub");
    Path llama = Path.of(TestSupport.model("tiny-llama"));
    Path dtypes = Path.of(TestSupport.model("tiny-llama-dtypes"));
    Files.createDirectories(dir.resolve("onnx"));
    for (String f : List.of("config.json", "tokenizer.json", "tokenizer_config.json")) {
      Files.copy(llama.resolve(f), dir.resolve(f));
    }
    Files.copy(llama.resolve("model.onnx"), dir.resolve("onnx/model.onnx"));
    for (String f : List.of("model_fp16.onnx", "model_fp16.onnx_data", "model_int8.onnx")) {
      Files.copy(dtypes.resolve("onnx").resolve(f), dir.resolve("onnx").resolve(f));
    }
    assertThatThrownBy(() -> ModelFingerprint.of(dir.toString()))
        .hasMessageContaining("has 3 ONNX graphs");
    ModelFingerprint fp16 = ModelFingerprint.of(dir.toString(), "model_fp16.onnx", null);
    assertThat(fp16.graph()).isEqualTo("onnx/model_fp16.onnx");
    assertThat(fp16.files())
        .containsOnlyKeys(
            "config.json",
            "tokenizer.json",
            "tokenizer_config.json",
            "onnx/model_fp16.onnx",
            "onnx/model_fp16.onnx_data");
    assertThat(fp16.modelOnnxSha256())
        .isEqualTo(ModelFingerprint.sha256(dir.resolve("onnx/model_fp16.onnx")));
    assertThat(fp16.externalDataSha256())
        .containsExactly(
            java.util.Map.entry(
                "onnx/model_fp16.onnx_data",
                ModelFingerprint.sha256(dir.resolve("onnx/model_fp16.onnx_data"))));
    ModelFingerprint int8 = ModelFingerprint.of(dir.toString(), "onnx/model_int8.onnx", null);
    assertThat(int8.externalDataSha256()).isEmpty();
    assertThat(int8.sha256()).isNotEqualTo(fp16.sha256());

    // Other weights in the chosen graph's external data: another fingerprint.
    Files.writeString(dir.resolve("onnx/model_fp16.onnx_data"), "other weights");
    String otherWeights = ModelFingerprint.of(dir.toString(), "model_fp16.onnx", null).sha256();
    assertThat(otherWeights).isNotEqualTo(fp16.sha256());
    // A graph that is not run does not count.
    Files.writeString(dir.resolve("onnx/model_int8.onnx"), "edited");
    assertThat(ModelFingerprint.of(dir.toString(), "model_fp16.onnx", null).sha256())
        .isEqualTo(otherWeights);
  }
}
