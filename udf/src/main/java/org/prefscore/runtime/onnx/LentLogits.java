package org.prefscore.runtime.onnx;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.onnxruntime.engine.OrtNDArray;
import ai.djl.onnxruntime.engine.OrtNDManager;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * One decode session's logits written by ONNX Runtime straight into memory the session keeps (ONNX
 * Runtime's pinned outputs), for {@link
 * org.prefscore.runtime.StepInput.LogitsWanted#LAST_POSITION_LENT} passes: no {@code [batch,
 * vocab]} heap array is allocated and filled per decoding step, and the sampler reads only what it
 * needs. On bench-qwen3 (151,936 ids, 32 rows) that copy took about 1.4 ms of a 26 ms step ({@code
 * StepCostBenchmark}).
 *
 * <p>DJL's block runs a session without pinned outputs, so a lent pass calls the session itself and
 * wraps its other outputs (the cache, the sampling head) as DJL arrays of the session's manager,
 * through DJL's package-private {@code OrtNDManager.createInternal}, the method DJL's own block
 * uses. Where that method is missing (another DJL version) nothing is lent: {@link #available()} is
 * false and lent passes copy as before.
 *
 * <p>The memory grows to the largest pass seen and is reused; the logits of a pass stay valid until
 * the next lent pass or {@link #close()}. Not thread-safe: one per decode session. At close the
 * memory goes back to the model's {@link Pool}, for the next session: a session per batch would
 * otherwise allocate (and the OS zero and map) a fresh {@code [rows, vocab]} block at its first
 * step, 78 MB at 128 rows of 151,936 ids, which on this project's VM took 20-450 ms (the generation
 * benchmark at N = 16).
 */
final class LentLogits implements AutoCloseable {

  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(LentLogits.class);

  private static final MethodHandle WRAP = wrapper();

  private final OrtSession session;
  private final OrtNDManager manager;
  private final Set<String> otherOutputs;
  private ByteBuffer memory;
  private long[] shape;
  private FloatBuffer view;
  private OnnxTensor tensor;

  /**
   * Memory blocks of a model's closed sessions, handed to its next ones (thread-safe). Keeps at
   * most {@link #KEPT} blocks; a session takes one when it starts lending and gives it back at
   * close.
   */
  static final class Pool {
    /**
     * Blocks kept: sessions open at once on an executor (its task threads, lanes) rarely exceed.
     */
    static final int KEPT = 4;

    private final java.util.concurrent.ConcurrentLinkedDeque<ByteBuffer> free =
        new java.util.concurrent.ConcurrentLinkedDeque<>();

    /** A block given back earlier (the most recently given), or null. */
    ByteBuffer take() {
      return free.pollFirst();
    }

    void give(ByteBuffer memory) {
      if (memory != null && free.size() < KEPT) {
        free.offerFirst(memory);
      }
    }

    /** Lets every kept block go (the model is closing). */
    void clear() {
      free.clear();
    }
  }

  private final Pool pool;

  LentLogits(OrtSession session, OrtNDManager manager, Pool pool) {
    this.session = session;
    this.manager = manager;
    this.pool = pool;
    this.memory = pool.take();
    Set<String> others = new LinkedHashSet<>(session.getOutputNames());
    others.remove("logits");
    this.otherOutputs = others;
  }

  /** Whether this DJL version lets a lent pass wrap its outputs. */
  static boolean available() {
    return WRAP != null;
  }

  private static MethodHandle wrapper() {
    try {
      Method m = OrtNDManager.class.getDeclaredMethod("createInternal", OnnxTensor.class);
      m.setAccessible(true);
      return MethodHandles.lookup()
          .unreflect(m)
          .asType(MethodType.methodType(NDArray.class, OrtNDManager.class, OnnxTensor.class));
    } catch (ReflectiveOperationException | RuntimeException e) {
      LOG.info(
          "DJL's OrtNDManager.createInternal is not reachable ({}): decoding steps copy their logits",
          e.toString());
      return null;
    }
  }

  /**
   * Runs one pass with {@code inputs} (named ONNX Runtime arrays), the logits written into this
   * object's memory as a {@code [batch, 1, width]} float32 tensor; returns the other outputs as DJL
   * arrays of the session's manager, named as the graph names them.
   */
  NDList run(NDList inputs, int batch, int width) throws OrtException {
    OnnxTensor logits = target(new long[] {batch, 1, width});
    Map<String, OnnxTensor> feed = new HashMap<>();
    for (NDArray a : inputs) {
      OrtNDArray array = a instanceof OrtNDArray ort ? ort : manager.from(a);
      feed.put(a.getName(), array.getTensor());
    }
    OrtSession.Result result = session.run(feed, otherOutputs, Map.of("logits", logits));
    // The Result is not closed: its values become the arrays below (the pinned logits are ours).
    NDList out = new NDList();
    for (Map.Entry<String, OnnxValue> e : result) {
      if (e.getKey().equals("logits")) {
        continue;
      }
      if (!(e.getValue() instanceof OnnxTensor t)) {
        e.getValue().close();
        throw new IllegalStateException("output '" + e.getKey() + "' is not a tensor");
      }
      out.add(wrap(t, e.getKey()));
    }
    return out;
  }

  /** The last lent pass's logits: {@code [batch * width]} floats, absolute gets only. */
  FloatBuffer logits() {
    return view;
  }

  private NDArray wrap(OnnxTensor t, String name) {
    NDArray array;
    try {
      array = (NDArray) WRAP.invokeExact(manager, t);
    } catch (Throwable e) {
      t.close();
      throw new IllegalStateException("cannot wrap output '" + name + "' as a DJL array", e);
    }
    array.setName(name);
    return array;
  }

  /** The pinned output tensor for {@code wanted}, over this object's memory. */
  private OnnxTensor target(long[] wanted) throws OrtException {
    if (tensor != null && Arrays.equals(shape, wanted)) {
      return tensor;
    }
    closeTensor();
    long elements = wanted[0] * wanted[1] * wanted[2];
    int bytes = Math.toIntExact(elements * Float.BYTES);
    if (memory == null || memory.capacity() < bytes) {
      memory = null; // let the old block go before the new one is allocated
      memory = ByteBuffer.allocateDirect(bytes).order(ByteOrder.nativeOrder());
    }
    view = memory.slice(0, bytes).order(ByteOrder.nativeOrder()).asFloatBuffer();
    tensor = OnnxTensor.createTensor(OrtEnvironment.getEnvironment(), view, wanted);
    shape = wanted;
    return tensor;
  }

  private void closeTensor() {
    if (tensor != null) {
      tensor.close();
      tensor = null;
      shape = null;
    }
  }

  @Override
  public void close() {
    closeTensor();
    view = null;
    pool.give(memory);
    memory = null;
  }
}
