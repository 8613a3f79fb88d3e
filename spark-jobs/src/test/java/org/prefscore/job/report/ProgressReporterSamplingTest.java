package org.prefscore.job.report;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The reporter samples its counters for the report even when it prints no progress lines. */
class ProgressReporterSamplingTest {

  @Test
  void stagesAreSampledAtTheirBoundariesAndEveryHalfSecondInBetween() throws Exception {
    ByteArrayOutputStream printed = new ByteArrayOutputStream();
    AtomicLong prompts = new AtomicLong();
    AtomicLong tokens = new AtomicLong();
    ProgressSamples samples;
    // No session needed: with progress lines off (interval 0) the reporter never asks Spark.
    try (ProgressReporter reporter =
        new ProgressReporter(null, new PrintStream(printed), 0, new StageTimer(), "test")) {
      reporter.start();
      reporter.stage("read");
      prompts.set(5); // before the stage: not counted in it
      tokens.set(100);
      reporter.stage("generate", "prompts", 10, prompts::get, tokens::get);
      for (int i = 0; i < 6; i++) {
        Thread.sleep(250);
        prompts.addAndGet(1);
        tokens.addAndGet(200);
      }
      reporter.stage("write");
      samples = reporter.finish();
    }
    assertThat(printed.size()).isZero();
    List<ProgressSamples.Sample> generate =
        samples.samples().stream().filter(s -> s.stage().equals("generate")).toList();
    assertThat(generate.get(0)).matches(s -> s.boundary() && s.done() == 0 && s.tokens() == 0);
    ProgressSamples.Sample last = generate.get(generate.size() - 1);
    assertThat(last.boundary()).isTrue();
    assertThat(last.done()).isEqualTo(6);
    assertThat(last.tokens()).isEqualTo(1200);
    assertThat(last.unit()).isEqualTo("prompts");
    assertThat(generate.stream().filter(s -> !s.boundary()).count()).isBetween(1L, 20L);
    assertThat(generate)
        .isSortedAccordingTo((a, b) -> Long.compare(a.tokens(), b.tokens()))
        .isSortedAccordingTo((a, b) -> Double.compare(a.seconds(), b.seconds()));
    assertThat(samples.samples().get(0).stage()).isEqualTo("read");
    assertThat(samples.samples().get(samples.samples().size() - 1).stage()).isEqualTo("write");
  }
}
