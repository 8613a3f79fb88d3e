package org.prefscore.runtime.score;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class LengthBatchesTest {

  @Test
  void everyItemLandsInExactlyOneBatchWithinBudget() {
    Random random = new Random(3);
    int[] lengths = random.ints(500, 1, 200).toArray();
    List<int[]> batches = LengthBatches.plan(lengths, 1024, 32);
    int[] seen = new int[lengths.length];
    for (int[] batch : batches) {
      int longest = Arrays.stream(batch).map(i -> lengths[i]).max().orElseThrow();
      assertThat(batch.length).isLessThanOrEqualTo(32);
      assertThat((long) batch.length * longest).isLessThanOrEqualTo(1024);
      for (int i : batch) {
        seen[i]++;
      }
    }
    assertThat(seen).containsOnly(1);
  }

  @Test
  void anItemLongerThanTheBudgetRunsAlone() {
    List<int[]> batches = LengthBatches.plan(new int[] {5, 5000, 6}, 100, 10);
    assertThat(batches).hasSize(2);
    assertThat(batches.get(0)).containsExactly(0, 2);
    assertThat(batches.get(1)).containsExactly(1);
  }
}
