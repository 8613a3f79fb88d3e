package org.prefscore.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * What one decoding step costs in ONNX Runtime alone, for the plain graph and the same graph with
 * prefscore's sampling head ({@code python/prefscore_onnx/sampling_head.py}), each with its logits
 * copied to the heap ({@code getFloatBuffer}, as a DJL pass does) or written into memory the caller
 * keeps (pinned outputs, as {@code onnx.LentLogits} does): the head's own work in the graph (head
 * minus plain, both lent) and what lending saves (copied minus lent), without the rest of the
 * sampler around them. Rows of random past (32 rows at past length 40 by default), 16 steps per
 * measurement, the four variants interleaved round after round; lower quartiles and medians of the
 * milliseconds per step.
 *
 * <pre>
 * java -cp udf/target/test-classes:udf/target/classes:$(cat /tmp/udf-cp.txt) \
 *     org.prefscore.bench.StepCostBenchmark bench/target/bench-qwen3 bench/target/bench-qwen3-head \
 *     [temperature=0.7] [rounds=20] [threads=2] [rows=32]
 * </pre>
 */
public final class StepCostBenchmark {

  private static final int STEPS = 16;
  private static final int PAST = 40;

  private StepCostBenchmark() {}

  public static void main(String[] args) throws Exception {
    if (args.length < 2) {
      System.err.println(
          "usage: StepCostBenchmark PLAIN_DIR HEAD_DIR [TEMPERATURE] [ROUNDS] [THREADS] [ROWS]");
      System.exit(2);
    }
    float temperature = args.length > 2 ? Float.parseFloat(args[2]) : 0.7f;
    int rounds = args.length > 3 ? Integer.parseInt(args[3]) : 20;
    int threads = args.length > 4 ? Integer.parseInt(args[4]) : 2;
    int rows = args.length > 5 ? Integer.parseInt(args[5]) : 32;
    System.out.printf(
        Locale.ROOT,
        "machine: %d CPUs; load average %.2f; T = %s, %d rows, past %d, %d steps, %d rounds, %d"
            + " intra-op threads%n",
        Runtime.getRuntime().availableProcessors(),
        ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage(),
        temperature,
        rows,
        PAST,
        STEPS,
        rounds,
        threads);
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    try (Loop plain = new Loop(env, Path.of(args[0], "model.onnx"), threads, rows, temperature);
        Loop head = new Loop(env, Path.of(args[1], "model.onnx"), threads, rows, temperature)) {
      Map<String, List<Double>> times = new LinkedHashMap<>();
      for (String name : List.of("plain_copied", "plain_lent", "head_copied", "head_lent")) {
        times.put(name, new ArrayList<>());
      }
      for (int round = -2; round < rounds; round++) { // two warm-up rounds
        for (String name : times.keySet()) {
          Loop loop = name.startsWith("head") ? head : plain;
          double ms = loop.stepMillis(name.endsWith("lent"));
          if (round >= 0) {
            times.get(name).add(ms);
          }
        }
      }
      Map<String, double[]> q = new LinkedHashMap<>();
      for (Map.Entry<String, List<Double>> e : times.entrySet()) {
        double[] v = e.getValue().stream().mapToDouble(Double::doubleValue).sorted().toArray();
        q.put(e.getKey(), new double[] {v[v.length / 4], v[v.length / 2]});
        System.out.printf(
            Locale.ROOT,
            "%-13s lower quartile %6.2f  median %6.2f ms/step%n",
            e.getKey(),
            v[v.length / 4],
            v[v.length / 2]);
      }
      for (int i = 0; i < 2; i++) {
        String which = i == 0 ? "lower quartiles" : "medians";
        double headWork = q.get("head_lent")[i] - q.get("plain_lent")[i];
        System.out.printf(
            Locale.ROOT,
            "%s: the head's work in the graph %.2f ms/step (%.1f %% of a lent head step);"
                + " lending saves %.2f ms/step with the head (%.1f %%), %.2f without%n",
            which,
            headWork,
            100 * headWork / q.get("head_lent")[i],
            q.get("head_copied")[i] - q.get("head_lent")[i],
            100 * (q.get("head_copied")[i] - q.get("head_lent")[i]) / q.get("head_copied")[i],
            q.get("plain_copied")[i] - q.get("plain_lent")[i]);
      }
      System.out.printf(
          Locale.ROOT,
          "load average %.2f%n",
          ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
      // One JSON line for bench/qwen3.sh's table (bench/report_qwen3.py): [lower quartile, median].
      ObjectNode json = new ObjectMapper().createObjectNode();
      json.put("bench", "step_cost").put("temperature", temperature).put("rows", rows);
      json.put("rounds", rounds);
      for (Map.Entry<String, double[]> e : q.entrySet()) {
        json.putArray(e.getKey() + "_ms").add(e.getValue()[0]).add(e.getValue()[1]);
      }
      System.out.println(json);
    }
  }

  /** Decoding steps of one graph through the bare ONNX Runtime API (session options as ours). */
  private static final class Loop implements AutoCloseable {
    private final OrtEnvironment env;
    private final OrtSession session;
    private final int rows;
    private final int width;
    private final boolean hasHead;
    private final boolean hasPositions;
    private final boolean hasKeep;
    private final float temperature;
    private final Set<String> others;
    private final Map<String, float[]> pastData = new LinkedHashMap<>();
    private final Map<String, long[]> pastShape = new HashMap<>();
    private final FloatBuffer pinned;
    private final OnnxTensor pinnedTensor;

    Loop(OrtEnvironment env, Path onnx, int threads, int rows, float temperature)
        throws OrtException {
      this.env = env;
      this.rows = rows;
      this.temperature = temperature;
      OrtSession.SessionOptions options = new OrtSession.SessionOptions();
      options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
      options.setIntraOpNumThreads(threads);
      options.setInterOpNumThreads(1);
      options.addConfigEntry("session.intra_op.allow_spinning", "0");
      session = env.createSession(onnx.toString(), options);
      hasHead = session.getInputInfo().containsKey("sampling_temperature");
      hasPositions = session.getInputInfo().containsKey("position_ids");
      hasKeep = session.getInputInfo().containsKey("logits_to_keep");
      width = (int) ((TensorInfo) session.getOutputInfo().get("logits").getInfo()).getShape()[2];
      others = new HashSet<>(session.getOutputNames());
      others.remove("logits");
      Random random = new Random(1);
      for (String name : session.getInputNames()) {
        if (name.startsWith("past_key_values.")) {
          long[] shape = ((TensorInfo) session.getInputInfo().get(name).getInfo()).getShape();
          long[] s = {rows, shape[1], PAST, shape[3]};
          float[] data = new float[(int) (s[0] * s[1] * s[2] * s[3])];
          for (int i = 0; i < data.length; i++) {
            data[i] = (float) random.nextGaussian();
          }
          pastData.put(name, data);
          pastShape.put(name, s);
        }
      }
      pinned =
          ByteBuffer.allocateDirect(rows * width * Float.BYTES)
              .order(ByteOrder.nativeOrder())
              .asFloatBuffer();
      pinnedTensor = OnnxTensor.createTensor(env, pinned, new long[] {rows, 1, width});
    }

    /** Milliseconds per step over {@link #STEPS} steps, the logits lent or copied. */
    double stepMillis(boolean lent) throws OrtException {
      Map<String, OnnxTensor> past = new HashMap<>();
      for (Map.Entry<String, float[]> e : pastData.entrySet()) {
        past.put(
            e.getKey(),
            OnnxTensor.createTensor(
                env, FloatBuffer.wrap(e.getValue()), pastShape.get(e.getKey())));
      }
      List<OnnxTensor> firstPast = new ArrayList<>(past.values());
      long[] next = new long[rows];
      OrtSession.Result previous = null;
      double sink = 0;
      long start = System.nanoTime();
      for (int step = 0; step < STEPS; step++) {
        int length = PAST + step + 1;
        long[] mask = new long[rows * length];
        Arrays.fill(mask, 1);
        long[] positions = new long[rows];
        Arrays.fill(positions, length - 1);
        List<OnnxTensor> small = new ArrayList<>();
        Map<String, OnnxTensor> in = new HashMap<>(past);
        put(in, small, "input_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(next), shape(1)));
        put(
            in,
            small,
            "attention_mask",
            OnnxTensor.createTensor(env, LongBuffer.wrap(mask), shape(length)));
        if (hasPositions) {
          put(
              in,
              small,
              "position_ids",
              OnnxTensor.createTensor(env, LongBuffer.wrap(positions), shape(1)));
        }
        if (hasKeep) {
          put(in, small, "logits_to_keep", OnnxTensor.createTensor(env, 1L));
        }
        if (hasHead) {
          put(in, small, "sampling_temperature", OnnxTensor.createTensor(env, temperature));
        }
        OrtSession.Result result;
        if (lent) {
          result = session.run(in, others, Map.of("logits", pinnedTensor));
          for (int r = 0; r < rows; r++) {
            next[r] = (r * 7919L + step) % width;
            sink += pinned.get(r * width + (int) next[r]);
          }
        } else {
          result = session.run(in);
          FloatBuffer logits = ((OnnxTensor) result.get("logits").get()).getFloatBuffer();
          for (int r = 0; r < rows; r++) {
            next[r] = (r * 7919L + step) % width;
            sink += logits.get(r * width + (int) next[r]);
          }
        }
        if (hasHead) {
          sink += ((OnnxTensor) result.get("sampling_block_mass_t").get()).getFloatBuffer().get(0);
        }
        for (OnnxTensor t : small) {
          t.close();
        }
        past.clear();
        for (String name : pastData.keySet()) {
          past.put(
              name, (OnnxTensor) result.get(name.replace("past_key_values.", "present.")).get());
        }
        if (previous != null) {
          previous.close();
        }
        previous = result;
      }
      double millis = (System.nanoTime() - start) / 1e6 / STEPS;
      previous.close();
      for (OnnxTensor t : firstPast) {
        t.close();
      }
      if (Double.isNaN(sink)) {
        System.out.println("NaN logits");
      }
      return millis;
    }

    private long[] shape(int columns) {
      return new long[] {rows, columns};
    }

    private static void put(
        Map<String, OnnxTensor> in, List<OnnxTensor> small, String name, OnnxTensor t) {
      in.put(name, t);
      small.add(t);
    }

    @Override
    public void close() throws OrtException {
      pinnedTensor.close();
      session.close();
    }
  }
}
