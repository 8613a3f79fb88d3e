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
 * @param onnxFile which ONNX graph of the directory ({@link OnnxGraphs#choose}): a path relative to
 *     it ({@code onnx/model_fp16.onnx}) or a file name; empty: the directory's only graph
 */
public record ModelSpec(String directory, Kind kind, EngineOptions engine, String onnxFile)
    implements Serializable {

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
    onnxFile = onnxFile == null ? "" : onnxFile.trim();
  }

  /** A directory's only graph. */
  public ModelSpec(String directory, Kind kind, EngineOptions engine) {
    this(directory, kind, engine, "");
  }

  /** The same model in another directory (e.g. the executor-local copy of a remote one). */
  public ModelSpec withDirectory(String localDirectory) {
    return new ModelSpec(localDirectory, kind, engine, onnxFile);
  }

  /** The same model with other engine options (e.g. the GPU Spark assigned to the task). */
  public ModelSpec withEngine(EngineOptions options) {
    return new ModelSpec(directory, kind, options, onnxFile);
  }

  /**
   * The same directory with another of its graphs ({@link OnnxGraphs#choose}; empty: the only one).
   */
  public ModelSpec withOnnxFile(String file) {
    return new ModelSpec(directory, kind, engine, file);
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
