package org.prefscore.spark;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import org.apache.spark.sql.Row;
import org.apache.spark.unsafe.types.UTF8String;

/**
 * The rows of one partition as runs of one prompt each, read lazily: what a stage that works per
 * prompt needs when the rows are already where all of a prompt's rows are, so that no shuffle has
 * to bring them together.
 *
 * <p>That is the case for the samples of a west-of-n run: generation draws all N samples of a
 * prompt in one task, and its input is partitioned by a hash of prompt_id and sorted by (prompt_id,
 * input_row) in each partition ({@code PipelineRunner.byPrompt}), so its output holds each prompt's
 * samples together, the prompts in prompt_id order. This class relies on that order and checks it:
 * a prompt id that does not sort strictly after the previous run's (Spark's string order, as the
 * sort used it) means the rows were not laid out that way, and {@link #next()} throws rather than
 * split a prompt into two runs.
 *
 * <p>One run is held in memory at a time (a prompt's N samples), not the partition.
 */
public final class PromptRuns implements Iterator<PromptRuns.Run> {

  /** One prompt's consecutive rows, in the order they came. */
  public record Run(String promptId, List<Row> rows) {}

  private final Iterator<Row> rows;
  private Row pending;
  private String previous;

  /**
   * @param rows rows with a {@link OutputSchema#PROMPT_ID} column, grouped by prompt and the
   *     prompts in prompt_id order
   */
  public PromptRuns(Iterator<Row> rows) {
    this.rows = rows;
  }

  @Override
  public boolean hasNext() {
    return pending != null || rows.hasNext();
  }

  @Override
  public Run next() {
    if (!hasNext()) {
      throw new NoSuchElementException();
    }
    Row first = pending != null ? pending : rows.next();
    pending = null;
    String id = Rows.get(first, OutputSchema.PROMPT_ID);
    if (id == null) {
      throw new IllegalStateException("a row without prompt_id among a partition's samples");
    }
    if (previous != null
        && UTF8String.fromString(previous).compareTo(UTF8String.fromString(id)) >= 0) {
      throw new IllegalStateException(
          "prompt "
              + id
              + " follows prompt "
              + previous
              + " in its partition: the rows are not grouped by prompt in prompt_id order, as"
              + " generation's input partitioning (a hash of prompt_id, sorted by prompt_id and"
              + " input_row) lays them out");
    }
    List<Row> run = new ArrayList<>();
    run.add(first);
    while (rows.hasNext()) {
      Row r = rows.next();
      if (!id.equals(Rows.get(r, OutputSchema.PROMPT_ID))) {
        pending = r;
        break;
      }
      run.add(r);
    }
    previous = id;
    return new Run(id, run);
  }
}
