package org.prefscore.runtime;

/**
 * A causal language model graph with a key/value cache, independent of the engine running it.
 *
 * <p>Implementations are loaded once per JVM and shared by task threads: {@link #openSession()}
 * must be safe to call concurrently. The ONNX Runtime implementation is {@link
 * org.prefscore.runtime.onnx.OnnxCausalLm}; a TorchScript or CUDA-provider engine implements this
 * same contract.
 */
public interface CausalLm extends AutoCloseable {

  /** The graph's shape, discovered at load time. */
  DecoderSignature signature();

  /** Opens a session for one batch of work. */
  DecodeSession openSession();

  @Override
  void close();
}
