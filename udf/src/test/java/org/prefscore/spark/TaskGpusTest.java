package org.prefscore.spark;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Spark's GPU addresses → the CUDA ordinal ONNX Runtime is given. */
class TaskGpusTest {

  @Test
  void theFirstAssignedAddressIsTheOrdinal() {
    assertThat(TaskGpus.ordinal(new String[] {"1"}, null, 0)).isEqualTo(1);
    assertThat(TaskGpus.ordinal(new String[] {"3", "2"}, "", 0)).isEqualTo(3);
  }

  @Test
  void noAssignmentOrAnAddressThatIsNoNumberFallsBack() {
    assertThat(TaskGpus.ordinal(null, null, 0)).isZero();
    assertThat(TaskGpus.ordinal(new String[0], null, 2)).isEqualTo(2);
    assertThat(TaskGpus.ordinal(new String[] {"GPU-8f2c"}, null, 0)).isZero();
  }

  @Test
  void visibleDevicesRenumberFromZero() {
    // The process sees physical GPUs 2 and 3 as CUDA devices 0 and 1.
    assertThat(TaskGpus.ordinal(new String[] {"3"}, "2,3", 0)).isEqualTo(1);
    assertThat(TaskGpus.ordinal(new String[] {"2"}, "2, 3", 0)).isEqualTo(0);
    // Addresses that are not listed (already renumbered by isolation) are taken as they are.
    assertThat(TaskGpus.ordinal(new String[] {"0"}, "5", 0)).isEqualTo(0);
  }

  @Test
  void outsideATaskTheFallbackIsUsed() {
    assertThat(TaskGpus.deviceForTask(4)).isEqualTo(4);
  }
}
