package org.prefscore.runtime.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtProvider;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.prefscore.runtime.EngineOptions;
import org.prefscore.runtime.LanguageModel;
import org.prefscore.runtime.ModelLoader;
import org.prefscore.runtime.ModelSpec;
import org.prefscore.runtime.decode.GenerationOptions;
import org.prefscore.runtime.decode.SampleGenerator;
import org.prefscore.runtime.decode.SamplingConfig;
import org.prefscore.testing.Fixtures;

/**
 * On a GPU machine with the GPU build ({@code mvn -Pgpu -pl udf test -Dgroups=gpu
 * -DexcludedGroups=benchmark}): the graph really runs on ONNX Runtime's CUDA provider and gives the
 * CPU's greedy tokens. Tagged {@code gpu} (excluded by default); skips, saying why, where there is
 * no NVIDIA GPU or the onnxruntime jar has no CUDA provider.
 */
@Tag("gpu")
class CudaDeviceTest {

  @Test
  void aDecoderRunsOnTheGpuAndMatchesTheCpu() {
    assumeTrue(
        Files.exists(Path.of("/dev/nvidia0")) || Files.exists(Path.of("/proc/driver/nvidia/gpus")),
        "no NVIDIA GPU on this machine (/dev/nvidia0 missing): CUDA test skipped");
    assumeTrue(
        OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA),
        "this onnxruntime jar has no CUDA provider: build with -Pgpu (com.microsoft.onnxruntime:onnxruntime_gpu)");

    OrtSessions.Opened opened =
        OrtSessions.open(
            Fixtures.model("tiny-llama").resolve("model.onnx"), new EngineOptions(true, 0, 1, 1));
    try {
      assertThat(opened.onCuda())
          .as("session on the CUDA provider (see the WARN line if not)")
          .isTrue();
    } finally {
      opened.block().close();
      opened.manager().close();
    }
    SamplingConfig greedy = new SamplingConfig(2, 0.0, 0, 1.0, 16, List.of());
    List<SampleGenerator.Request> prompts =
        List.of(
            new SampleGenerator.Request("a", "The quick brown fox"),
            new SampleGenerator.Request("b", "List three prime numbers:"));
    String dir = Fixtures.model("tiny-llama").toString();
    try (LanguageModel gpu =
            ModelLoader.loadDecoder(ModelSpec.decoder(dir, new EngineOptions(true, 0, 1, 1)));
        LanguageModel cpu = ModelLoader.loadDecoder(ModelSpec.decoder(dir, EngineOptions.cpu(1)))) {
      var a = new SampleGenerator(gpu, greedy, GenerationOptions.of(10_000)).generate(prompts, 1L);
      var b = new SampleGenerator(cpu, greedy, GenerationOptions.of(10_000)).generate(prompts, 1L);
      for (int p = 0; p < prompts.size(); p++) {
        assertThat(a.get(p).samples().get(0).tokenIds())
            .isEqualTo(b.get(p).samples().get(0).tokenIds());
        assertThat(a.get(p).samples().get(0).logprob())
            .isCloseTo(
                b.get(p).samples().get(0).logprob(), org.assertj.core.api.Assertions.within(1e-3));
      }
    }
  }
}
