package org.prefscore.job;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.HttpURLConnection;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A real S3 server for tests: S3Proxy ({@code org.gaul:s3proxy}, jar-with-dependencies, copied into
 * target/s3proxy/ by the build) started as a separate {@code java -jar} process on 127.0.0.1 and a
 * free port, with jclouds' filesystem backend under {@code dir} (a bucket is a subfolder) and AWS
 * v2/v4 signature checks against the given credentials. Startup is waited for a bounded time;
 * {@link #close} kills the process (and a shutdown hook does, should the test JVM exit first).
 */
final class S3ProxyProcess implements AutoCloseable {

  private static final Duration STARTUP = Duration.ofSeconds(60);

  private final Process process;
  private final Thread killer;
  private final int port;
  private final Path blobs;
  private final Path log;

  private S3ProxyProcess(Process process, int port, Path blobs, Path log) {
    this.process = process;
    this.port = port;
    this.blobs = blobs;
    this.log = log;
    this.killer = new Thread(this::kill, "s3proxy-killer");
    Runtime.getRuntime().addShutdownHook(killer);
  }

  /**
   * The S3Proxy jar: -Dprefscore.it.s3proxy-jar, else target/s3proxy/s3proxy.jar of this module.
   */
  static Path jar() {
    String configured = System.getProperty("prefscore.it.s3proxy-jar");
    Path jar =
        configured != null
            ? Path.of(configured)
            : Path.of(System.getProperty("basedir", "."), "target", "s3proxy", "s3proxy.jar");
    if (!Files.isRegularFile(jar)) {
      throw new IllegalStateException(
          "S3Proxy jar not found at "
              + jar.toAbsolutePath()
              + " (the build copies it at pre-integration-test: mvn verify, or set -Dprefscore.it.s3proxy-jar)");
    }
    return jar;
  }

  /** Starts S3Proxy with its files under {@code dir} and waits until it answers HTTP. */
  static S3ProxyProcess start(Path dir, String accessKey, String secretKey, List<String> buckets)
      throws IOException {
    Path blobs = dir.resolve("blobs");
    for (String b : buckets) {
      Files.createDirectories(blobs.resolve(b)); // filesystem backend: a bucket is a folder
    }
    int port = freePort();
    Path conf = dir.resolve("s3proxy.properties");
    Files.writeString(
        conf,
        String.join(
                "\n",
                "s3proxy.endpoint=http://127.0.0.1:" + port,
                "s3proxy.authorization=aws-v2-or-v4",
                "s3proxy.identity=" + accessKey,
                "s3proxy.credential=" + secretKey,
                "jclouds.provider=filesystem",
                "jclouds.filesystem.basedir=" + blobs.toAbsolutePath())
            + "\n",
        StandardCharsets.UTF_8);
    Path log = dir.resolve("s3proxy.log");
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    ProcessBuilder pb =
        new ProcessBuilder(
                java,
                "-Xmx256m",
                "-jar",
                jar().toAbsolutePath().toString(),
                "--properties",
                conf.toAbsolutePath().toString())
            .redirectErrorStream(true)
            .redirectOutput(log.toFile());
    Map<String, String> env = pb.environment();
    env.put("LOG_LEVEL", "warn");
    env.put("JETTY_LOG_LEVEL", "warn");
    S3ProxyProcess s3 = new S3ProxyProcess(pb.start(), port, blobs, log);
    try {
      s3.awaitReady();
    } catch (RuntimeException | IOException e) {
      s3.close();
      throw e;
    }
    return s3;
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  private void awaitReady() throws IOException {
    long deadline = System.nanoTime() + STARTUP.toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IllegalStateException(
            "S3Proxy exited with " + process.exitValue() + " before answering; log:\n" + logTail());
      }
      try {
        HttpURLConnection c =
            (HttpURLConnection) URI.create(endpoint() + "/").toURL().openConnection();
        c.setConnectTimeout(500);
        c.setReadTimeout(2000);
        int code = c.getResponseCode(); // 403 for an unsigned request: it is up
        c.disconnect();
        if (code > 0) {
          return;
        }
      } catch (IOException notYet) {
        // not listening yet
      }
      try {
        Thread.sleep(200);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException(e);
      }
    }
    throw new IllegalStateException(
        "S3Proxy did not answer on " + endpoint() + " within " + STARTUP + "; log:\n" + logTail());
  }

  String endpoint() {
    return "http://127.0.0.1:" + port;
  }

  /** The backend folder: {@code blobs/<bucket>/<key>}. */
  Path blobs() {
    return blobs;
  }

  String logTail() {
    try {
      List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private void kill() {
    process.descendants().forEach(ProcessHandle::destroyForcibly);
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() {
    kill();
    try {
      Runtime.getRuntime().removeShutdownHook(killer);
    } catch (IllegalStateException shuttingDown) {
      // the hook runs anyway
    }
  }
}
