package org.prefscore.runtime;

/**
 * A loaded causal language model: its files' metadata, tokenizer and graph. Created by {@link
 * ModelLoader}; an executor keeps one per spec in its {@code ExecutorRegistry}, shared by all task
 * threads.
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

  /**
   * Token ids of a prompt (or prompt + response) as the model sees it: the tokenizer's special
   * tokens added, as {@code tokenizer(text)} does in transformers, except that a BOS the text
   * already starts with (chat templates often render {@code bos_token}) is not doubled.
   */
  public long[] encode(String text) {
    long[] ids = tokenizer.encode(text, true);
    long bos = files.bosTokenId();
    if (bos >= 0 && ids.length >= 2 && ids[0] == bos && ids[1] == bos) {
      return java.util.Arrays.copyOfRange(ids, 1, ids.length);
    }
    return ids;
  }

  @Override
  public void close() {
    graph.close();
    tokenizer.close();
  }
}
