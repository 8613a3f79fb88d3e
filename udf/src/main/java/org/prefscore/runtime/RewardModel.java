package org.prefscore.runtime;

/**
 * A loaded single-logit reward model: its files' metadata, tokenizer and graph. Created by {@link
 * ModelRegistry}, once per JVM, and shared by all task threads.
 */
public record RewardModel(ModelFiles files, TextTokenizer tokenizer, SequenceClassifier graph)
    implements AutoCloseable {

  @Override
  public void close() {
    graph.close();
    tokenizer.close();
  }
}
