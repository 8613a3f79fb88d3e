package org.prefscore.job.report.html;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class HistogramTest {

  @Test
  void valuesFallIntoHalfOpenBinsAndTheLastBinHoldsTheMaximum() {
    Histogram.Bins bins = new Histogram.Bins(0, 10, 5);
    assertThat(bins.indexOf(0)).isZero();
    assertThat(bins.indexOf(1.999)).isZero();
    assertThat(bins.indexOf(2)).isEqualTo(1);
    assertThat(bins.indexOf(9.999)).isEqualTo(4);
    assertThat(bins.indexOf(10)).isEqualTo(4);
    assertThat(bins.indexOf(-0.001)).isEqualTo(-1);
    assertThat(bins.indexOf(10.001)).isEqualTo(-1);
    assertThat(bins.indexOf(Double.NaN)).isEqualTo(-1);
    assertThat(bins.indexOf(Double.POSITIVE_INFINITY)).isEqualTo(-1);
    assertThat(bins.edge(0)).isEqualTo(0);
    assertThat(bins.edge(5)).isEqualTo(10);
  }

  @Test
  void aHistogramCountsEveryFiniteValueOnce() {
    double[] values = {0, 0.5, 2, 3.9, 4, 7, 10, Double.NaN, Double.NEGATIVE_INFINITY};
    Histogram h = Histogram.of(values, new Histogram.Bins(0, 10, 5));
    assertThat(h.counts()).containsExactly(2, 2, 1, 1, 1);
    assertThat(h.total()).isEqualTo(7);
    assertThat(h.maxCount()).isEqualTo(2);
    assertThat(h.edges()).containsExactly(0, 2, 4, 6, 8, 10);
  }

  @Test
  void equalValuesGetOneBinAroundThem() {
    Histogram.Bins bins = Histogram.Bins.covering(3, 3, 40);
    assertThat(bins.count()).isEqualTo(1);
    assertThat(bins.indexOf(3)).isZero();
    assertThat(Histogram.of(new double[] {3, 3, 3}, bins).counts()).containsExactly(3);
  }

  @Test
  void wholeNumbersGetOneBinEachCentredOnThem() {
    Histogram.Bins bins = Histogram.Bins.integers(1, 24, 80);
    assertThat(bins.count()).isEqualTo(24);
    for (int v = 1; v <= 24; v++) {
      assertThat(bins.indexOf(v)).isEqualTo(v - 1);
      assertThat((bins.edge(v - 1) + bins.edge(v)) / 2).isEqualTo(v);
    }
    assertThat(Histogram.Bins.integers(0, 1000, 80).count()).isEqualTo(80);
  }

  @Test
  void invalidBinsAreRefused() {
    assertThatThrownBy(() -> new Histogram.Bins(1, 1, 3))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new Histogram.Bins(0, Double.NaN, 3))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new Histogram(new double[] {0, 1}, new long[] {1, 2}))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
