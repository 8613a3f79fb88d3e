package org.prefscore.runtime.onnx;

import ai.djl.engine.EngineException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.onnxruntime.engine.OrtNDArray;
import ai.djl.onnxruntime.engine.OrtNDManager;
import ai.djl.training.ParameterStore;
import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.TensorInfo;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.prefscore.runtime.CausalLm;
import org.prefscore.runtime.DecodeSession;
import org.prefscore.runtime.DecoderSignature;
import org.prefscore.runtime.EngineOptions;
import org.prefscore.runtime.KvCache;
import org.prefscore.runtime.ModelLoadException;
import org.prefscore.runtime.SamplingHead;
import org.prefscore.runtime.StepInput;
import org.prefscore.runtime.StepOutput;

/**
 * A Hugging Face decoder exported to ONNX in the standard decoder-with-KV-cache layout (inputs
 * {@code input_ids}, {@code attention_mask}, optional {@code position_ids}, {@code
 * past_key_values.{i}.key/value}; outputs {@code logits}, {@code present.{i}.key/value}), run by
 * DJL's OnnxRuntime engine.
 *
 * <p>The layout is read from the graph at load time: number of layers, key/value heads, head size,
 * logits width, whether position ids are taken, and the element types of the KV cache and the
 * logits (float32, float16 or bfloat16: {@link FloatKind}; the cache is kept in the graph's type,
 * the logits are read as float32). Anything else fails with a message naming the file. Thread-safe:
 * each task thread opens its own {@link DecodeSession}.
 */
public final class OnnxCausalLm implements CausalLm {

  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(OnnxCausalLm.class);

  private static final Pattern PAST = Pattern.compile("past_key_values\\.(\\d+)\\.(key|value)");
  private static final Set<String> PLAIN_INPUTS =
      Set.of("input_ids", "attention_mask", "position_ids", SamplingHeadLayout.TEMPERATURE);

  /**
   * Names under which an export takes the number of last positions to compute logits for
   * (transformers' {@code logits_to_keep}; older exports {@code num_logits_to_keep}): an int64
   * scalar or one-element tensor.
   */
  static final List<String> KEEP_INPUTS = List.of("logits_to_keep", "num_logits_to_keep");

  /**
   * The largest logits tensor ONNX Runtime's Java API can hand out: its buffer's capacity is an int
   * of bytes. Callers' logits budgets keep passes below it; a pass above it is refused here with a
   * message instead of failing inside the engine ({@code capacity < 0}).
   */
  public static final long MAX_LOGITS_BYTES = Integer.MAX_VALUE;

  private final Path onnxFile;
  private final OrtSessions.Opened graph;
  private final DecoderSignature signature;

  /** The KV cache's element type, as the graph declares it ({@link FloatKind}). */
  private final FloatKind kv;

  /** The graph's logits_to_keep input, or null; its rank (0 or 1). */
  private final String keepInput;

  private final int keepRank;

  /** Blocks per row of the graph's sampling head ({@link SamplingHead}); 0 without one. */
  private final int headBlocks;

  /** The rank of the head's temperature input (0: scalar, 1: one element). */
  private final int temperatureRank;

  /**
   * Whether last-position passes can lend their logits ({@link LentLogits}): float32 logits on the
   * CPU provider. (On CUDA the pinned host buffer is untested; those passes copy.)
   */
  private final boolean lends;

  /** The lent logits' memory of closed sessions, for the next ones. */
  private final LentLogits.Pool lentMemory = new LentLogits.Pool();

  private OnnxCausalLm(Path onnxFile, OrtSessions.Opened graph, DecoderSignature signature) {
    this.onnxFile = onnxFile;
    this.graph = graph;
    this.signature = signature;
    this.kv = FloatKind.of(graph.inputs(), "past_key_values.0.key");
    this.headBlocks = headLayout(graph).blocks();
    long[] temperature = OrtSessions.shape(graph.inputs(), SamplingHeadLayout.TEMPERATURE);
    this.temperatureRank = temperature == null ? 0 : temperature.length;
    this.lends =
        !graph.onCuda()
            && FloatKind.of(graph.outputs(), "logits") == FloatKind.FLOAT32
            && LentLogits.available();

    String keep = null;
    for (String name : KEEP_INPUTS) {
      if (graph.inputs().containsKey(name)) {
        keep = name;
      }
    }
    this.keepInput = keep;
    long[] shape = keep == null ? null : OrtSessions.shape(graph.inputs(), keep);
    this.keepRank = shape == null ? 0 : shape.length;
  }

  /** Loads and checks {@code onnxFile}; runs one tiny forward pass to prove the graph works. */
  public static OnnxCausalLm load(Path onnxFile, EngineOptions options) {
    long start = System.nanoTime();
    OrtSessions.Opened graph = OrtSessions.open(onnxFile, options);
    long opened = System.nanoTime();
    try {
      DecoderSignature declared = discover(onnxFile, graph);
      OnnxCausalLm lm = new OnnxCausalLm(onnxFile, graph, declared);
      int width = lm.probe();
      LOG.debug(
          "{}: session {} ms, test pass {} ms",
          onnxFile,
          (opened - start) / 1_000_000,
          (System.nanoTime() - opened) / 1_000_000);
      if (declared.logitsWidth() != width) {
        lm =
            new OnnxCausalLm(
                onnxFile,
                graph,
                new DecoderSignature(
                    declared.numLayers(),
                    declared.numKvHeads(),
                    declared.headDim(),
                    width,
                    declared.hasPositionIds()));
      }
      return lm;
    } catch (RuntimeException e) {
      graph.block().close();
      graph.manager().close();
      throw e;
    }
  }

  /** The KV cache's element type as the graph declares it: FLOAT32, FLOAT16 or BFLOAT16. */
  public String cacheType() {
    return kv.name();
  }

  /** Whether the graph runs on ONNX Runtime's CUDA execution provider. */
  public boolean onCuda() {
    return graph.onCuda();
  }

  private static DecoderSignature discover(Path file, OrtSessions.Opened graph) {
    Set<String> names = graph.inputs().keySet();
    List<String> problems = new ArrayList<>();
    for (String required : List.of("input_ids", "attention_mask")) {
      if (!names.contains(required)) {
        problems.add("missing input '" + required + "'");
      }
    }
    TreeSet<Integer> layers = new TreeSet<>();
    Set<String> unexpected = new TreeSet<>();
    for (String name : names) {
      Matcher m = PAST.matcher(name);
      if (m.matches()) {
        layers.add(Integer.parseInt(m.group(1)));
      } else if (!PLAIN_INPUTS.contains(name) && !KEEP_INPUTS.contains(name)) {
        unexpected.add(name);
      }
    }
    if (!unexpected.isEmpty()) {
      problems.add("unexpected inputs " + unexpected);
    }
    if (layers.isEmpty()) {
      problems.add(
          "no past_key_values.{i}.key/value inputs: export the decoder with its KV cache"
              + " (decoder-with-past layout)");
    }
    int numLayers = layers.isEmpty() ? 0 : layers.last() + 1;
    int kvHeads = -1;
    int headDim = -1;
    for (int i = 0; i < numLayers; i++) {
      for (String kind : List.of("key", "value")) {
        String in = "past_key_values." + i + "." + kind;
        String out = "present." + i + "." + kind;
        long[] shape = OrtSessions.shape(graph.inputs(), in);
        if (shape == null) {
          problems.add("missing input '" + in + "'");
          continue;
        }
        if (!graph.outputs().containsKey(out)) {
          problems.add("missing output '" + out + "'");
        }
        if (shape.length != 4 || shape[1] <= 0 || shape[3] <= 0) {
          problems.add(
              "input '"
                  + in
                  + "' must be [batch, kv_heads, past_len, head_dim] with static heads and head"
                  + " size, got "
                  + java.util.Arrays.toString(shape));
          continue;
        }
        if (kvHeads == -1) {
          kvHeads = (int) shape[1];
          headDim = (int) shape[3];
        } else if (kvHeads != shape[1] || headDim != shape[3]) {
          problems.add("input '" + in + "' has another head layout than layer 0");
        }
      }
    }
    problems.addAll(floatTypes(graph, numLayers));
    long[] logits = OrtSessions.shape(graph.outputs(), "logits");
    if (logits == null) {
      problems.add("missing output 'logits' (outputs are " + graph.outputs().keySet() + ")");
    } else if (logits.length != 3) {
      problems.add("output 'logits' must be [batch, seq, vocab], got rank " + logits.length);
    }
    problems.addAll(headLayout(graph).problems());
    if (!problems.isEmpty()) {
      throw new ModelLoadException(
          file, "not a decoder-with-KV-cache graph: " + String.join("; ", problems));
    }
    int width = logits[2] > 0 ? (int) logits[2] : 1;
    return new DecoderSignature(numLayers, kvHeads, headDim, width, names.contains("position_ids"));
  }

  /**
   * The cache inputs and outputs share one float type (float32, float16 or bfloat16), and the
   * logits are one of these too.
   */
  private static List<String> floatTypes(OrtSessions.Opened graph, int numLayers) {
    List<String> problems = new ArrayList<>();
    String first = "past_key_values.0.key";
    FloatKind kv = FloatKind.of(graph.inputs(), first);
    if (graph.inputs().containsKey(first) && kv == null) {
      problems.add(
          "input '"
              + first
              + "' is "
              + FloatKind.typeName(graph.inputs(), first)
              + ": the KV cache must be float32, float16 or bfloat16");
    }
    for (int i = 0; i < numLayers && kv != null; i++) {
      for (String kind : List.of("key", "value")) {
        for (String name :
            List.of("past_key_values." + i + "." + kind, "present." + i + "." + kind)) {
          Map<String, NodeInfo> nodes = name.startsWith("past") ? graph.inputs() : graph.outputs();
          if (nodes.containsKey(name) && FloatKind.of(nodes, name) != kv) {
            problems.add(
                "'"
                    + name
                    + "' is "
                    + FloatKind.typeName(nodes, name)
                    + " where '"
                    + first
                    + "' is "
                    + FloatKind.typeName(graph.inputs(), first)
                    + ": the KV cache must have one element type");
          }
        }
      }
    }
    if (graph.outputs().containsKey("logits") && FloatKind.of(graph.outputs(), "logits") == null) {
      problems.add(
          "output 'logits' is "
              + FloatKind.typeName(graph.outputs(), "logits")
              + ": it must be float32, float16 or bfloat16");
    }
    return problems;
  }

  /** The graph's sampling head as declared ({@link SamplingHeadLayout}). */
  private static SamplingHeadLayout.Result headLayout(OrtSessions.Opened graph) {
    return SamplingHeadLayout.check(declared(graph.inputs()), declared(graph.outputs()));
  }

  private static Map<String, SamplingHeadLayout.Declared> declared(Map<String, NodeInfo> nodes) {
    Map<String, SamplingHeadLayout.Declared> out = new java.util.HashMap<>();
    for (Map.Entry<String, NodeInfo> e : nodes.entrySet()) {
      if (e.getValue().getInfo() instanceof TensorInfo tensor) {
        out.put(e.getKey(), new SamplingHeadLayout.Declared(tensor.type.name(), tensor.getShape()));
      }
    }
    return out;
  }

  /**
   * Runs one one-token pass: returns the logits width, and checks that a sampling head describes it
   * (its blocks cut the width into equal blocks, its masses sum to 1).
   */
  private int probe() {
    try (DecodeSession session = openSession()) {
      KvCache empty = session.emptyCache(1);
      StepOutput out =
          session.forward(
              new StepInput(
                  1,
                  1,
                  new long[] {0},
                  new long[] {1},
                  new long[] {0},
                  empty,
                  StepInput.LogitsWanted.LAST_POSITION));
      out.present().close();
      if (headBlocks > 0) {
        checkHead(out);
      }
      return out.logitsWidth();
    } catch (ModelLoadException e) {
      throw e;
    } catch (RuntimeException e) {
      throw new ModelLoadException(onnxFile, "a one-token test pass failed: " + e.getMessage(), e);
    }
  }

  private void checkHead(StepOutput out) {
    SamplingHead head = out.head();
    String problem = null;
    if (head == null) {
      problem = "its logits (" + out.logitsWidth() + " wide) are not " + headBlocks + " blocks";
    } else {
      double mass = 0;
      double warped = 0;
      for (int b = 0; b < head.blocks(); b++) {
        mass += head.mass()[b];
        warped += head.warpedMass()[b];
      }
      if (!(Math.abs(mass - 1) <= 1e-3) || !(Math.abs(warped - 1) <= 1e-3)) {
        problem = "its block masses sum to " + mass + " and " + warped + ", not 1";
      }
    }
    if (problem != null) {
      throw new ModelLoadException(
          onnxFile,
          "the sampling head ("
              + SamplingHeadLayout.OUTPUTS
              + ") does not describe the logits at a one-token test pass: "
              + problem);
    }
  }

  @Override
  public DecoderSignature signature() {
    return signature;
  }

  @Override
  public long maxLogitsBytes() {
    return MAX_LOGITS_BYTES;
  }

  /** True for an export with the sampling head's input and outputs ({@link SamplingHeadLayout}). */
  @Override
  public boolean hasSamplingHead() {
    return headBlocks > 0;
  }

  /** True for an export with a {@code logits_to_keep} (or {@code num_logits_to_keep}) input. */
  @Override
  public boolean selectsLogitPositions() {
    return keepInput != null;
  }

  @Override
  public DecodeSession openSession() {
    return new Session((OrtNDManager) graph.manager().newSubManager());
  }

  @Override
  public void close() {
    lentMemory.clear();
    graph.block().close();
    graph.manager().close();
  }

  @Override
  public String toString() {
    return "OnnxCausalLm["
        + onnxFile
        + ", "
        + signature
        + ", cache "
        + kv
        + (headBlocks > 0 ? ", sampling head of " + headBlocks + " blocks" : "")
        + "]";
  }

  /** The cache: one key and one value tensor per layer, owned by the session's manager. */
  private static final class OrtKvCache implements KvCache {
    private final NDArray[] keys;
    private final NDArray[] values;
    private final int batch;
    private final int length;
    private boolean closed;

    OrtKvCache(NDArray[] keys, NDArray[] values, int batch, int length) {
      this.keys = keys;
      this.values = values;
      this.batch = batch;
      this.length = length;
    }

    @Override
    public int batchSize() {
      return batch;
    }

    @Override
    public int length() {
      return length;
    }

    @Override
    public void close() {
      if (!closed) {
        closed = true;
        for (NDArray a : keys) {
          a.close();
        }
        for (NDArray a : values) {
          a.close();
        }
      }
    }
  }

  private final class Session implements DecodeSession {
    private final OrtNDManager manager;
    private final ParameterStore parameters;

    /** Created at the first lent pass. */
    private LentLogits lent;

    Session(OrtNDManager manager) {
      this.manager = manager;
      this.parameters = new ParameterStore(manager, false);
    }

    @Override
    public KvCache emptyCache(int batch) {
      int layers = signature.numLayers();
      NDArray[] keys = new NDArray[layers];
      NDArray[] values = new NDArray[layers];
      Shape shape = new Shape(batch, signature.numKvHeads(), 0, signature.headDim());
      for (int i = 0; i < layers; i++) {
        keys[i] = kv.empty(manager, shape);
        values[i] = kv.empty(manager, shape);
      }
      return new OrtKvCache(keys, values, batch, 0);
    }

    @Override
    public StepOutput forward(StepInput in) {
      OrtKvCache past = (OrtKvCache) in.past();
      int total = past.length() + in.seqLen();
      NDList inputs = new NDList();
      inputs.add(named(longs(in.inputIds(), new Shape(in.batch(), in.seqLen())), "input_ids"));
      inputs.add(named(longs(in.attentionMask(), new Shape(in.batch(), total)), "attention_mask"));
      if (signature.hasPositionIds()) {
        inputs.add(
            named(longs(in.positionIds(), new Shape(in.batch(), in.seqLen())), "position_ids"));
      }
      int kept = outputPositions(in.seqLen(), in.logits());
      long logitsBytes = (long) in.batch() * kept * signature.logitsWidth() * Float.BYTES;
      if (logitsBytes > MAX_LOGITS_BYTES) {
        throw new IllegalArgumentException(
            "a forward pass of "
                + in.batch()
                + " x "
                + kept
                + " positions would output "
                + logitsBytes
                + " bytes of logits ("
                + signature.logitsWidth()
                + " wide), more than ONNX Runtime's Java API can return (2 GiB): split it");
      }
      if (keepInput != null) {
        inputs.add(
            named(
                keepRank == 0
                    ? manager.create((long) kept)
                    : manager.create(new long[] {kept}, new Shape(1)),
                keepInput));
      }
      if (headBlocks > 0) {
        float t = (float) in.samplingTemperature();
        inputs.add(
            named(
                temperatureRank == 0 ? manager.create(t) : manager.create(new float[] {t}),
                SamplingHeadLayout.TEMPERATURE));
      }
      int small = inputs.size();
      for (int i = 0; i < signature.numLayers(); i++) {
        inputs.add(named(past.keys[i], "past_key_values." + i + ".key"));
        inputs.add(named(past.values[i], "past_key_values." + i + ".value"));
      }
      // A lent pass: one position per row, written where this session keeps it.
      boolean lending =
          lends && kept == 1 && in.logits() == StepInput.LogitsWanted.LAST_POSITION_LENT;
      NDList outputs =
          lending ? runLent(inputs, in.batch()) : graph.block().forward(parameters, inputs, false);
      // Free this step's small input tensors now; the cache is closed by its owner.
      for (int i = 0; i < small; i++) {
        inputs.get(i).close();
      }
      float[] values = null;
      FloatBuffer lentView = null;
      int width;
      int seq;
      if (lending) {
        width = signature.logitsWidth();
        seq = 1;
        lentView = lent.logits();
      } else {
        NDArray logits = outputs.get("logits");
        width = (int) logits.getShape().get(2);
        seq = (int) logits.getShape().get(1);
        values = readLogits(logits, in.batch(), seq, width, in.logits());
        logits.close();
        if (in.logits() == StepInput.LogitsWanted.LAST_POSITION_LENT) {
          lentView = FloatBuffer.wrap(values);
          values = null;
        }
      }
      SamplingHead head = headBlocks > 0 ? readHead(outputs, in, width) : null;
      NDArray[] keys = new NDArray[signature.numLayers()];
      NDArray[] vals = new NDArray[signature.numLayers()];
      for (int i = 0; i < signature.numLayers(); i++) {
        keys[i] = outputs.get("present." + i + ".key");
        vals[i] = outputs.get("present." + i + ".value");
      }
      int positions = in.logits().lastOnly() ? 1 : seq;
      return new StepOutput(
          values, positions, width, new OrtKvCache(keys, vals, in.batch(), total), head, lentView);
    }

    private NDList runLent(NDList inputs, int batch) {
      if (lent == null) {
        lent = new LentLogits(graph.session(), manager, lentMemory);
      }
      try {
        return lent.run(inputs, batch, signature.logitsWidth());
      } catch (OrtException e) {
        throw new EngineException("ONNX Runtime failed a decoding pass: " + e.getMessage(), e);
      }
    }

    /**
     * The head's outputs of a last-position pass whose logits it cuts into equal blocks, else null;
     * its tensors are closed either way.
     */
    private SamplingHead readHead(NDList outputs, StepInput in, int width) {
      NDArray[] arrays = new NDArray[SamplingHeadLayout.OUTPUTS.size()];
      for (int i = 0; i < arrays.length; i++) {
        arrays[i] = outputs.get(SamplingHeadLayout.OUTPUTS.get(i));
      }
      try {
        if (!in.logits().lastOnly() || width % headBlocks != 0) {
          return null;
        }
        float[][] values = new float[arrays.length][];
        for (int i = 0; i < arrays.length; i++) {
          values[i] = arrays[i].toFloatArray();
          if (values[i].length != in.batch() * headBlocks) {
            return null;
          }
        }
        return new SamplingHead(
            headBlocks, width / headBlocks, (float) in.samplingTemperature(), values[0], values[1]);
      } finally {
        for (NDArray a : arrays) {
          if (a != null) {
            a.close();
          }
        }
      }
    }

    @Override
    public KvCache selectRows(KvCache cache, int[] rows) {
      OrtKvCache source = (OrtKvCache) cache;
      int layers = signature.numLayers();
      NDArray[] keys = new NDArray[layers];
      NDArray[] values = new NDArray[layers];
      for (int i = 0; i < layers; i++) {
        keys[i] = gather(source.keys[i], source.batch, rows);
        values[i] = gather(source.values[i], source.batch, rows);
      }
      return new OrtKvCache(keys, values, rows.length, source.length);
    }

    /** Rows of a cache tensor, repeated or dropped, in the cache's type ({@link FloatKind}). */
    private NDArray gather(NDArray array, int batch, int[] rows) {
      return kv.gatherRows(manager, array, batch, rows);
    }

    private NDArray longs(long[] data, Shape shape) {
      return manager.create(LongBuffer.wrap(data), shape, DataType.INT64);
    }

    @Override
    public void close() {
      if (lent != null) {
        lent.close();
      }
      manager.close();
    }
  }

  private static NDArray named(NDArray array, String name) {
    array.setName(name);
    return array;
  }

  /**
   * The logits as a Java array (float16 and bfloat16 logits widened to float32 by ONNX Runtime).
   * ONNX Runtime's {@code getFloatBuffer} already copies the output into a fresh heap buffer; for
   * all positions (teacher-forced scoring, the largest output), and for the last position of a pass
   * that has only that one (every decoding step), its array is used as it is instead of being
   * copied once more.
   */
  private static float[] readLogits(
      NDArray logits, int batch, int seq, int width, StepInput.LogitsWanted wanted) {
    FloatBuffer data = ((OrtNDArray) logits).getTensor().getFloatBuffer();
    if (!wanted.lastOnly() || seq == 1) {
      int size = batch * seq * width;
      if (data.hasArray() && data.arrayOffset() == 0 && data.array().length == size) {
        return data.array();
      }
      float[] all = new float[size];
      data.get(0, all);
      return all;
    }
    float[] last = new float[batch * width];
    for (int b = 0; b < batch; b++) {
      data.get((b * seq + seq - 1) * width, last, b * width, width);
    }
    return last;
  }
}
