package org.prefscore.runtime;

import java.nio.file.Path;
import org.prefscore.runtime.onnx.HfTokenizer;
import org.prefscore.runtime.onnx.OnnxCausalLm;
import org.prefscore.runtime.onnx.OnnxSequenceClassifier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads a model directory into a {@link LanguageModel} or {@link RewardModel}: its files ({@link
 * ModelFiles}), its tokenizer and its ONNX graph. Nothing is cached here; an executor keeps one
 * loaded model per spec in {@code org.prefscore.executor.ExecutorRegistry}.
 */
public final class ModelLoader {

  private static final Logger LOG = LoggerFactory.getLogger(ModelLoader.class);

  private ModelLoader() {}

  /** Loads a decoder; the caller closes it. */
  public static LanguageModel loadDecoder(ModelSpec spec) {
    requireKind(spec, ModelSpec.Kind.DECODER);
    long start = System.nanoTime();
    ModelFiles files = ModelFiles.read(Path.of(spec.directory()));
    TextTokenizer tokenizer = HfTokenizer.load(files.tokenizerFile());
    try {
      CausalLm graph = OnnxCausalLm.load(files.onnxFile(), spec.engine());
      LanguageModel model = new LanguageModel(files, tokenizer, graph);
      LOG.info(
          "loaded decoder {} ({}, {}) in {} ms",
          files.directory(),
          files.modelType(),
          graph.signature(),
          (System.nanoTime() - start) / 1_000_000);
      return model;
    } catch (RuntimeException e) {
      tokenizer.close();
      throw e;
    }
  }

  /** Loads a reward model; the caller closes it. */
  public static RewardModel loadReward(ModelSpec spec) {
    requireKind(spec, ModelSpec.Kind.REWARD);
    long start = System.nanoTime();
    ModelFiles files = ModelFiles.read(Path.of(spec.directory()));
    TextTokenizer tokenizer = HfTokenizer.load(files.tokenizerFile());
    try {
      SequenceClassifier graph = OnnxSequenceClassifier.load(files.onnxFile(), spec.engine());
      LOG.info(
          "loaded reward model {} ({}) in {} ms",
          files.directory(),
          files.modelType(),
          (System.nanoTime() - start) / 1_000_000);
      return new RewardModel(files, tokenizer, graph);
    } catch (RuntimeException e) {
      tokenizer.close();
      throw e;
    }
  }

  private static void requireKind(ModelSpec spec, ModelSpec.Kind kind) {
    if (spec.kind() != kind) {
      throw new IllegalArgumentException("not a " + kind.name().toLowerCase() + " spec: " + spec);
    }
  }
}
