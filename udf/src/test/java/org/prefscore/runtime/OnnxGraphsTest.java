package org.prefscore.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The rule that picks a model directory's graph, on directory listings. */
class OnnxGraphsTest {

  private static final List<String> HUB =
      List.of(
          "config.json",
          "tokenizer.json",
          "onnx/model.onnx",
          "onnx/model_fp16.onnx",
          "onnx/model_fp16.onnx_data",
          "onnx/model_quantized.onnx",
          "onnx/model_q4.onnx",
          "onnx/old/model.onnx",
          "README.md");

  @Test
  void theOnlyGraphAtTheTopOrUnderOnnxIsUsed() {
    assertThat(OnnxGraphs.choose(List.of("config.json", "model.onnx"), "")).isEqualTo("model.onnx");
    assertThat(OnnxGraphs.choose(List.of("config.json", "onnx/model.onnx"), ""))
        .isEqualTo("onnx/model.onnx");
    assertThat(OnnxGraphs.choose(List.of("model.onnx", "model.onnx_data"), null))
        .isEqualTo("model.onnx");
  }

  @Test
  void severalGraphsAndNoneChosenIsAnErrorListingThem() {
    assertThatThrownBy(() -> OnnxGraphs.choose(HUB, ""))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(
            "has 4 ONNX graphs [onnx/model.onnx, onnx/model_fp16.onnx, onnx/model_q4.onnx,"
                + " onnx/model_quantized.onnx]")
        .hasMessageContaining("models.<model>.onnx-file");
  }

  @Test
  void noGraphIsAnError() {
    assertThatThrownBy(() -> OnnxGraphs.choose(List.of("config.json", "onnx/old/model.onnx"), ""))
        .hasMessage("has no ONNX graph: no *.onnx file at the top or under onnx/");
  }

  @Test
  void aGraphIsChosenByPathOrByFileName() {
    assertThat(OnnxGraphs.choose(HUB, "onnx/model_fp16.onnx")).isEqualTo("onnx/model_fp16.onnx");
    assertThat(OnnxGraphs.choose(HUB, "model_fp16.onnx")).isEqualTo("onnx/model_fp16.onnx");
    assertThat(OnnxGraphs.choose(HUB, " model_q4.onnx ")).isEqualTo("onnx/model_q4.onnx");
    // A file name at the top is that file, before one of the same name under onnx/.
    List<String> both = List.of("model.onnx", "onnx/model.onnx");
    assertThat(OnnxGraphs.choose(both, "model.onnx")).isEqualTo("model.onnx");
    assertThat(OnnxGraphs.choose(both, "onnx/model.onnx")).isEqualTo("onnx/model.onnx");
  }

  @Test
  void aChoiceThatIsNoGraphOfTheDirectoryIsRefusedWithTheGraphsListed() {
    assertThatThrownBy(() -> OnnxGraphs.choose(HUB, "model_int4.onnx"))
        .hasMessageContaining("has no ONNX graph 'model_int4.onnx'")
        .hasMessageContaining("onnx/model_fp16.onnx");
    // Deeper folders are not graph locations.
    assertThatThrownBy(() -> OnnxGraphs.choose(HUB, "onnx/old/model.onnx"))
        .hasMessageContaining("has no ONNX graph 'onnx/old/model.onnx'");
    for (String bad :
        List.of(
            "../model.onnx", "/etc/model.onnx", "onnx/../model.onnx", "config.json", "a\\b.onnx")) {
      assertThatThrownBy(() -> OnnxGraphs.choose(HUB, bad))
          .as(bad)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("must be a *.onnx file at the top or under onnx/");
    }
  }

  @Test
  void externalDataLiesBesideItsGraphNamedAfterIt() {
    assertThat(OnnxGraphs.isExternalDataOf("model.onnx", "model.onnx_data")).isTrue();
    assertThat(OnnxGraphs.isExternalDataOf("model.onnx", "model.onnx.data")).isTrue();
    assertThat(OnnxGraphs.isExternalDataOf("model.onnx", "model.onnx_data_1")).isTrue();
    assertThat(OnnxGraphs.isExternalDataOf("onnx/model_fp16.onnx", "onnx/model_fp16.onnx_data"))
        .isTrue();
    assertThat(OnnxGraphs.isExternalDataOf("onnx/model.onnx", "onnx/model_fp16.onnx_data"))
        .isFalse();
    assertThat(OnnxGraphs.isExternalDataOf("onnx/model.onnx", "model.onnx_data")).isFalse();
    assertThat(OnnxGraphs.isExternalDataOf("model.onnx", "model.onnx")).isFalse();
    assertThat(OnnxGraphs.isExternalDataOf("model.onnx", "model.safetensors")).isFalse();
  }
}
