package org.prefscore.spark;

import java.util.Collections;
import java.util.Iterator;
import java.util.NoSuchElementException;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;

/**
 * West-of-N step 3 where the samples already are: one partition of generation's {@link
 * OutputSchema#SAMPLES} rows (reject rows removed) in, one {@link OutputSchema#PAIR_WORK} row per
 * prompt out, a pair or a reject, exactly as {@link WestOfNGroupFunction} selects it.
 *
 * <p>Generation draws all N samples of a prompt in one task and emits them together, in prompt_id
 * order ({@link PromptRuns}), so selection needs no shuffle: the prompt's text (x, p ⊕ x, and its
 * messages), which rides on its sample 0, does not cross the network here, and the pairs stay on
 * generation's partitions, which are the partitions (a hash of prompt_id) and the order (prompt_id)
 * that scoring wants. Output is lazy: one prompt's samples are held at a time.
 */
public final class WestOfNSelectFunction implements MapPartitionsFunction<Row, Row> {

  private static final long serialVersionUID = 1L;

  private final WestOfNGroupFunction selection;

  /**
   * @param truncatedSamples selection.truncated: whether samples that stopped at max-new-tokens are
   *     candidates
   */
  public WestOfNSelectFunction(TruncatedSamples truncatedSamples) {
    this.selection = new WestOfNGroupFunction(truncatedSamples);
  }

  @Override
  public Iterator<Row> call(Iterator<Row> samples) {
    PromptRuns runs = new PromptRuns(samples);
    return new Iterator<>() {
      private Iterator<Row> current = Collections.emptyIterator();

      @Override
      public boolean hasNext() {
        while (!current.hasNext() && runs.hasNext()) {
          PromptRuns.Run run = runs.next();
          current = selection.call(run.promptId(), run.rows().iterator());
        }
        return current.hasNext();
      }

      @Override
      public Row next() {
        if (!hasNext()) {
          throw new NoSuchElementException();
        }
        return current.next();
      }
    };
  }
}
