package org.prefscore.job.report.html;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.prefscore.job.report.ProgressSamples;

class ProgressSamplesTest {

  @Test
  void samplesStayBoundedAndKeepTheStageBoundaries() {
    ProgressSamples samples = new ProgressSamples(500, 100);
    samples.add(new ProgressSamples.Sample(0, "generate", "prompts", 0, 0, true));
    // Ten hours sampled as the reporter samples: one sample per current period.
    long next = samples.periodMillis();
    for (long t = 1; t < 36_000_000L; t += 100) {
      if (t >= next) {
        samples.add(new ProgressSamples.Sample(t / 1000.0, "generate", "prompts", t, t, false));
        next = t + samples.periodMillis();
      }
    }
    samples.add(new ProgressSamples.Sample(36_000, "generate", "prompts", 1, 1, true));
    List<ProgressSamples.Sample> kept = samples.samples();
    assertThat(kept.size()).isLessThan(100).isGreaterThan(40);
    assertThat(kept.get(0).boundary()).isTrue();
    assertThat(kept.get(kept.size() - 1).boundary()).isTrue();
    assertThat(kept).isSortedAccordingTo((a, b) -> Double.compare(a.seconds(), b.seconds()));
    // 36,000 s over at most 100 samples: a period of at least 360 s, reached by doubling 500 ms.
    assertThat(samples.periodMillis()).isGreaterThanOrEqualTo(360_000L).isLessThan(2 * 720_000L);
  }

  @Test
  void theJsonFileReadsBackAsTheSamples() {
    ProgressSamples samples = new ProgressSamples(500, 100);
    samples.add(new ProgressSamples.Sample(1.25, "read", null, 0, 0, true));
    samples.add(new ProgressSamples.Sample(2.5, "score", "pairs", 7, 1234, false));
    assertThat(ProgressSamples.fromJson(samples.toJson())).isEqualTo(samples.samples());
    assertThat(ProgressSamples.fromJson(null)).isEmpty();
  }
}
