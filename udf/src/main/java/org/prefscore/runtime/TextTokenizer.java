package org.prefscore.runtime;

/** Text to token ids and back, as the model's {@code tokenizer.json} defines it. Thread-safe. */
public interface TextTokenizer extends AutoCloseable {

  /**
   * Token ids of {@code text}.
   *
   * @param addSpecialTokens apply the tokenizer's post-processor (e.g. prepend BOS), as {@code
   *     tokenizer(text)} does in transformers
   */
  long[] encode(String text, boolean addSpecialTokens);

  /** Text of {@code ids}, special tokens skipped (transformers' {@code skip_special_tokens}). */
  String decode(long[] ids);

  @Override
  void close();
}
