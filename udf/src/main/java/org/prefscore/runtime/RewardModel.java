package org.prefscore.runtime;

/**
 * A loaded single-logit reward model: its files' metadata, tokenizer and graph. Created by {@link
 * ModelLoader}; an executor keeps one per spec in its {@code ExecutorRegistry}, shared by all task
 * threads.
 */
public record RewardModel(ModelFiles files, TextTokenizer tokenizer, SequenceClassifier graph)
    implements AutoCloseable {

  @Override
  public void close() {
    graph.close();
    tokenizer.close();
  }
}
