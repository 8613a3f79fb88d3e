package org.prefscore.bench;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.prefscore.runtime.EngineOptions;
import org.prefscore.runtime.ModelFiles;
import org.prefscore.runtime.ModelLoader;
import org.prefscore.runtime.ModelSpec;
import org.prefscore.runtime.TextTokenizer;
import org.prefscore.runtime.onnx.HfTokenizer;
import org.prefscore.runtime.onnx.OnnxCausalLm;

/**
 * How long {@link ModelLoader#loadDecoder} takes against a bare ONNX Runtime session of the same
 * graph with the same options (the part of a load no loader can avoid), and where the difference
 * goes. One JVM; the first load (which also pays the JVM's one-time engine and tokenizer library
 * start-up) is reported apart from the later ones, which are what an executor pays per model.
 *
 * <p>Each round, in this order: our load ({@code loadDecoder}, closed), a bare {@code OrtSession}
 * (ALL_OPT, no spinning, the same intra-op threads, one inter-op thread: as {@code OrtSessions}
 * opens ours), then the load's parts one after the other ({@link ModelFiles#read}, {@link
 * HfTokenizer#load}, the special-token encodes of {@code ModelLoader.checkSpecialTokens}, {@link
 * OnnxCausalLm#load}: session, layout and the one-token test pass). Wall and process CPU time per
 * part; medians over the rounds. The machine's load average is printed before and after.
 *
 * <pre>
 * mvn -B -ntp -o -q -pl udf -am test-compile
 * mvn -B -ntp -o -q -pl udf org.apache.maven.plugins:maven-dependency-plugin:3.6.1:build-classpath \
 *     -Dmdep.outputFile=/tmp/udf-cp.txt
 * java -cp udf/target/test-classes:udf/target/classes:$(cat /tmp/udf-cp.txt) \
 *     org.prefscore.bench.LoadBenchmark bench/target/bench-qwen3 [rounds=5] [threads=2]
 * </pre>
 */
public final class LoadBenchmark {

  private LoadBenchmark() {}

  public static void main(String[] args) throws Exception {
    if (args.length < 1) {
      System.err.println("usage: LoadBenchmark MODEL_DIR [ROUNDS] [THREADS]");
      System.exit(2);
    }
    Path dir = Path.of(args[0]);
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
    int threads = args.length > 2 ? Integer.parseInt(args[2]) : 2;
    EngineOptions engine = EngineOptions.cpu(threads);
    ModelSpec spec = ModelSpec.decoder(dir.toString(), engine);
    System.out.printf(
        Locale.ROOT,
        "machine: %d CPUs, %s; load average %s%n",
        Runtime.getRuntime().availableProcessors(),
        System.getProperty("java.vm.name") + " " + System.getProperty("java.version"),
        loadAverage());

    Timer first = Timer.start();
    ModelLoader.loadDecoder(spec).close();
    Timing firstLoad = first.stop();
    Path onnx = ModelFiles.read(dir).onnxFile();
    Timer firstBare = Timer.start();
    bareSession(onnx, threads).close();
    Timing firstSession = firstBare.stop();
    System.out.printf(
        Locale.ROOT, "first load %s; first bare session after it %s%n", firstLoad, firstSession);

    Map<String, List<Timing>> parts = new LinkedHashMap<>();
    for (int r = 0; r < rounds; r++) {
      // Ours and the bare session take turns going first.
      for (int k = 0; k < 2; k++) {
        if ((r + k) % 2 == 0) {
          Timer t = Timer.start();
          ModelLoader.loadDecoder(spec).close();
          add(parts, "ours (loadDecoder)", t.stop());
        } else {
          Timer t = Timer.start();
          bareSession(onnx, threads).close();
          add(parts, "bare OrtSession", t.stop());
        }
      }
      Timer t = Timer.start();
      ModelFiles files = ModelFiles.read(dir);
      add(parts, "  ModelFiles.read", t.stop());
      t = Timer.start();
      TextTokenizer tokenizer = HfTokenizer.load(files.tokenizerFile());
      add(parts, "  HfTokenizer.load", t.stop());
      t = Timer.start();
      tokenizer.encode(files.eosToken(), false);
      if (!files.bosToken().isEmpty()) {
        tokenizer.encode(files.bosToken(), false);
      }
      add(parts, "  special-token check", t.stop());
      tokenizer.close();
      t = Timer.start();
      OnnxCausalLm.load(onnx, engine).close();
      add(parts, "  OnnxCausalLm.load", t.stop());
      System.err.printf(
          Locale.ROOT, "round %d/%d, load average %s%n", r + 1, rounds, loadAverage());
    }
    System.out.printf(
        Locale.ROOT, "later loads, medians of %d rounds (wall, process CPU):%n", rounds);
    for (Map.Entry<String, List<Timing>> e : parts.entrySet()) {
      System.out.printf(Locale.ROOT, "  %-24s %s%n", e.getKey(), Timing.median(e.getValue()));
    }
    double ours = Timing.median(parts.get("ours (loadDecoder)")).wallMs;
    double bare = Timing.median(parts.get("bare OrtSession")).wallMs;
    System.out.printf(
        Locale.ROOT,
        "ours - bare: %+.0f ms (median wall); per round: %s; load average %s%n",
        ours - bare,
        perRoundDifference(parts),
        loadAverage());
    // One JSON line for bench/qwen3.sh's table (bench/report_qwen3.py).
    ObjectNode json = new ObjectMapper().createObjectNode();
    json.put("bench", "load").put("rounds", rounds).put("first_load_ms", firstLoad.wallMs);
    json.put("later_load_ms", ours).put("later_bare_session_ms", bare);
    System.out.println(json.put("beyond_bare_ms", ours - bare));
  }

  private static String perRoundDifference(Map<String, List<Timing>> parts) {
    List<Timing> ours = parts.get("ours (loadDecoder)");
    List<Timing> bare = parts.get("bare OrtSession");
    List<String> out = new ArrayList<>();
    for (int i = 0; i < ours.size(); i++) {
      out.add(String.format(Locale.ROOT, "%+.0f", ours.get(i).wallMs - bare.get(i).wallMs));
    }
    return String.join(" ", out);
  }

  private static void add(Map<String, List<Timing>> parts, String name, Timing timing) {
    parts.computeIfAbsent(name, k -> new ArrayList<>()).add(timing);
  }

  /** A session as {@code OrtSessions} opens ours on CPU. */
  private static OrtSession bareSession(Path onnx, int threads) throws Exception {
    try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
      options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
      options.addConfigEntry("session.intra_op.allow_spinning", "0");
      options.setIntraOpNumThreads(threads);
      options.setInterOpNumThreads(1);
      return OrtEnvironment.getEnvironment().createSession(onnx.toString(), options);
    }
  }

  private static String loadAverage() {
    try {
      return Files.readString(Path.of("/proc/loadavg")).trim();
    } catch (java.io.IOException e) {
      return String.format(
          Locale.ROOT, "%.2f", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
    }
  }

  /** This process's user and system CPU time in ms, from /proc/self/stat (clock ticks of 10 ms). */
  private static double[] processCpuMs() {
    try {
      String stat = Files.readString(Path.of("/proc/self/stat"));
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      return new double[] {Long.parseLong(f[11]) * 10.0, Long.parseLong(f[12]) * 10.0};
    } catch (java.io.IOException | RuntimeException e) {
      double total =
          ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                  .getProcessCpuTime()
              / 1e6;
      return new double[] {total, 0};
    }
  }

  /** Wall, process user and process system CPU time of one part. */
  record Timing(double wallMs, double userMs, double sysMs) {
    static Timing median(List<Timing> timings) {
      return new Timing(
          median(timings.stream().mapToDouble(Timing::wallMs).toArray()),
          median(timings.stream().mapToDouble(Timing::userMs).toArray()),
          median(timings.stream().mapToDouble(Timing::sysMs).toArray()));
    }

    private static double median(double[] values) {
      double[] sorted = values.clone();
      Arrays.sort(sorted);
      int n = sorted.length;
      return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    @Override
    public String toString() {
      return String.format(
          Locale.ROOT, "%6.0f ms wall, CPU %5.0f ms user + %5.0f ms sys", wallMs, userMs, sysMs);
    }
  }

  private record Timer(long wall, double[] cpu) {
    static Timer start() {
      return new Timer(System.nanoTime(), processCpuMs());
    }

    Timing stop() {
      double[] now = processCpuMs();
      return new Timing((System.nanoTime() - wall) / 1e6, now[0] - cpu[0], now[1] - cpu[1]);
    }
  }
}
