package org.prefscore.job.report;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.prefscore.job.Mode;
import org.prefscore.job.TestSupport;
import org.prefscore.job.config.PipelineConfig;
import org.prefscore.job.config.ResolvedConfig;
import org.prefscore.job.io.ModelFingerprint;

/**
 * The manifest's model fingerprints cover every file that changes behaviour: a changed chat
 * template (tokenizer_config.json) changes the fingerprint the manifest records. No Spark.
 */
class RunManifestModelsTest {

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

  private static JsonNode models(Path policy) {
    PipelineConfig config =
        PipelineConfig.from(
            Mode.WEST_OF_N,
            ResolvedConfig.resolve(
                null,
                List.of(
                    "input.path=in.jsonl",
                    "output.path=out",
                    "models.policy=" + policy,
                    "models.reward=" + TestSupport.model("tiny-reward"))));
    return RunManifest.models(config, null);
  }

  @Test
  void everyFileThatChangesBehaviourIsFingerprinted() throws IOException {
    Path policy = copyOf("tiny-llama");
    JsonNode p = models(policy).path("policy");
    assertThat(p.path("path").asText()).isEqualTo(policy.toString());
    for (String file :
        List.of(
            "config.json",
            "generation_config.json",
            "tokenizer_config.json",
            "tokenizer.json",
            "model.onnx")) {
      assertThat(p.path(file.replace('.', '_') + "_sha256").asText())
          .as(file)
          .isEqualTo(ModelFingerprint.sha256(policy.resolve(file)));
    }
    assertThat(p.path("fingerprint_sha256").asText())
        .isEqualTo(ModelFingerprint.of(policy.toString()).sha256())
        .hasSize(64);
    // policy = reference in west-of-n without models.reference: the same fingerprint.
    assertThat(models(policy).path("reference")).isEqualTo(p);
  }

  @Test
  void changingTheChatTemplateChangesTheManifestsFingerprint() throws IOException {
    Path policy = copyOf("tiny-llama");
    JsonNode before = models(policy).path("policy");
    Path config = policy.resolve("tokenizer_config.json");
    String text = Files.readString(config);
    assertThat(text).contains("<|im_start|>assistant");
    Files.writeString(config, text.replace("<|im_start|>assistant", "<|im_start|>bot"));
    JsonNode after = models(policy).path("policy");
    assertThat(after.path("tokenizer_config_json_sha256"))
        .isNotEqualTo(before.path("tokenizer_config_json_sha256"));
    assertThat(after.path("fingerprint_sha256")).isNotEqualTo(before.path("fingerprint_sha256"));
    assertThat(after.path("model_onnx_sha256")).isEqualTo(before.path("model_onnx_sha256"));
    assertThat(after.path("tokenizer_json_sha256")).isEqualTo(before.path("tokenizer_json_sha256"));
  }

  @Test
  void anAbsentOptionalFileIsRecordedAsNullAndChangesTheFingerprint() throws IOException {
    Path policy = copyOf("tiny-llama");
    JsonNode with = models(policy).path("policy");
    Files.delete(policy.resolve("generation_config.json"));
    JsonNode without = models(policy).path("policy");
    assertThat(without.has("generation_config_json_sha256")).isTrue();
    assertThat(without.path("generation_config_json_sha256").isNull()).isTrue();
    assertThat(without.path("fingerprint_sha256")).isNotEqualTo(with.path("fingerprint_sha256"));
  }
}
