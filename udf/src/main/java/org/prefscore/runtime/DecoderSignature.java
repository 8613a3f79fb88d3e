package org.prefscore.runtime;

/**
 * What a decoder graph takes and gives, discovered from the graph itself rather than assumed.
 *
 * @param numLayers number of transformer layers (pairs of {@code past_key_values.{i}.key/value})
 * @param numKvHeads key/value heads per layer (fewer than attention heads under grouped-query
 *     attention)
 * @param headDim size of one head; may differ from hidden size / heads (Gemma, Qwen3)
 * @param logitsWidth width of the {@code logits} output; may exceed the tokenizer's vocabulary
 *     (padded embedding rows still count in the softmax)
 * @param hasPositionIds whether the graph takes {@code position_ids}
 */
public record DecoderSignature(
    int numLayers, int numKvHeads, int headDim, int logitsWidth, boolean hasPositionIds) {

  public DecoderSignature {
    if (numLayers <= 0 || numKvHeads <= 0 || headDim <= 0 || logitsWidth <= 0) {
      throw new IllegalArgumentException(
          "decoder signature needs positive sizes, got layers="
              + numLayers
              + " kvHeads="
              + numKvHeads
              + " headDim="
              + headDim
              + " logitsWidth="
              + logitsWidth);
    }
  }
}
