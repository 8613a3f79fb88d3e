package org.prefscore.runtime;

import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Something closeable built on its own thread while the caller does other work: a model's ONNX
 * Runtime session is built while its JSON files and tokenizer are read. {@link #get} waits for it;
 * {@link #abandon} (when the caller fails first) closes it once it is built, without waiting.
 */
final class BackgroundLoad<T extends AutoCloseable> {

  private static final Logger LOG = LoggerFactory.getLogger(BackgroundLoad.class);

  private final Thread thread;
  private T value;
  private Throwable failure;
  private boolean done;
  private boolean abandoned;

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
      closeNow = abandoned && built != null;
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

  /** The caller will not use the result: closes it now if it is built, else when it is. */
  void abandon() {
    T built;
    synchronized (this) {
      if (abandoned) {
        return;
      }
      abandoned = true;
      built = done ? value : null;
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
