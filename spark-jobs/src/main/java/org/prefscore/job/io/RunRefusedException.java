package org.prefscore.job.io;

/**
 * The run was refused before it wrote anything of its own output: another run holds the run id's
 * lease, the input has no rows, or what a resume would reuse was made with another config, model or
 * input. The entry point exits with status 2, as for an invalid configuration.
 */
public final class RunRefusedException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  public RunRefusedException(String message) {
    super(message);
  }
}
