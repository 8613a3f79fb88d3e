package org.prefscore.method;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class QuantilesTest {

  @Test
  void isTheInverseEmpiricalCdf() {
    double[] values = {5, 1, 4, 2, 3};

    assertThat(Quantiles.exact(values, 0.0)).isEqualTo(1);
    assertThat(Quantiles.exact(values, 0.2)).isEqualTo(1); // rank ceil(1.0) = 1
    assertThat(Quantiles.exact(values, 0.21)).isEqualTo(2); // rank ceil(1.05) = 2
    assertThat(Quantiles.exact(values, 0.5)).isEqualTo(3);
    assertThat(Quantiles.exact(values, 1.0)).isEqualTo(5);
    assertThat(values).containsExactly(5, 1, 4, 2, 3); // input untouched
  }

  @Test
  void fewerThanQnValuesLieStrictlyBelowAndAtLeastQnAtOrBelow() {
    Random random = new Random(3);
    for (int trial = 0; trial < 300; trial++) {
      int n = 1 + random.nextInt(60);
      double[] values = new double[n];
      for (int i = 0; i < n; i++) {
        values[i] = random.nextInt(10); // with ties
      }
      double q = random.nextDouble();
      double v = Quantiles.exact(values, q);
      long below = Arrays.stream(values).filter(x -> x < v).count();
      long atOrBelow = Arrays.stream(values).filter(x -> x <= v).count();
      assertThat((double) below).isLessThan(Math.max(q * n, 1e-9));
      assertThat((double) atOrBelow).isGreaterThanOrEqualTo(q * n);
    }
  }

  @Test
  void rejectsInvalidInput() {
    assertThatThrownBy(() -> Quantiles.exact(new double[0], 0.5))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Quantiles.exact(new double[] {1, Double.NaN}, 0.5))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("NaN");
    assertThatThrownBy(() -> Quantiles.exact(new double[] {1}, 1.5))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("q must be in [0, 1]");
  }
}
