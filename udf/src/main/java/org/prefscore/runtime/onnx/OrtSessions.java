package org.prefscore.runtime.onnx;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.onnxruntime.engine.OrtNDManager;
import ai.djl.onnxruntime.engine.OrtSymbolBlock;
import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import java.nio.file.Path;
import java.util.Map;
import org.prefscore.runtime.EngineOptions;
import org.prefscore.runtime.ModelLoadException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opens an ONNX graph as a DJL {@link OrtSymbolBlock} on DJL's OnnxRuntime engine, keeping the
 * session's input and output metadata (names, static shapes) that DJL's block does not expose.
 */
final class OrtSessions {

  private static final Logger LOG = LoggerFactory.getLogger(OrtSessions.class);

  /**
   * A loaded graph: the DJL block, the session it runs (for passes DJL's block cannot express:
   * {@link LentLogits}), the manager that owns its tensors, and the graph metadata.
   */
  record Opened(
      OrtSymbolBlock block,
      OrtSession session,
      OrtNDManager manager,
      Map<String, NodeInfo> inputs,
      Map<String, NodeInfo> outputs,
      boolean onCuda) {}

  /** The session option that lets intra-op worker threads spin-wait between passes. */
  static final String SPINNING = "session.intra_op.allow_spinning";

  private OrtSessions() {}

  static Opened open(Path onnxFile, EngineOptions options) {
    NDManager base = Engine.getEngine("OnnxRuntime").newBaseManager();
    if (!(base instanceof OrtNDManager manager)) {
      base.close();
      throw new IllegalStateException("DJL's OnnxRuntime engine did not give an OrtNDManager");
    }
    try {
      OrtEnvironment env = OrtEnvironment.getEnvironment();
      OrtSession session = null;
      boolean onCuda = false;
      if (options.useCuda()) {
        session = openOnCuda(env, onnxFile, options);
        onCuda = session != null;
      }
      if (session == null) {
        session = env.createSession(onnxFile.toString(), sessionOptions(options));
      }
      Map<String, NodeInfo> inputs = session.getInputInfo();
      Map<String, NodeInfo> outputs = session.getOutputInfo();
      OrtSymbolBlock block = new OrtSymbolBlock(session, manager);
      return new Opened(block, session, manager, inputs, outputs, onCuda);
    } catch (OrtException e) {
      manager.close();
      throw new ModelLoadException(
          onnxFile, "ONNX Runtime cannot load the graph: " + e.getMessage(), e);
    }
  }

  /**
   * A session on ONNX Runtime's CUDA execution provider, or null (logged once per call at WARN)
   * when it is unavailable: the CPU-only onnxruntime jar (addCUDA throws), a GPU jar without the
   * CUDA/cuDNN libraries or without a device (addCUDA or session creation throws). The caller then
   * opens the graph on CPU.
   */
  private static OrtSession openOnCuda(OrtEnvironment env, Path onnxFile, EngineOptions options) {
    OrtSession.SessionOptions cuda = null;
    try {
      cuda = sessionOptions(options);
      cuda.addCUDA(options.cudaDeviceId());
      OrtSession session = env.createSession(onnxFile.toString(), cuda);
      LOG.info("{} runs on CUDA device {}", onnxFile, options.cudaDeviceId());
      return session;
    } catch (OrtException | UnsatisfiedLinkError | RuntimeException e) {
      LOG.warn(
          "CUDA execution provider unavailable for GPU {} ({}); running {} on CPU",
          options.cudaDeviceId(),
          e.getMessage(),
          onnxFile);
      if (cuda != null) {
        cuda.close();
      }
      return null;
    }
  }

  private static OrtSession.SessionOptions sessionOptions(EngineOptions options)
      throws OrtException {
    OrtSession.SessionOptions sessionOptions = new OrtSession.SessionOptions();
    sessionOptions.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
    // ONNX Runtime's intra-op workers spin-wait after each pass by default; the sampling threads
    // (SampleGenerator: as many as intra-op threads) need those cores right after a decoding
    // step's pass, and other tasks' threads share them too. Without spinning the workers sleep.
    // Measured on bench-qwen3 (2 threads, 2 vCPUs, heavily shared): generation 1.26x faster.
    // With a sampling head the JVM has little to do between passes and spinning pays where the
    // cores are the model's alone: runtime.engine-spinning.
    sessionOptions.addConfigEntry(SPINNING, options.spinning() ? "1" : "0");
    if (options.intraOpThreads() > 0) {
      sessionOptions.setIntraOpNumThreads(options.intraOpThreads());
    }
    if (options.interOpThreads() > 0) {
      sessionOptions.setInterOpNumThreads(options.interOpThreads());
    }
    return sessionOptions;
  }

  /** The static shape of a tensor input or output; -1 marks a dynamic axis. */
  static long[] shape(Map<String, NodeInfo> nodes, String name) {
    NodeInfo node = nodes.get(name);
    if (node == null || !(node.getInfo() instanceof TensorInfo tensor)) {
      return null;
    }
    return tensor.getShape();
  }
}
