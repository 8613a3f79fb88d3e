package org.prefscore.runtime;

/**
 * What a graph's sampling head computed for the last position of each row of a forward pass (see
 * docs/deploy.md#a-sampling-head): for each block of {@code blockSize} consecutive ids (the logits
 * width is {@code blocks × blockSize}), the block's share of softmax(logits) and its share of
 * softmax(logits / temperature). Values come from the graph as it is: the sampler checks them
 * before it trusts them.
 *
 * @param blocks blocks per row
 * @param blockSize ids per block
 * @param temperature the temperature of {@code warpedMass}
 * @param mass flat {@code [rows, blocks]}, summing to 1 per row
 * @param warpedMass flat {@code [rows, blocks]}, summing to 1 per row
 */
public record SamplingHead(
    int blocks, int blockSize, double temperature, float[] mass, float[] warpedMass) {

  public SamplingHead {
    if (blocks < 1 || blockSize < 1) {
      throw new IllegalArgumentException(
          "a sampling head needs blocks >= 1 and block size >= 1, got "
              + blocks
              + ", "
              + blockSize);
    }
    if (mass.length != warpedMass.length || mass.length % blocks != 0) {
      throw new IllegalArgumentException(
          "sampling head arrays of "
              + mass.length
              + " and "
              + warpedMass.length
              + " values are not rows of "
              + blocks
              + " blocks");
    }
  }

  /** Offset in the arrays of the first block of logits row {@code row}. */
  public int offset(int row) {
    return row * blocks;
  }

  /** The width of a logits row this head describes. */
  public int width() {
    return blocks * blockSize;
  }
}
