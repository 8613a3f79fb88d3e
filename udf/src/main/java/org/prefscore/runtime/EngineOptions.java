package org.prefscore.runtime;

import java.io.Serializable;

/**
 * How an engine runs a graph. Small and serializable so it can travel in Spark closures.
 *
 * @param useCuda ask for ONNX Runtime's CUDA execution provider; falls back to CPU with a log line
 *     when the provider or device is unavailable
 * @param cudaDeviceId the GPU ordinal (on Spark, the GPU the task was assigned)
 * @param intraOpThreads threads inside one operator; 0 lets ONNX Runtime choose
 * @param interOpThreads threads across operators; 0 lets ONNX Runtime choose
 * @param spinning let ONNX Runtime's intra-op workers spin-wait after each operator
 *     (runtime.engine-spinning; ONNX Runtime's own default) instead of sleeping (prefscore's
 *     default): faster when the cores are the model's alone, slower when sampling threads or other
 *     tasks need them right after a pass (docs/benchmarks.md)
 */
public record EngineOptions(
    boolean useCuda, int cudaDeviceId, int intraOpThreads, int interOpThreads, boolean spinning)
    implements Serializable {

  /** Workers that sleep between operators (prefscore's default). */
  public EngineOptions(boolean useCuda, int cudaDeviceId, int intraOpThreads, int interOpThreads) {
    this(useCuda, cudaDeviceId, intraOpThreads, interOpThreads, false);
  }

  /** CPU with ONNX Runtime's own thread choice. */
  public static EngineOptions cpu() {
    return new EngineOptions(false, 0, 0, 0);
  }

  /** CPU with a fixed number of intra-op threads (one executor core per task, typically). */
  public static EngineOptions cpu(int intraOpThreads) {
    return new EngineOptions(false, 0, intraOpThreads, 1);
  }

  /** The same options on another GPU (on Spark: the one the task was assigned). */
  public EngineOptions withCudaDevice(int deviceId) {
    return new EngineOptions(useCuda, deviceId, intraOpThreads, interOpThreads, spinning);
  }

  /** The same options with ONNX Runtime's workers spinning (true) or sleeping between operators. */
  public EngineOptions withSpinning(boolean spin) {
    return new EngineOptions(useCuda, cudaDeviceId, intraOpThreads, interOpThreads, spin);
  }

  public EngineOptions {
    if (cudaDeviceId < 0 || intraOpThreads < 0 || interOpThreads < 0) {
      throw new IllegalArgumentException(
          "engine options must be >= 0: cudaDeviceId="
              + cudaDeviceId
              + " intraOpThreads="
              + intraOpThreads
              + " interOpThreads="
              + interOpThreads);
    }
  }
}
