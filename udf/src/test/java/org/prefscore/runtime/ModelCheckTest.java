package org.prefscore.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.prefscore.testing.Fixtures;

/**
 * The driver's model check opens every fixture and refuses broken or mismatched directories built
 * from them, naming the file and the problem.
 */
class ModelCheckTest {

  private static final ObjectMapper JSON = new ObjectMapper();

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

  private static ModelCheck.Result decoder(Path dir) {
    return ModelCheck.check(ModelSpec.decoder(dir.toString(), EngineOptions.cpu(1)));
  }

  private static ModelCheck.Result reward(Path dir) {
    return ModelCheck.check(ModelSpec.reward(dir.toString(), EngineOptions.cpu(1)));
  }

  @Test
  void everyFixturePasses() {
    for (String d : Fixtures.DECODERS) {
      assertThat(decoder(Fixtures.model(d)).summary())
          .as(d)
          .startsWith("decoder ")
          .contains("a prefill and a decode step ran");
    }
    assertThat(decoder(Fixtures.model("tiny-llama")).summary())
        .contains("961 logits", "tokenizer 961 ids", "EOS [2, 960]");
    assertThat(reward(Fixtures.model(Fixtures.REWARD)).summary())
        .startsWith("reward model gpt2")
        .contains("two texts scored");
  }

  @Test
  void theSummarySaysWhetherTheGraphHasASamplingHead() {
    ModelCheck.Result plain = decoder(Fixtures.model("tiny-llama"));
    ModelCheck.Result head = decoder(Fixtures.model("tiny-llama-head"));
    assertThat(plain.summary()).doesNotContain("sampling head");
    assertThat(plain.samplingHead()).isFalse();
    assertThat(plain.logitsWidth()).isEqualTo(961);
    assertThat(head.summary()).contains("graph model.onnx with a sampling head");
    assertThat(head.samplingHead()).isTrue();
  }

  @Test
  void aLargeVocabularyWithoutAHeadOrTheVectorApiGetsAHint() {
    ModelCheck.Result plain = decoder(Fixtures.model("tiny-llama"));
    // The fixtures' 961 ids are below the width where the whole-row sampler matters.
    assertThat(ModelCheck.samplingHeadHint(plain, false)).isEmpty();
    ModelCheck.Result qwenSized = new ModelCheck.Result(plain.files(), "", 151_936, false);
    assertThat(ModelCheck.samplingHeadHint(qwenSized, false))
        .hasValueSatisfying(
            h ->
                assertThat(h)
                    .startsWith("no sampling head and no vector API: ")
                    .contains(
                        "151936 logits",
                        "--add-modules=jdk.incubator.vector",
                        "python -m prefscore_onnx.sampling_head"));
    // The JVM's vector pass does what a head does.
    assertThat(ModelCheck.samplingHeadHint(qwenSized, true)).isEmpty();
    assertThat(
            ModelCheck.samplingHeadHint(
                new ModelCheck.Result(plain.files(), "", 151_936, true), false))
        .isEmpty();
    assertThat(
            ModelCheck.samplingHeadHint(
                new ModelCheck.Result(
                    plain.files(), "", ModelCheck.SAMPLING_HEAD_HINT_WIDTH, false),
                false))
        .isPresent();
    // A check that loaded no graph knows no width: no hint.
    assertThat(ModelCheck.samplingHeadHint(new ModelCheck.Result(plain.files(), ""), false))
        .isEmpty();
  }

  @Test
  void aTruncatedGraphIsNamed() throws IOException {
    Path dir = copyOf("tiny-llama");
    byte[] graph = Files.readAllBytes(dir.resolve("model.onnx"));
    Files.write(dir.resolve("model.onnx"), Arrays.copyOf(graph, graph.length / 2));
    assertThatThrownBy(() -> decoder(dir))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageStartingWith(dir.resolve("model.onnx").toString())
        .hasMessageContaining("ONNX Runtime cannot load the graph");
  }

  @Test
  void anEmptyGraphIsNamed() throws IOException {
    Path dir = copyOf(Fixtures.REWARD);
    Files.write(dir.resolve("model.onnx"), new byte[0]);
    assertThatThrownBy(() -> reward(dir))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageStartingWith(dir.resolve("model.onnx").toString());
  }

  @Test
  void garbageConfigAndTokenizerAreNamed() throws IOException {
    Path dir = copyOf("tiny-gpt2");
    Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"gpt2\", garbage");
    assertThatThrownBy(() -> decoder(dir))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageStartingWith(dir.resolve("config.json").toString())
        .hasMessageContaining("not valid JSON");
    Path other = copyOf("tiny-pythia");
    Files.write(other.resolve("tokenizer.json"), new byte[] {0x7f, 0x45, 0x4c, 0x46, 0, 1, 2});
    assertThatThrownBy(() -> decoder(other))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageStartingWith(other.resolve("tokenizer.json").toString())
        .hasMessageContaining("not valid JSON");
  }

  @Test
  void aTokenizerOfAnotherModelIsRefusedEvenWhenItsIdsFitTheLogits() throws IOException {
    // tiny-llama's graph has 961 logits; tiny-gpt2's tokenizer has 957 ids, which fit, but
    // tiny-llama's EOS id 960 is not one of them.
    Path llama = copyOf("tiny-llama");
    Files.copy(
        Fixtures.model("tiny-gpt2").resolve("tokenizer.json"),
        llama.resolve("tokenizer.json"),
        StandardCopyOption.REPLACE_EXISTING);
    assertThatThrownBy(() -> decoder(llama))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageStartingWith(llama.resolve("generation_config.json").toString())
        .hasMessageContaining("eos_token_id 960 is not an id of tokenizer.json, which has 957 ids")
        .hasMessageContaining("the tokenizer does not belong to this model");

    // tiny-pythia (EOS 956, 1024 logits) with tiny-llama's tokenizer (961 ids): every id fits,
    // but the EOS text of tokenizer_config.json is no token of that tokenizer.
    Path pythia = copyOf("tiny-pythia");
    Files.copy(
        Fixtures.model("tiny-llama").resolve("tokenizer.json"),
        pythia.resolve("tokenizer.json"),
        StandardCopyOption.REPLACE_EXISTING);
    assertThatThrownBy(() -> decoder(pythia))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageStartingWith(pythia.resolve("tokenizer.json").toString())
        .hasMessageContaining("the EOS token '<|endoftext|>' is not one token")
        .hasMessageContaining("the model's EOS ids are [956]");
  }

  @Test
  void specialIdsOutsideTheTokenizerAndNonIntegerIdsAreNamed() throws IOException {
    Path dir = copyOf("tiny-gpt2");
    ObjectNode generation =
        (ObjectNode) JSON.readTree(dir.resolve("generation_config.json").toFile());
    generation.put("pad_token_id", 5000);
    JSON.writeValue(dir.resolve("generation_config.json").toFile(), generation);
    assertThatThrownBy(() -> decoder(dir))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageStartingWith(dir.resolve("generation_config.json").toString())
        .hasMessageContaining("pad_token_id 5000 is not an id of tokenizer.json");

    generation.put("pad_token_id", 956);
    generation.put("eos_token_id", "956");
    JSON.writeValue(dir.resolve("generation_config.json").toFile(), generation);
    assertThatThrownBy(() -> decoder(dir))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageStartingWith(dir.resolve("generation_config.json").toString())
        .hasMessageContaining("eos_token_id must be an integer id or a list of them, got \"956\"");
  }

  @Test
  void aRewardTokenizerWithIdsBeyondTheEmbeddingFailsTheProbePass() throws IOException {
    // A reward graph has one logit, so no width to compare the vocabulary with: the probe pass
    // sends the tokenizer's highest id through the embedding.
    Path dir = copyOf(Fixtures.REWARD);
    Fixtures.addSpecialToken(dir, 5000, "<|extra|>");
    assertThatThrownBy(() -> reward(dir))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageStartingWith(dir.resolve("model.onnx").toString())
        .hasMessageContaining("the tokenizer's highest id 5000");
  }
}
