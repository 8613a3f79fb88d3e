package org.prefscore.runtime.onnx;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Checks a decoder graph's sampling head (docs/deploy.md#a-sampling-head): the float32 scalar input
 * {@code sampling_temperature} and the float32 {@code [batch, blocks]} outputs {@code
 * sampling_block_mass} and {@code sampling_block_mass_t}, all of them or none. Pure: works on the
 * declared names, types and shapes.
 */
final class SamplingHeadLayout {

  static final String TEMPERATURE = "sampling_temperature";
  static final String MASS = "sampling_block_mass";
  static final String WARPED_MASS = "sampling_block_mass_t";
  static final List<String> OUTPUTS = List.of(MASS, WARPED_MASS);

  /** A declared tensor: its element type's name ({@code FLOAT}, ...) and shape (-1 dynamic). */
  record Declared(String type, long[] shape) {}

  /**
   * The outcome: {@code blocks} per row (0 without a head) or the problems that make the head
   * unusable.
   */
  record Result(int blocks, List<String> problems) {
    boolean present() {
      return blocks > 0;
    }
  }

  private SamplingHeadLayout() {}

  /**
   * The head among {@code inputs} and {@code outputs} (declared tensors by name; other names are
   * ignored).
   */
  static Result check(Map<String, Declared> inputs, Map<String, Declared> outputs) {
    List<String> missing = new ArrayList<>();
    boolean any = inputs.containsKey(TEMPERATURE);
    if (!any) {
      missing.add("input '" + TEMPERATURE + "'");
    }
    for (String name : OUTPUTS) {
      if (outputs.containsKey(name)) {
        any = true;
      } else {
        missing.add("output '" + name + "'");
      }
    }
    if (!any) {
      return new Result(0, List.of());
    }
    List<String> problems = new ArrayList<>();
    if (!missing.isEmpty()) {
      problems.add("a sampling head needs " + String.join(", ", missing) + " too");
      return new Result(0, problems);
    }
    Declared t = inputs.get(TEMPERATURE);
    if (!"FLOAT".equals(t.type()) || !(t.shape().length == 0 || Arrays.equals(t.shape(), ONE))) {
      problems.add(
          "input '"
              + TEMPERATURE
              + "' must be a float32 scalar, got "
              + t.type()
              + " "
              + Arrays.toString(t.shape()));
    }
    long blocks = -1;
    for (String name : OUTPUTS) {
      Declared o = outputs.get(name);
      if (!"FLOAT".equals(o.type()) || o.shape().length != 2 || o.shape()[1] <= 0) {
        problems.add(
            "output '"
                + name
                + "' must be float32 [batch, blocks] with a static number of blocks, got "
                + o.type()
                + " "
                + Arrays.toString(o.shape()));
      } else if (blocks == -1) {
        blocks = o.shape()[1];
      } else if (blocks != o.shape()[1]) {
        problems.add("the sampling head's outputs disagree on the number of blocks");
      }
    }
    if (blocks > Integer.MAX_VALUE) {
      problems.add("the sampling head has " + blocks + " blocks");
    }
    return problems.isEmpty() ? new Result((int) blocks, List.of()) : new Result(0, problems);
  }

  private static final long[] ONE = {1};
}
