package org.prefscore.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.prefscore.testing.ChildJvm;

/**
 * A load the caller gives up on is waited for and closed before the caller goes on, so that a
 * process that then exits keeps its own status: ONNX Runtime building a session while the JVM
 * exited crashed it (SIGSEGV, status 134), seen when a driver's model check failed on a tokenizer
 * while the graph was still loading.
 */
class BackgroundLoadExitTest {

  @Test
  void aLoadGivenUpOnIsClosedBeforeTheCallerExits() throws Exception {
    ChildJvm.Exit exit = ChildJvm.run(ExitingDriver.class, 60);
    String out = exit.output();
    assertThat(exit.status()).as(out).isEqualTo(3);
    assertThat(out).contains("built").contains("closed").contains("exiting");
    assertThat(out.indexOf("built")).isLessThan(out.indexOf("closed"));
    assertThat(out.indexOf("closed")).isLessThan(out.indexOf("exiting"));
  }

  /** Starts a slow load, gives up on it, and exits at once with status 3. */
  static final class ExitingDriver {
    public static void main(String[] args) {
      BackgroundLoad<AutoCloseable> load =
          BackgroundLoad.start(
              "test-load",
              () -> {
                try {
                  Thread.sleep(1500);
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                }
                System.out.println("built");
                return () -> System.out.println("closed");
              });
      load.abandon();
      System.out.println("exiting");
      System.exit(3);
    }
  }
}
