package org.prefscore.job.config;

import java.util.List;

/** The configuration or the command line is invalid; lists every problem found. */
public final class ConfigException extends RuntimeException {

  private final List<String> problems;

  public ConfigException(List<String> problems) {
    super(message(problems));
    this.problems = List.copyOf(problems);
  }

  public ConfigException(String problem) {
    this(List.of(problem));
  }

  public List<String> problems() {
    return problems;
  }

  /** The same problems as {@code redactor} may show them (a problem may echo a value or a URL). */
  public ConfigException redacted(Redactor redactor) {
    ConfigException r = new ConfigException(problems.stream().map(redactor::redact).toList());
    r.setStackTrace(getStackTrace());
    return r;
  }

  private static String message(List<String> problems) {
    StringBuilder sb =
        new StringBuilder(
            "invalid configuration ("
                + problems.size()
                + (problems.size() == 1 ? " problem" : " problems")
                + "):");
    for (String p : problems) {
      sb.append("\n  - ").append(p);
    }
    return sb.toString();
  }
}
