package org.prefscore.runtime.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.prefscore.runtime.EngineOptions;
import org.prefscore.runtime.LanguageModel;
import org.prefscore.runtime.ModelLoader;
import org.prefscore.runtime.ModelSpec;
import org.prefscore.runtime.RewardModel;
import org.prefscore.runtime.decode.GenerationOptions;
import org.prefscore.runtime.decode.SampleGenerator;
import org.prefscore.runtime.decode.SamplingConfig;
import org.prefscore.runtime.score.RewardScorer;
import org.prefscore.testing.Fixtures;

/**
 * {@code useCuda=true} where CUDA is unavailable (this build's CPU-only onnxruntime jar, or the GPU
 * jar on a machine without a GPU or CUDA libraries): the graph loads on CPU, the fallback is logged
 * at WARN, and results equal a plain CPU load. (slf4j-simple writes to System.err, captured here.)
 */
class CudaFallbackTest {

  private static final EngineOptions CUDA = new EngineOptions(true, 0, 1, 1);

  @Test
  void sessionsFallBackToCpuWithALogLine() {
    Captured<OrtSessions.Opened> c =
        captureStderr(
            () -> OrtSessions.open(Fixtures.model("tiny-gpt2").resolve("model.onnx"), CUDA));
    try {
      assertThat(c.value().onCuda()).isFalse();
      assertThat(c.stderr())
          .contains("WARN")
          .contains("CUDA execution provider unavailable for GPU 0")
          .contains("on CPU");
    } finally {
      c.value().block().close();
      c.value().manager().close();
    }
  }

  @Test
  void aDecoderAndARewardModelAskedForCudaGiveTheCpuResults() {
    SamplingConfig greedy = new SamplingConfig(2, 0.0, 0, 1.0, 8, List.of());
    List<SampleGenerator.Request> prompts =
        List.of(new SampleGenerator.Request("a", "The quick brown fox"));
    String dir = Fixtures.model("tiny-llama").toString();
    Captured<LanguageModel> onCuda =
        captureStderr(() -> ModelLoader.loadDecoder(ModelSpec.decoder(dir, CUDA)));
    try (LanguageModel cuda = onCuda.value();
        LanguageModel cpu = ModelLoader.loadDecoder(ModelSpec.decoder(dir, EngineOptions.cpu(1)))) {
      assertThat(onCuda.stderr()).contains("CUDA execution provider unavailable");
      SampleGenerator.Sample a =
          new SampleGenerator(cuda, greedy, GenerationOptions.of(10_000))
              .generate(prompts, 1L)
              .get(0)
              .samples()
              .get(0);
      SampleGenerator.Sample b =
          new SampleGenerator(cpu, greedy, GenerationOptions.of(10_000))
              .generate(prompts, 1L)
              .get(0)
              .samples()
              .get(0);
      assertThat(a.tokenIds()).isEqualTo(b.tokenIds());
      assertThat(a.logprob()).isEqualTo(b.logprob());
    }
    String reward = Fixtures.model(Fixtures.REWARD).toString();
    try (RewardModel cuda = ModelLoader.loadReward(ModelSpec.reward(reward, CUDA));
        RewardModel cpu = ModelLoader.loadReward(ModelSpec.reward(reward, EngineOptions.cpu(1)))) {
      double r1 =
          new RewardScorer(cuda, 10_000)
              .scorePairs(List.of("Hi"), List.of("there"))
              .get(0)
              .reward();
      double r2 =
          new RewardScorer(cpu, 10_000).scorePairs(List.of("Hi"), List.of("there")).get(0).reward();
      assertThat(r1).isEqualTo(r2);
    }
  }

  record Captured<T>(T value, String stderr) {}

  static <T> Captured<T> captureStderr(Supplier<T> action) {
    PrintStream original = System.err;
    ByteArrayOutputStream buffer = new ByteArrayOutputStream();
    PrintStream tee = new PrintStream(buffer, true, StandardCharsets.UTF_8);
    System.setErr(tee);
    try {
      T value = action.get();
      tee.flush();
      return new Captured<>(value, buffer.toString(StandardCharsets.UTF_8));
    } finally {
      System.setErr(original);
      original.print(buffer.toString(StandardCharsets.UTF_8));
    }
  }
}
