package org.prefscore.job.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A Spark standalone cluster on 127.0.0.1 made of real processes: one master and N workers, each
 * started the way {@code sbin/start-master.sh} / {@code bin/spark-class} do it, i.e. through
 * Spark's own launcher ({@code org.apache.spark.launcher.Main <class> args}, which prints the
 * command to run, NUL-separated), from a Spark home stand-in whose {@code jars/} folder the build
 * fills with spark-core/sql's dependency jars (no Spark distribution). Applications are submitted
 * the same way with {@code org.apache.spark.deploy.SparkSubmit}, which is all {@code
 * bin/spark-submit} does.
 *
 * <p>Every wait is bounded; {@link #close} (and a JVM shutdown hook, should the test JVM be told to
 * stop) ends every process this class started together with its descendants (executors are children
 * of the workers).
 */
final class StandaloneCluster implements AutoCloseable {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String HOST = "127.0.0.1";

  private final Path sparkHome;
  private final Path dir;
  private final Path logs;
  private final Map<String, String> env;
  private final List<Started> started = new ArrayList<>();
  private final Set<Integer> portsTaken = new HashSet<>();
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private final Thread shutdownHook = new Thread(this::stopAll, "standalone-cluster-stop");

  private int masterPort;
  private int masterUiPort;
  private final List<Integer> workerUiPorts = new ArrayList<>();
  private final List<Path> workDirs = new ArrayList<>();

  private record Started(String name, Process process, Path log) {}

  /** What a spark-submit run left: its exit status and where its output went. */
  record Submission(int exitCode, Path stdout, Path stderr) {
    String stdoutText() {
      return read(stdout);
    }
  }

  /**
   * @param sparkHome the Spark home stand-in (with {@code jars/})
   * @param dir scratch folder of this cluster (logs, work dirs); must exist
   * @param daemonJavaOptions JVM flags for master and workers (the --add-opens list)
   */
  StandaloneCluster(Path sparkHome, Path dir, String daemonJavaOptions) throws IOException {
    this.sparkHome = sparkHome;
    this.dir = dir;
    this.logs = Files.createDirectories(dir.resolve("logs"));
    if (!Files.isDirectory(sparkHome.resolve("jars"))) {
      throw new IllegalStateException(
          sparkHome.resolve("jars") + " is missing (built at pre-integration-test)");
    }
    Map<String, String> e = new HashMap<>(System.getenv());
    // Nothing from the calling shell may redirect Spark (another SPARK_HOME, a conf dir, extra
    // jars).
    e.keySet()
        .removeIf(
            k ->
                k.startsWith("SPARK_")
                    || k.startsWith("HADOOP_")
                    || k.startsWith("YARN_")
                    || k.equals("CLASSPATH")
                    || k.equals("JAVA_TOOL_OPTIONS")
                    || k.equals("_JAVA_OPTIONS")
                    || k.equals("JDK_JAVA_OPTIONS"));
    e.put("SPARK_HOME", sparkHome.toString());
    e.put("SPARK_SCALA_VERSION", "2.12"); // what bin/load-spark-env.sh sets; the launcher needs it
    e.put("JAVA_HOME", System.getProperty("java.home"));
    e.put("SPARK_LOCAL_IP", HOST);
    e.put("SPARK_CONF_DIR", Files.createDirectories(dir.resolve("conf")).toString());
    e.put("SPARK_DAEMON_MEMORY", "384m");
    // A taken port must fail loudly rather than make a daemon move to the next one.
    e.put("SPARK_DAEMON_JAVA_OPTS", daemonJavaOptions + " -Dspark.port.maxRetries=0");
    e.put("SPARK_MASTER_OPTS", "-Dspark.master.rest.enabled=false");
    this.env = e;
    Runtime.getRuntime().addShutdownHook(shutdownHook);
  }

  String masterUrl() {
    return "spark://" + HOST + ":" + masterPort;
  }

  Path workDir(int worker) {
    return workDirs.get(worker);
  }

  /** Starts the master and {@code workers} workers (cores and memory each); does not wait. */
  void start(int workers, int cores, String memory) throws IOException, InterruptedException {
    masterPort = freePort();
    masterUiPort = freePort();
    spawn(
        "master",
        "org.apache.spark.deploy.master.Master",
        List.of(
            "--host",
            HOST,
            "--port",
            Integer.toString(masterPort),
            "--webui-port",
            Integer.toString(masterUiPort)));
    for (int i = 0; i < workers; i++) {
      int port = freePort();
      int uiPort = freePort();
      Path work = Files.createDirectories(dir.resolve("work-" + (i + 1)));
      workerUiPorts.add(uiPort);
      workDirs.add(work);
      spawn(
          "worker-" + (i + 1),
          "org.apache.spark.deploy.worker.Worker",
          List.of(
              "--host",
              HOST,
              "--port",
              Integer.toString(port),
              "--webui-port",
              Integer.toString(uiPort),
              "--cores",
              Integer.toString(cores),
              "--memory",
              memory,
              "--work-dir",
              work.toString(),
              masterUrl()));
    }
  }

  /**
   * Waits until the master is ALIVE with {@code workers} ALIVE workers; fails with the logs' tails
   * when a daemon dies or the timeout passes.
   */
  JsonNode awaitWorkers(int workers, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    JsonNode state = null;
    while (System.nanoTime() < deadline) {
      for (Started s : started) {
        if (!s.process().isAlive()) {
          throw new AssertionError(
              s.name()
                  + " exited with "
                  + s.process().exitValue()
                  + " while the cluster was starting\n"
                  + diagnostics());
        }
      }
      state = masterState();
      if (state != null
          && "ALIVE".equals(state.path("status").asText())
          && state.path("aliveworkers").asInt() == workers) {
        return state;
      }
      Thread.sleep(500);
    }
    throw new AssertionError(
        "the cluster did not come up with "
            + workers
            + " workers in "
            + timeout.toSeconds()
            + " s; last master state: "
            + state
            + "\n"
            + diagnostics());
  }

  /**
   * The master's JSON status (http://127.0.0.1:&lt;ui&gt;/json/), or null while it does not answer.
   */
  JsonNode masterState() {
    return getJson(masterUiPort);
  }

  /** A worker's JSON status (its executors, finished ones included), or null. */
  JsonNode workerState(int worker) {
    return getJson(workerUiPorts.get(worker));
  }

  /** Polls the master until {@code condition} holds of its state; the last state either way. */
  JsonNode awaitMaster(Predicate<JsonNode> condition, Duration timeout)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    JsonNode state = masterState();
    while ((state == null || !condition.test(state)) && System.nanoTime() < deadline) {
      Thread.sleep(500);
      state = masterState();
    }
    return state;
  }

  private JsonNode getJson(int port) {
    HttpRequest request =
        HttpRequest.newBuilder(URI.create("http://" + HOST + ":" + port + "/json/"))
            .timeout(Duration.ofSeconds(5))
            .GET()
            .build();
    try {
      HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
      return response.statusCode() == 200 ? JSON.readTree(response.body()) : null;
    } catch (IOException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  /**
   * spark-submit {@code args} (everything after {@code spark-submit}) as a separate process and
   * waits for it; on timeout the driver is killed and the test fails with the logs' tails.
   */
  Submission submit(String name, List<String> args, Duration timeout)
      throws IOException, InterruptedException {
    Path out = logs.resolve(name + ".out");
    Path err = logs.resolve(name + ".err");
    List<String> command = launchCommand("org.apache.spark.deploy.SparkSubmit", args);
    Files.writeString(logs.resolve(name + ".command"), String.join("\n", command));
    ProcessBuilder pb =
        new ProcessBuilder(command)
            .directory(dir.toFile())
            .redirectOutput(out.toFile())
            .redirectError(err.toFile());
    pb.environment().clear();
    pb.environment().putAll(env);
    Process p = pb.start();
    synchronized (started) {
      started.add(new Started(name, p, err));
    }
    if (!p.waitFor(timeout.toSeconds(), TimeUnit.SECONDS)) {
      String diagnostics = diagnostics();
      stop(p);
      throw new AssertionError(
          name + " did not finish in " + timeout.toSeconds() + " s\n" + diagnostics);
    }
    return new Submission(p.exitValue(), out, err);
  }

  /**
   * spark-submit {@code args} as a separate process, not waited for (a driver to kill midway);
   * {@link #close} stops it like every other process of the cluster.
   */
  Process launch(String name, List<String> args) throws IOException, InterruptedException {
    Path out = logs.resolve(name + ".out");
    Path err = logs.resolve(name + ".err");
    List<String> command = launchCommand("org.apache.spark.deploy.SparkSubmit", args);
    ProcessBuilder pb =
        new ProcessBuilder(command)
            .directory(dir.toFile())
            .redirectOutput(out.toFile())
            .redirectError(err.toFile());
    pb.environment().clear();
    pb.environment().putAll(env);
    Process p = pb.start();
    synchronized (started) {
      started.add(new Started(name, p, err));
    }
    return p;
  }

  /** The running executor JVMs (CoarseGrainedExecutorBackend children of the workers). */
  List<ProcessHandle> executors() {
    List<ProcessHandle> executors = new ArrayList<>();
    synchronized (started) {
      for (Started s : started) {
        if (s.name().startsWith("worker-")) {
          s.process()
              .descendants()
              .filter(
                  h ->
                      h.isAlive()
                          && h.info()
                              .commandLine()
                              .orElse("")
                              .contains("CoarseGrainedExecutorBackend"))
              .forEach(executors::add);
        }
      }
    }
    return executors;
  }

  /** A log file of this cluster (a submission's NAME.out / NAME.err). */
  Path log(String name) {
    return logs.resolve(name);
  }

  /**
   * What bin/spark-class does: runs {@code org.apache.spark.launcher.Main} on the Spark home's jars
   * and returns the command it prints (after a NUL + newline marker, NUL-separated).
   */
  List<String> launchCommand(String className, List<String> args)
      throws IOException, InterruptedException {
    List<String> cmd =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx128m",
                "-cp",
                sparkHome.resolve("jars") + "/*",
                "org.apache.spark.launcher.Main",
                className));
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(false);
    pb.environment().clear();
    pb.environment().putAll(env);
    Process p = pb.start();
    CompletableFuture<byte[]> stdout = drain(p.getInputStream());
    CompletableFuture<byte[]> stderr = drain(p.getErrorStream());
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("Spark's launcher did not answer in 60 s for " + className);
    }
    String out = new String(stdout.join(), StandardCharsets.UTF_8);
    String err = new String(stderr.join(), StandardCharsets.UTF_8);
    int marker = out.indexOf("\0\n");
    if (p.exitValue() != 0 || marker < 0) {
      throw new AssertionError(
          "Spark's launcher failed for "
              + className
              + " (exit "
              + p.exitValue()
              + "):\n"
              + out.replace('\0', ' ')
              + "\n"
              + err);
    }
    List<String> command =
        Arrays.stream(out.substring(marker + 2).split("\0"))
            .filter(s -> !s.isEmpty())
            .collect(Collectors.toList());
    if (command.isEmpty()) {
      throw new AssertionError("Spark's launcher printed no command for " + className);
    }
    return command;
  }

  /**
   * Reads a stream to its end on a thread of its own (never the 1-thread common pool of 2 cores).
   */
  private static CompletableFuture<byte[]> drain(InputStream in) {
    return CompletableFuture.supplyAsync(
        () -> {
          try (in) {
            return in.readAllBytes();
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        },
        task -> {
          Thread t = new Thread(task, "launcher-output");
          t.setDaemon(true);
          t.start();
        });
  }

  private void spawn(String name, String className, List<String> args)
      throws IOException, InterruptedException {
    List<String> command = launchCommand(className, args);
    Path log = logs.resolve(name + ".log");
    Files.writeString(logs.resolve(name + ".command"), String.join("\n", command));
    ProcessBuilder pb =
        new ProcessBuilder(command)
            .directory(dir.toFile())
            .redirectErrorStream(true)
            .redirectOutput(log.toFile());
    pb.environment().clear();
    pb.environment().putAll(env);
    synchronized (started) {
      started.add(new Started(name, pb.start(), log));
    }
  }

  /** A port nobody listens on (checked on the wildcard address), not handed out before. */
  private int freePort() throws IOException {
    for (int attempt = 0; attempt < 50; attempt++) {
      int port;
      try (ServerSocket s = new ServerSocket()) {
        s.bind(new InetSocketAddress(InetAddress.getByName(HOST), 0));
        port = s.getLocalPort();
      }
      if (!portsTaken.contains(port) && isFree(port)) {
        portsTaken.add(port);
        return port;
      }
    }
    throw new IOException("no free port found");
  }

  private static boolean isFree(int port) {
    try (ServerSocket s = new ServerSocket()) {
      s.setReuseAddress(false);
      s.bind(new InetSocketAddress(port));
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** Tails of the daemons' logs, the driver's stderr and every executor's stderr. */
  String diagnostics() {
    StringBuilder sb = new StringBuilder();
    List<Path> files = new ArrayList<>();
    synchronized (started) {
      started.forEach(s -> files.add(s.log()));
    }
    for (Path work : workDirs) {
      try (Stream<Path> walk = Files.walk(work)) {
        walk.filter(p -> p.getFileName().toString().equals("stderr")).sorted().forEach(files::add);
      } catch (IOException e) {
        sb.append("(cannot list ").append(work).append(": ").append(e).append(")\n");
      }
    }
    for (Path f : files) {
      sb.append("----- ").append(f).append(" (last 40 lines)\n").append(tail(f, 40)).append('\n');
    }
    return sb.toString();
  }

  static String tail(Path file, int lines) {
    List<String> all = read(file).lines().collect(Collectors.toList());
    return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
  }

  static String read(Path file) {
    try {
      return Files.exists(file)
          ? Files.readString(file, StandardCharsets.UTF_8)
          : "(no " + file + ")";
    } catch (IOException e) {
      return "(cannot read " + file + ": " + e + ")";
    }
  }

  @Override
  public void close() {
    stopAll();
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException alreadyShuttingDown) {
      // the hook is running or has run
    }
  }

  /** Stops drivers first, then workers (their executors with them), then the master. */
  private void stopAll() {
    List<Started> all;
    synchronized (started) {
      all = new ArrayList<>(started);
      started.clear();
    }
    for (int i = all.size() - 1; i >= 0; i--) {
      stop(all.get(i).process());
    }
  }

  /** SIGTERM to a process and its descendants, SIGKILL to whatever is left after 10 s. */
  private static void stop(Process p) {
    List<ProcessHandle> tree = new ArrayList<>();
    p.descendants().forEach(tree::add);
    tree.add(p.toHandle());
    tree.forEach(ProcessHandle::destroy);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    for (ProcessHandle h : tree) {
      while (h.isAlive() && System.nanoTime() < deadline) {
        try {
          h.onExit().get(200, TimeUnit.MILLISECONDS);
        } catch (Exception notYet) {
          if (notYet instanceof InterruptedException) {
            Thread.currentThread().interrupt();
            break;
          }
        }
      }
      if (h.isAlive()) {
        h.destroyForcibly();
      }
    }
  }
}
