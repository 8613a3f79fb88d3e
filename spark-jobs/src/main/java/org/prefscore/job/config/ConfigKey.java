package org.prefscore.job.config;

/**
 * One configuration key: its name, its default (as the text a properties file would hold; empty
 * means unset) and a one-line description. {@link ConfigKeys} lists them all; docs/pipeline.md's
 * configuration table is generated from that list.
 *
 * @param name the key, e.g. {@code sampling.n}
 * @param defaultValue the default, as text; "" for none
 * @param doc one line: what it sets, its unit or allowed values
 */
public record ConfigKey(String name, String defaultValue, String doc) {

  public ConfigKey {
    if (name == null || name.isBlank() || defaultValue == null || doc == null || doc.isBlank()) {
      throw new IllegalArgumentException("a config key needs a name, a default and a doc: " + name);
    }
  }
}
