package org.prefscore.runtime;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.prefscore.runtime.djl.HfTokenizer;
import org.prefscore.runtime.djl.OnnxCausalLm;
import org.prefscore.runtime.djl.OnnxSequenceClassifier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place models are loaded: at most once per JVM per {@link ModelSpec}, shared by every
 * task thread of an executor, closed when the JVM exits. Loading is synchronised per spec, so
 * concurrent tasks wait for the first load instead of loading twice.
 */
public final class ModelRegistry {

  private static final Logger LOG = LoggerFactory.getLogger(ModelRegistry.class);
  private static final ModelRegistry SHARED = new ModelRegistry();

  private final Map<ModelSpec, AutoCloseable> loaded = new ConcurrentHashMap<>();

  private ModelRegistry() {
    Runtime.getRuntime().addShutdownHook(new Thread(this::closeAll, "prefscore-model-registry"));
  }

  /** The JVM-wide registry. */
  public static ModelRegistry shared() {
    return SHARED;
  }

  /** The decoder for {@code spec}, loading it on first use. */
  public LanguageModel decoder(ModelSpec spec) {
    if (spec.kind() != ModelSpec.Kind.DECODER) {
      throw new IllegalArgumentException("not a decoder spec: " + spec);
    }
    return (LanguageModel) loaded.computeIfAbsent(spec, ModelRegistry::loadDecoder);
  }

  /** The reward model for {@code spec}, loading it on first use. */
  public RewardModel reward(ModelSpec spec) {
    if (spec.kind() != ModelSpec.Kind.REWARD) {
      throw new IllegalArgumentException("not a reward spec: " + spec);
    }
    return (RewardModel) loaded.computeIfAbsent(spec, ModelRegistry::loadReward);
  }

  /** Loads a decoder without caching it; the caller closes it. */
  public static LanguageModel loadDecoder(ModelSpec spec) {
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

  /** Loads a reward model without caching it; the caller closes it. */
  public static RewardModel loadReward(ModelSpec spec) {
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

  private void closeAll() {
    loaded.values().forEach(
        m -> {
          try {
            m.close();
          } catch (Exception e) {
            LOG.debug("closing a model at JVM exit failed", e);
          }
        });
    loaded.clear();
  }
}
