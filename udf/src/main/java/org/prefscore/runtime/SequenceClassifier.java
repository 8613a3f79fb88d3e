package org.prefscore.runtime;

/**
 * A sequence classification graph with one logit per sequence (a reward model). Thread-safe; loaded
 * once per JVM.
 */
public interface SequenceClassifier extends AutoCloseable {

  /**
   * Scores {@code batch} right-padded rows.
   *
   * @param inputIds flat {@code [batch, seqLen]}
   * @param attentionMask flat {@code [batch, seqLen]}, 0 on padding
   * @return one logit per row
   */
  float[] classify(int batch, int seqLen, long[] inputIds, long[] attentionMask);

  @Override
  void close();
}
