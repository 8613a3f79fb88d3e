package org.prefscore.job.io;

import static org.assertj.core.api.Assertions.assertThat;

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
  void bothExporterNamingsAreRecognised() {
    assertThat(ModelFingerprint.isExternalData("model.onnx_data")).isTrue();
    assertThat(ModelFingerprint.isExternalData("model.onnx.data")).isTrue();
    assertThat(ModelFingerprint.isExternalData("model.onnx")).isFalse();
    assertThat(ModelFingerprint.isExternalData("model.safetensors")).isFalse();
  }
}
