package org.prefscore.runtime;

import java.io.Serializable;

/**
 * Which model to load and how: the small serializable value that travels in Spark closures and keys
 * the loaded models of {@code org.prefscore.executor.ExecutorRegistry}.
 *
 * @param directory path of the model directory (config.json, tokenizer.json, model.onnx): local
 *     when loaded; a Spark function first turns a Hadoop FS path (s3a://, hdfs://) into a local
 *     copy ({@code org.prefscore.spark.ModelPlacement})
 * @param kind a decoder or a reward model
 * @param engine engine options
 */
public record ModelSpec(String directory, Kind kind, EngineOptions engine) implements Serializable {

  /** What the directory holds. */
  public enum Kind {
    /** A causal language model with a KV cache (policy or reference). */
    DECODER,
    /** A sequence classifier with one logit. */
    REWARD
  }

  public ModelSpec {
    if (directory == null || directory.isBlank()) {
      throw new IllegalArgumentException("model directory must be set");
    }
    if (kind == null || engine == null) {
      throw new IllegalArgumentException("model kind and engine options must be set");
    }
  }

  /** The same model in another directory (e.g. the executor-local copy of a remote one). */
  public ModelSpec withDirectory(String localDirectory) {
    return new ModelSpec(localDirectory, kind, engine);
  }

  /** The same model with other engine options (e.g. the GPU Spark assigned to the task). */
  public ModelSpec withEngine(EngineOptions options) {
    return new ModelSpec(directory, kind, options);
  }

  /** A decoder on CPU with the given intra-op threads. */
  public static ModelSpec decoder(String directory, EngineOptions engine) {
    return new ModelSpec(directory, Kind.DECODER, engine);
  }

  /** A reward model on CPU with the given intra-op threads. */
  public static ModelSpec reward(String directory, EngineOptions engine) {
    return new ModelSpec(directory, Kind.REWARD, engine);
  }
}
