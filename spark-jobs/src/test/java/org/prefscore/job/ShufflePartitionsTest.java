package org.prefscore.job;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Shuffle partitions sized to the data: a small run gets few, a large one at most Spark's 200. */
class ShufflePartitionsTest {

  @Test
  void aSmallRunGetsOnePartitionPerThousandRowsUpToItsSlots() {
    assertThat(ShufflePartitions.forRows(0, 2)).isEqualTo(1);
    assertThat(ShufflePartitions.forRows(12, 2)).isEqualTo(1); // 6 prompts, N = 2
    assertThat(ShufflePartitions.forRows(1_000, 16)).isEqualTo(1);
    assertThat(ShufflePartitions.forRows(2_432, 2)).isEqualTo(2); // the Quick start: 304 × 8
    assertThat(ShufflePartitions.forRows(2_432, 16)).isEqualTo(3);
  }

  @Test
  void aLargeRunFillsItsSlotsAndKeepsPartitionsBelowAHundredThousandRows() {
    assertThat(ShufflePartitions.forRows(100_000, 64)).isEqualTo(64);
    assertThat(ShufflePartitions.forRows(100_000, 2)).isEqualTo(2);
    assertThat(ShufflePartitions.forRows(10_000_000, 2)).isEqualTo(100);
    assertThat(ShufflePartitions.forRows(10_000_000, 512)).isEqualTo(200);
    assertThat(ShufflePartitions.forRows(Long.MAX_VALUE / 2, 0)).isEqualTo(200);
  }
}
