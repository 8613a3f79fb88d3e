package org.prefscore.runtime.onnx;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.prefscore.runtime.EngineOptions;
import org.prefscore.runtime.ModelLoadException;
import org.prefscore.runtime.SequenceClassifier;

/**
 * A Hugging Face sequence classifier with one logit (a reward model) exported to ONNX: inputs
 * {@code input_ids}, {@code attention_mask} (and {@code position_ids} if the export has it), output
 * {@code logits} of shape [batch, 1]. Run by DJL's OnnxRuntime engine; thread-safe.
 */
public final class OnnxSequenceClassifier implements SequenceClassifier {

  private static final Set<String> KNOWN_INPUTS =
      Set.of("input_ids", "attention_mask", "position_ids");

  private final OrtSessions.Opened graph;
  private final boolean hasPositionIds;

  private OnnxSequenceClassifier(OrtSessions.Opened graph) {
    this.graph = graph;
    this.hasPositionIds = graph.inputs().containsKey("position_ids");
  }

  /** Loads and checks {@code onnxFile}. */
  public static OnnxSequenceClassifier load(Path onnxFile, EngineOptions options) {
    OrtSessions.Opened graph = OrtSessions.open(onnxFile, options);
    List<String> problems = new ArrayList<>();
    Set<String> unexpected = new TreeSet<>(graph.inputs().keySet());
    unexpected.removeAll(KNOWN_INPUTS);
    if (!unexpected.isEmpty()) {
      problems.add("unexpected inputs " + unexpected);
    }
    for (String required : List.of("input_ids", "attention_mask")) {
      if (!graph.inputs().containsKey(required)) {
        problems.add("missing input '" + required + "'");
      }
    }
    long[] logits = OrtSessions.shape(graph.outputs(), "logits");
    if (logits == null) {
      problems.add("missing output 'logits' (outputs are " + graph.outputs().keySet() + ")");
    } else if (logits.length != 2 || (logits[1] > 0 && logits[1] != 1)) {
      problems.add(
          "output 'logits' must be [batch, 1] (a single-logit reward head), got "
              + java.util.Arrays.toString(logits));
    }
    if (!problems.isEmpty()) {
      graph.block().close();
      graph.manager().close();
      throw new ModelLoadException(
          onnxFile, "not a single-logit sequence classifier: " + String.join("; ", problems));
    }
    return new OnnxSequenceClassifier(graph);
  }

  @Override
  public float[] classify(int batch, int seqLen, long[] inputIds, long[] attentionMask) {
    try (NDManager manager = graph.manager().newSubManager()) {
      Shape shape = new Shape(batch, seqLen);
      NDList inputs = new NDList();
      inputs.add(
          named(manager.create(LongBuffer.wrap(inputIds), shape, DataType.INT64), "input_ids"));
      inputs.add(
          named(
              manager.create(LongBuffer.wrap(attentionMask), shape, DataType.INT64),
              "attention_mask"));
      if (hasPositionIds) {
        long[] positions = new long[batch * seqLen];
        for (int b = 0; b < batch; b++) {
          for (int s = 0; s < seqLen; s++) {
            positions[b * seqLen + s] = s;
          }
        }
        inputs.add(
            named(
                manager.create(LongBuffer.wrap(positions), shape, DataType.INT64), "position_ids"));
      }
      NDList outputs = graph.block().forward(new ParameterStore(manager, false), inputs, false);
      float[] logits = outputs.get("logits").toFloatArray();
      if (logits.length != batch) {
        throw new IllegalStateException(
            "reward model returned " + logits.length + " logits for " + batch + " rows");
      }
      return logits;
    }
  }

  private static NDArray named(NDArray array, String name) {
    array.setName(name);
    return array;
  }

  @Override
  public void close() {
    graph.block().close();
    graph.manager().close();
  }
}
