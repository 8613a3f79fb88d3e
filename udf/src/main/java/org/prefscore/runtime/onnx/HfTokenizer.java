package org.prefscore.runtime.onnx;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.IOException;
import java.nio.file.Path;
import org.prefscore.runtime.ModelLoadException;
import org.prefscore.runtime.TextTokenizer;

/**
 * A local {@code tokenizer.json} through DJL's Hugging Face tokenizers binding (the same Rust
 * library transformers' fast tokenizers use). Never downloads; no truncation, no padding.
 */
public final class HfTokenizer implements TextTokenizer {

  private final HuggingFaceTokenizer tokenizer;

  private HfTokenizer(HuggingFaceTokenizer tokenizer) {
    this.tokenizer = tokenizer;
  }

  /** Loads {@code tokenizer.json}. */
  public static HfTokenizer load(Path tokenizerJson) {
    try {
      return new HfTokenizer(
          HuggingFaceTokenizer.builder()
              .optTokenizerPath(tokenizerJson)
              .optAddSpecialTokens(true)
              .optTruncation(false)
              .optPadding(false)
              .build());
    } catch (IOException | RuntimeException e) {
      throw new ModelLoadException(tokenizerJson, "cannot load tokenizer: " + e.getMessage(), e);
    }
  }

  @Override
  public long[] encode(String text, boolean addSpecialTokens) {
    return tokenizer.encode(text, addSpecialTokens, false).getIds();
  }

  @Override
  public String decode(long[] ids) {
    return tokenizer.decode(ids, true);
  }

  @Override
  public void close() {
    tokenizer.close();
  }
}
