package org.prefscore.runtime;

/**
 * A loaded causal language model: its files' metadata, tokenizer and graph. Created by {@link
 * ModelRegistry}, once per JVM, and shared by all task threads.
 */
public record LanguageModel(ModelFiles files, TextTokenizer tokenizer, CausalLm graph)
    implements AutoCloseable {

  public LanguageModel {
    int width = graph.signature().logitsWidth();
    if (files.tokenizerVocabSize() > width) {
      throw new ModelLoadException(
          files.tokenizerFile(),
          "tokenizer has "
              + files.tokenizerVocabSize()
              + " ids but "
              + files.onnxFile().getFileName()
              + " gives "
              + width
              + " logits: the tokenizer does not belong to this model");
    }
  }

  @Override
  public void close() {
    graph.close();
    tokenizer.close();
  }
}
