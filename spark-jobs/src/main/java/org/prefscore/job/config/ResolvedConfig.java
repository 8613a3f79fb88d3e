package org.prefscore.job.config;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

/**
 * The configuration as text, resolved by precedence: {@code --set key=value} over the properties
 * file over the defaults of {@link ConfigKeys}. Remembers where each value came from. Unknown keys
 * and malformed {@code --set} arguments are collected as problems, not thrown one by one, so the
 * user sees them all with the typed validation of {@link PipelineConfig}.
 */
public final class ResolvedConfig {

  /** Where a value came from. */
  public enum Origin {
    DEFAULT,
    FILE,
    SET
  }

  /** A value and its origin. */
  public record Value(String text, Origin origin) {}

  private final Map<String, Value> values;
  private final List<String> problems;

  private ResolvedConfig(Map<String, Value> values, List<String> problems) {
    this.values = values;
    this.problems = problems;
  }

  /** Resolves defaults, then {@code file} (null for none), then {@code sets} ("key=value" each). */
  public static ResolvedConfig resolve(Path file, List<String> sets) {
    Map<String, Value> values = new LinkedHashMap<>();
    List<String> problems = new ArrayList<>();
    for (ConfigKey k : ConfigKeys.all()) {
      values.put(k.name(), new Value(k.defaultValue(), Origin.DEFAULT));
    }
    if (file != null) {
      Properties props = new Properties();
      try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
        props.load(r);
      } catch (IOException e) {
        problems.add("cannot read config file " + file + ": " + readFailure(file, e));
      }
      for (String name : new TreeMap<>(asMap(props)).keySet()) {
        put(values, problems, name, props.getProperty(name), Origin.FILE, "in " + file);
      }
    }
    for (String set : sets) {
      int eq = set.indexOf('=');
      if (eq <= 0) {
        problems.add("--set needs key=value, got '" + set + "'");
        continue;
      }
      put(
          values,
          problems,
          set.substring(0, eq).trim(),
          set.substring(eq + 1),
          Origin.SET,
          "in --set");
    }
    return new ResolvedConfig(values, problems);
  }

  private static void put(
      Map<String, Value> values,
      List<String> problems,
      String name,
      String text,
      Origin origin,
      String where) {
    if (!ConfigKeys.isKnown(name)) {
      problems.add(
          "unknown key '"
              + name
              + "' "
              + where
              + ConfigKeys.suggest(name).map(s -> " (did you mean '" + s + "'?)").orElse(""));
      return;
    }
    values.put(name, new Value(text, origin));
  }

  private static Map<String, String> asMap(Properties p) {
    Map<String, String> m = new LinkedHashMap<>();
    for (String n : p.stringPropertyNames()) {
      m.put(n, p.getProperty(n));
    }
    return m;
  }

  /** The value of a listed key (its default when not set). */
  public String get(ConfigKey key) {
    return values.get(key.name()).text();
  }

  public Origin origin(ConfigKey key) {
    return values.get(key.name()).origin();
  }

  /** Pass-through Spark properties: {@code spark.conf.X=V} as X → V. */
  public Map<String, String> sparkConf() {
    Map<String, String> conf = new TreeMap<>();
    values.forEach(
        (k, v) -> {
          if (k.startsWith(ConfigKeys.SPARK_CONF_PREFIX)) {
            conf.put(k.substring(ConfigKeys.SPARK_CONF_PREFIX.length()), v.text());
          }
        });
    return conf;
  }

  /** Problems found while resolving (unknown keys, malformed --set). */
  public List<String> problems() {
    return List.copyOf(problems);
  }

  /**
   * Every value, redacted by {@link Redactor}'s rule (secret keys masked, URL user-info masked), in
   * key order: what is logged and written to the manifest.
   */
  public Map<String, String> redacted() {
    Map<String, String> out = new LinkedHashMap<>();
    values.forEach((k, v) -> out.put(k, Redactor.value(k, v.text())));
    return out;
  }

  /** Every value with its origin, redacted as {@link #redacted()}: for the dry-run plan. */
  public Map<String, Value> redactedWithOrigin() {
    Map<String, Value> out = new LinkedHashMap<>();
    values.forEach((k, v) -> out.put(k, new Value(Redactor.value(k, v.text()), v.origin())));
    return out;
  }

  /**
   * The redactor of free text printed for this configuration (error messages, paths): it also knows
   * this configuration's secret values.
   */
  public Redactor redactor() {
    Map<String, String> texts = new LinkedHashMap<>();
    values.forEach((k, v) -> texts.put(k, v.text()));
    return Redactor.of(texts.entrySet());
  }

  /**
   * Why a config file could not be read, in words (an IOException's message is often only the
   * path).
   */
  private static String readFailure(Path file, IOException e) {
    if (e instanceof NoSuchFileException) {
      return "no such file (relative paths start at " + Path.of("").toAbsolutePath() + ")";
    }
    if (e instanceof AccessDeniedException) {
      return "permission denied";
    }
    if (e instanceof CharacterCodingException) {
      return "not UTF-8 text";
    }
    if (Files.isDirectory(file)) {
      return "a directory, not a file";
    }
    return e.toString();
  }
}
