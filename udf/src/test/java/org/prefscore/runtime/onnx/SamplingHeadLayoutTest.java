package org.prefscore.runtime.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.prefscore.runtime.onnx.SamplingHeadLayout.Declared;

/** A graph's sampling head is all of its tensors, with their types and shapes, or none. */
class SamplingHeadLayoutTest {

  private static final Declared SCALAR = new Declared("FLOAT", new long[0]);
  private static final Declared MASSES = new Declared("FLOAT", new long[] {-1, 31});

  private static Map<String, Declared> inputs(Declared temperature) {
    Map<String, Declared> in = new HashMap<>();
    in.put("input_ids", new Declared("INT64", new long[] {-1, -1}));
    if (temperature != null) {
      in.put(SamplingHeadLayout.TEMPERATURE, temperature);
    }
    return in;
  }

  private static Map<String, Declared> outputs(Declared mass, Declared warped) {
    Map<String, Declared> out = new HashMap<>();
    out.put("logits", new Declared("FLOAT", new long[] {-1, -1, 961}));
    if (mass != null) {
      out.put(SamplingHeadLayout.MASS, mass);
    }
    if (warped != null) {
      out.put(SamplingHeadLayout.WARPED_MASS, warped);
    }
    return out;
  }

  @Test
  void aGraphWithoutAHeadHasNone() {
    SamplingHeadLayout.Result r = SamplingHeadLayout.check(inputs(null), outputs(null, null));
    assertThat(r.present()).isFalse();
    assertThat(r.problems()).isEmpty();
  }

  @Test
  void aCompleteHeadGivesItsBlocks() {
    SamplingHeadLayout.Result r = SamplingHeadLayout.check(inputs(SCALAR), outputs(MASSES, MASSES));
    assertThat(r.present()).isTrue();
    assertThat(r.blocks()).isEqualTo(31);
    assertThat(r.problems()).isEmpty();
    // A one-element temperature is a scalar too.
    assertThat(
            SamplingHeadLayout.check(
                    inputs(new Declared("FLOAT", new long[] {1})), outputs(MASSES, MASSES))
                .blocks())
        .isEqualTo(31);
  }

  @Test
  void aPartialHeadNamesWhatIsMissing() {
    SamplingHeadLayout.Result r = SamplingHeadLayout.check(inputs(SCALAR), outputs(MASSES, null));
    assertThat(r.present()).isFalse();
    assertThat(r.problems())
        .singleElement()
        .asString()
        .contains("needs output 'sampling_block_mass_t'");
    assertThat(SamplingHeadLayout.check(inputs(null), outputs(MASSES, MASSES)).problems())
        .singleElement()
        .asString()
        .contains("needs input 'sampling_temperature'");
  }

  @Test
  void wrongTypesAndShapesAreRefused() {
    SamplingHeadLayout.Result r =
        SamplingHeadLayout.check(
            inputs(new Declared("DOUBLE", new long[0])),
            outputs(
                new Declared("FLOAT16", new long[] {-1, 31}),
                new Declared("FLOAT", new long[] {-1, -1})));
    assertThat(r.present()).isFalse();
    assertThat(String.join("\n", r.problems()))
        .contains("'sampling_temperature' must be a float32 scalar, got DOUBLE []")
        .contains("'sampling_block_mass' must be float32 [batch, blocks]")
        .contains("'sampling_block_mass_t' must be float32 [batch, blocks]");
    assertThat(
            SamplingHeadLayout.check(
                    inputs(SCALAR), outputs(MASSES, new Declared("FLOAT", new long[] {-1, 32})))
                .problems())
        .singleElement()
        .asString()
        .contains("disagree on the number of blocks");
  }
}
