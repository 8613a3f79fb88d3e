package org.prefscore.runtime;

import java.nio.file.Path;

/** A model directory that cannot be used; the message names the file and what is wrong. */
public class ModelLoadException extends RuntimeException {

  public ModelLoadException(Path file, String problem) {
    super(file + ": " + problem);
  }

  public ModelLoadException(Path file, String problem, Throwable cause) {
    super(file + ": " + problem, cause);
  }
}
