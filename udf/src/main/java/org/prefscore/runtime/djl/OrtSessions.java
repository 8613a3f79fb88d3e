package org.prefscore.runtime.djl;

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

  /** A loaded graph: the DJL block, the manager that owns its tensors, and the graph metadata. */
  record Opened(
      OrtSymbolBlock block,
      OrtNDManager manager,
      Map<String, NodeInfo> inputs,
      Map<String, NodeInfo> outputs,
      boolean onCuda) {}

  private OrtSessions() {}

  static Opened open(Path onnxFile, EngineOptions options) {
    NDManager base = Engine.getEngine("OnnxRuntime").newBaseManager();
    if (!(base instanceof OrtNDManager manager)) {
      base.close();
      throw new IllegalStateException("DJL's OnnxRuntime engine did not give an OrtNDManager");
    }
    try {
      OrtEnvironment env = OrtEnvironment.getEnvironment();
      boolean onCuda = false;
      OrtSession.SessionOptions sessionOptions = new OrtSession.SessionOptions();
      sessionOptions.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
      if (options.intraOpThreads() > 0) {
        sessionOptions.setIntraOpNumThreads(options.intraOpThreads());
      }
      if (options.interOpThreads() > 0) {
        sessionOptions.setInterOpNumThreads(options.interOpThreads());
      }
      if (options.useCuda()) {
        try {
          sessionOptions.addCUDA(options.cudaDeviceId());
          onCuda = true;
        } catch (OrtException | UnsatisfiedLinkError e) {
          LOG.warn(
              "CUDA execution provider unavailable for GPU {} ({}); running {} on CPU",
              options.cudaDeviceId(),
              e.getMessage(),
              onnxFile);
        }
      }
      OrtSession session = env.createSession(onnxFile.toString(), sessionOptions);
      Map<String, NodeInfo> inputs = session.getInputInfo();
      Map<String, NodeInfo> outputs = session.getOutputInfo();
      OrtSymbolBlock block = new OrtSymbolBlock(session, manager);
      return new Opened(block, manager, inputs, outputs, onCuda);
    } catch (OrtException e) {
      manager.close();
      throw new ModelLoadException(onnxFile, "ONNX Runtime cannot load the graph: " + e.getMessage(), e);
    }
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
