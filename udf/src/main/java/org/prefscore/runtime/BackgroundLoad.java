package org.prefscore.runtime;

import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Something closeable built on its own thread while the caller does other work: a model's ONNX
 * Runtime session is built while its JSON files and tokenizer are read. {@link #get} waits for it;
 * {@link #abandon} (when the caller fails first) waits for it and closes it.
 *
 * <p>Abandoning waits because the caller's failure usually ends the process (a driver whose model
 * check refused the tokenizer exits with its own status): ONNX Runtime still building a session
 * while the JVM exits, its shutdown hooks releasing the engine, crashed the process (SIGSEGV,
 * status 134 and an hs_err file instead of the job's status; bench-qwen3 with a broken
 * tokenizer.json, 4 of 7 exits). A failing load is reported once its session is built and closed.
 */
final class BackgroundLoad<T extends AutoCloseable> {

  private static final Logger LOG = LoggerFactory.getLogger(BackgroundLoad.class);

  private final Thread thread;
  private T value;
  private Throwable failure;
  private boolean done;
  private boolean abandoned;

  /** An {@link #abandon} call waits to close the result itself. */
  private boolean closing;

  private BackgroundLoad(String name, Supplier<T> task) {
    thread =
        new Thread(
            () -> {
              T built = null;
              Throwable failed = null;
              try {
                built = task.get();
              } catch (Throwable t) { // handed to the caller of get()
                failed = t;
              }
              finish(built, failed);
            },
            name);
    thread.setDaemon(true);
  }

  /** Starts {@code task} on a new daemon thread named {@code name}. */
  static <T extends AutoCloseable> BackgroundLoad<T> start(String name, Supplier<T> task) {
    BackgroundLoad<T> load = new BackgroundLoad<>(name, task);
    load.thread.start();
    return load;
  }

  private void finish(T built, Throwable failed) {
    boolean closeNow;
    synchronized (this) {
      value = built;
      failure = failed;
      done = true;
      closeNow = abandoned && !closing && built != null;
      notifyAll();
    }
    if (closeNow) {
      closeQuietly(built);
    }
  }

  /**
   * Waits for the task and returns what it built; rethrows its RuntimeException or Error as it is.
   */
  T get() {
    synchronized (this) {
      while (!done) {
        try {
          wait();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          abandon();
          throw new IllegalStateException(
              "interrupted while loading (" + thread.getName() + ")", e);
        }
      }
      if (failure instanceof RuntimeException re) {
        throw re;
      }
      if (failure instanceof Error err) {
        throw err;
      }
      if (failure != null) {
        throw new IllegalStateException(failure);
      }
      return value;
    }
  }

  /**
   * The caller will not use the result: waits for the task and closes what it built. Interrupted,
   * it returns at once (the interrupt flag kept) and the result is closed when it is built.
   */
  void abandon() {
    T built;
    synchronized (this) {
      if (abandoned) {
        return;
      }
      abandoned = true;
      closing = true;
      while (!done) {
        try {
          wait();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          closing = false; // finish() closes it
          return;
        }
      }
      built = value;
    }
    if (built != null) {
      closeQuietly(built);
    }
  }

  private static void closeQuietly(AutoCloseable c) {
    try {
      c.close();
    } catch (Exception e) { // the load already failed for another reason, reported by the caller
      LOG.debug("closing an abandoned load failed", e);
    }
  }
}
