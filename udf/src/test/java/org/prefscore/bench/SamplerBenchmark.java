package org.prefscore.bench;

import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.prefscore.runtime.decode.SamplingConfig;
import org.prefscore.runtime.decode.TokenSampler;

/**
 * CPU cost of choosing one token ({@link TokenSampler#choose}) per sample row and step, at the
 * vocabulary sizes of real models, on one thread. Not a test: a main class, run with
 *
 * <pre>
 * mvn -q -B -ntp -DskipTests install
 * mvn -q -B -ntp -pl udf exec:java -Dexec.classpathScope=test -Dexec.mainClass=org.prefscore.bench.SamplerBenchmark
 * </pre>
 *
 * Logits are drawn like a trained LM's (a few large values over a Gaussian bulk, std 3), not flat.
 * Prints CPU microseconds (the thread's CPU time, so other processes on the machine do not count)
 * per row for T = 0.7 with top-p 1.0 (the paper's setting), top-p 0.9 and greedy (one
 * log-normalizer pass). A step of B rows costs B times that on one sampling thread, divided by the
 * sampling threads (runtime.intra-op-threads) otherwise.
 */
public final class SamplerBenchmark {

  /** The thread's CPU time, not wall time: on a shared machine it counts only our own work. */
  private static final java.lang.management.ThreadMXBean CPU =
      java.lang.management.ManagementFactory.getThreadMXBean();

  private SamplerBenchmark() {}

  public static void main(String[] args) {
    int[] vocabs = {961, 32_000, 50_257, 151_936};
    List<SamplingConfig> configs =
        List.of(
            new SamplingConfig(1, 0.7, 0, 1.0, 1, List.of()),
            new SamplingConfig(1, 0.7, 0, 0.9, 1, List.of()),
            SamplingConfig.greedy(1));
    String[] names = {"T=0.7 top-p 1.0", "T=0.7 top-p 0.9", "greedy"};
    System.out.printf(
        Locale.ROOT,
        "%-8s %18s %18s %18s   (CPU us per row, median of 7 rounds; vector API / scalar where"
            + " the vector API weighs the row)%n",
        "vocab",
        names[0],
        names[1],
        names[2]);
    for (int vocab : vocabs) {
      float[][] rows = logits(vocab, 64);
      StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%-8d", vocab));
      for (SamplingConfig config : configs) {
        double scalar = microsPerRow(TokenSampler.scalarOnly(config, vocab), rows);
        TokenSampler sampler = new TokenSampler(config, vocab);
        String cell =
            sampler.weighsRowsInVectors()
                ? String.format(Locale.ROOT, "%.1f / %.1f", microsPerRow(sampler, rows), scalar)
                : String.format(Locale.ROOT, "%.1f", scalar);
        line.append(String.format(Locale.ROOT, " %18s", cell));
      }
      System.out.println(line);
    }
  }

  private static double microsPerRow(TokenSampler sampler, float[][] rows) {
    int vocab = rows[0].length;
    SplittableRandom random = new SplittableRandom(1);
    long sink = 0;
    double[] rounds = new double[7];
    int calls = Math.max(200, 20_000_000 / vocab);
    for (int warm = 0; warm < 3; warm++) {
      for (int i = 0; i < calls; i++) {
        sink +=
            sampler.choose(rows[i % rows.length], 0, vocab, null, 0, random.nextDouble()).token();
      }
    }
    for (int r = 0; r < rounds.length; r++) {
      long start = CPU.getCurrentThreadCpuTime();
      for (int i = 0; i < calls; i++) {
        sink +=
            sampler.choose(rows[i % rows.length], 0, vocab, null, 0, random.nextDouble()).token();
      }
      rounds[r] = (CPU.getCurrentThreadCpuTime() - start) / 1e3 / calls;
    }
    if (sink == 42) {
      System.out.print("");
    }
    java.util.Arrays.sort(rounds);
    return rounds[rounds.length / 2];
  }

  /** Rows of LM-like logits: Gaussian bulk (std 3) plus a handful of strong candidates. */
  private static float[][] logits(int vocab, int count) {
    SplittableRandom random = new SplittableRandom(vocab);
    float[][] rows = new float[count][vocab];
    for (float[] row : rows) {
      for (int i = 0; i < vocab; i++) {
        row[i] = (float) (gaussian(random) * 3.0);
      }
      for (int k = 0; k < 5; k++) {
        row[random.nextInt(vocab)] = (float) (12 + 4 * random.nextDouble());
      }
    }
    return rows;
  }

  private static double gaussian(SplittableRandom random) {
    double u = random.nextDouble();
    double v = random.nextDouble();
    return Math.sqrt(-2 * Math.log(Math.max(u, 1e-300))) * Math.cos(2 * Math.PI * v);
  }
}
