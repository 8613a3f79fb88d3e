package org.prefscore.spark;

import java.util.List;
import java.util.Optional;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.sql.Row;
import org.prefscore.method.FilterReason;
import org.prefscore.method.PairFilter;

/**
 * Applies the West-of-N filters (method.md §1.5) to {@link OutputSchema#PAIR_WORK} rows holding a
 * pair; rejects pass through. The filters are built on the driver once the global cuts are known;
 * the first filter that fails names the row's {@code filter_reason}.
 */
public final class PairFilterFunction implements MapFunction<Row, Row> {

  private static final long serialVersionUID = 1L;

  private final List<PairFilter> filters;

  /**
   * @param filters in order of precedence (confidence first)
   */
  public PairFilterFunction(List<PairFilter> filters) {
    this.filters = List.copyOf(filters);
  }

  @Override
  public Row call(Row row) {
    if (Rows.get(row, OutputSchema.REJECT_REASON) != null || filters.isEmpty()) {
      return row;
    }
    var pair = WestOfNGroupFunction.pairOf(row);
    for (PairFilter filter : filters) {
      Optional<FilterReason> reason = filter.check(pair);
      if (reason.isPresent()) {
        return Rows.of(OutputSchema.PAIR_WORK)
            .copyFrom(row)
            .set(OutputSchema.FILTER_REASON, reason.get().name())
            .build();
      }
    }
    return row;
  }
}
