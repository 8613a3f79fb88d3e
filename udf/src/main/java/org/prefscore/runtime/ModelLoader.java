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

  /**
   * Loads a decoder; the caller closes it. ONNX Runtime builds the graph's session (most of a load)
   * on its own thread while the JSON files and the tokenizer are read and checked here; errors come
   * in the same order as read one after the other (the files' first, then the graph's).
   */
  public static LanguageModel loadDecoder(ModelSpec spec) {
    requireKind(spec, ModelSpec.Kind.DECODER);
    long start = System.nanoTime();
    Path directory = Path.of(spec.directory());
    Path onnx = ModelFiles.graphFile(directory, spec.onnxFile());
    BackgroundLoad<CausalLm> graphLoad =
        BackgroundLoad.start(
            "prefscore-load " + onnx.getFileName(), () -> OnnxCausalLm.load(onnx, spec.engine()));
    TextTokenizer tokenizer = null;
    CausalLm graph = null;
    try {
      ModelFiles files = ModelFiles.read(directory, spec.onnxFile());
      tokenizer = HfTokenizer.load(files.tokenizerFile());
      checkSpecialTokens(files, tokenizer);
      long filesNanos = System.nanoTime() - start;
      graph = graphLoad.get();
      LanguageModel model = new LanguageModel(files, tokenizer, graph);
      LOG.info(
          "loaded decoder {} ({}, {}) in {} ms (files and tokenizer {} ms, beside the graph)",
          files.directory(),
          files.modelType(),
          graph.signature(),
          (System.nanoTime() - start) / 1_000_000,
          filesNanos / 1_000_000);
      return model;
    } catch (RuntimeException | Error e) {
      releaseAfterFailure(graphLoad, graph, tokenizer, e);
      throw e;
    }
  }

  /** Loads a reward model; the caller closes it. Its session is built as {@link #loadDecoder}'s. */
  public static RewardModel loadReward(ModelSpec spec) {
    requireKind(spec, ModelSpec.Kind.REWARD);
    long start = System.nanoTime();
    Path directory = Path.of(spec.directory());
    Path onnx = ModelFiles.graphFile(directory, spec.onnxFile());
    BackgroundLoad<SequenceClassifier> graphLoad =
        BackgroundLoad.start(
            "prefscore-load " + onnx.getFileName(),
            () -> OnnxSequenceClassifier.load(onnx, spec.engine()));
    TextTokenizer tokenizer = null;
    SequenceClassifier graph = null;
    try {
      ModelFiles files = ModelFiles.read(directory, spec.onnxFile());
      tokenizer = HfTokenizer.load(files.tokenizerFile());
      checkSpecialTokens(files, tokenizer);
      graph = graphLoad.get();
      RewardModel model = new RewardModel(files, tokenizer, graph);
      LOG.info(
          "loaded reward model {} ({}) in {} ms",
          files.directory(),
          files.modelType(),
          (System.nanoTime() - start) / 1_000_000);
      return model;
    } catch (RuntimeException | Error e) {
      releaseAfterFailure(graphLoad, graph, tokenizer, e);
      throw e;
    }
  }

  /**
   * What a failed load had built: the graph (or, while it is still being built, its background
   * load, abandoned) and the tokenizer; their own failures are added to {@code cause}.
   */
  private static <G extends AutoCloseable> void releaseAfterFailure(
      BackgroundLoad<G> graphLoad, G graph, TextTokenizer tokenizer, Throwable cause) {
    if (graph == null) {
      graphLoad.abandon();
    } else {
      closeQuietly(graph, cause);
    }
    if (tokenizer != null) {
      tokenizer.close();
    }
  }

  private static void closeQuietly(AutoCloseable graph, Throwable cause) {
    try {
      graph.close();
    } catch (Exception suppressed) {
      cause.addSuppressed(suppressed);
    }
  }

  /**
   * The special tokens' texts and ids agree: the EOS text (tokenizer_config.json's {@code
   * eos_token}, else tokenizer.json's token of the first EOS id) is one token of tokenizer.json and
   * one of the EOS ids of generation_config.json / config.json; the BOS text, when there is a BOS
   * id, is that id. A tokenizer.json taken from another model fails here even when its ids fit the
   * logits.
   *
   * @throws ModelLoadException naming tokenizer.json and the disagreement
   */
  static void checkSpecialTokens(ModelFiles files, TextTokenizer tokenizer) {
    if (!files.eosToken().isEmpty()) {
      long[] ids = tokenizer.encode(files.eosToken(), false);
      if (ids.length != 1 || !files.eosTokenIds().contains(ids[0])) {
        throw new ModelLoadException(
            files.tokenizerFile(),
            "the EOS token '"
                + files.eosToken()
                + "' is "
                + describe(ids)
                + " in tokenizer.json, but the model's EOS ids are "
                + files.eosTokenIds()
                + " (generation_config.json / config.json): the tokenizer does not belong to this"
                + " model");
      }
    }
    if (files.bosTokenId() >= 0 && !files.bosToken().isEmpty()) {
      long[] ids = tokenizer.encode(files.bosToken(), false);
      if (ids.length != 1 || ids[0] != files.bosTokenId()) {
        throw new ModelLoadException(
            files.tokenizerFile(),
            "the BOS token '"
                + files.bosToken()
                + "' is "
                + describe(ids)
                + " in tokenizer.json, but the model's bos_token_id is "
                + files.bosTokenId()
                + " (generation_config.json / config.json): the tokenizer does not belong to this"
                + " model");
      }
    }
  }

  private static String describe(long[] ids) {
    return ids.length == 1
        ? "id " + ids[0]
        : "not one token (ids " + java.util.Arrays.toString(ids) + ")";
  }

  private static void requireKind(ModelSpec spec, ModelSpec.Kind kind) {
    if (spec.kind() != kind) {
      throw new IllegalArgumentException("not a " + kind.name().toLowerCase() + " spec: " + spec);
    }
  }
}
