package org.prefscore.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Runs a test class's {@code main} in a JVM of its own (this JVM's java and class path, none of its
 * JVM options), for what only a fresh process shows: its exit status, a module left out.
 */
public final class ChildJvm {

  /** What the child printed (stdout and stderr together) and its exit status. */
  public record Exit(int status, String output) {}

  private ChildJvm() {}

  /**
   * Runs {@code main} and waits up to {@code timeoutSeconds} for it.
   *
   * @throws IllegalStateException if it did not exit in time (it is killed)
   */
  public static Exit run(Class<?> main, long timeoutSeconds)
      throws IOException, InterruptedException {
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    Process p =
        new ProcessBuilder(
                java.toString(), "-cp", System.getProperty("java.class.path"), main.getName())
            .redirectErrorStream(true)
            .start();
    if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException(main.getName() + " did not exit in " + timeoutSeconds + " s");
    }
    return new Exit(
        p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
  }
}
