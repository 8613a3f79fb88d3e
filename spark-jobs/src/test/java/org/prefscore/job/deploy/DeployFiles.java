package org.prefscore.job.deploy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.xml.parsers.DocumentBuilderFactory;
import org.prefscore.testing.Fixtures;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

/**
 * What the deployment tests read: the repository root, the poms (version, Spark version, the
 * application jar's file name as the build declares it) and Dockerfiles as instructions.
 */
final class DeployFiles {

  private DeployFiles() {}

  /** The repository root: the folder holding airflow/, docker/ and spark-jobs/. */
  static Path repoRoot() {
    return Fixtures.repoRoot();
  }

  static String read(Path file) {
    try {
      return Files.readString(file);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  // ------------------------------------------------------------------------------------ poms

  static Document xml(Path file) {
    try {
      DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
      f.setNamespaceAware(false);
      return f.newDocumentBuilder().parse(file.toFile());
    } catch (Exception e) {
      throw new IllegalStateException("cannot parse " + file, e);
    }
  }

  /** The direct child element {@code name} of {@code parent}, if any. */
  static Optional<Element> child(Element parent, String name) {
    for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
      if (n instanceof Element e && e.getTagName().equals(name)) {
        return Optional.of(e);
      }
    }
    return Optional.empty();
  }

  static Optional<String> childText(Element parent, String name) {
    return child(parent, name).map(e -> e.getTextContent().trim());
  }

  static Element rootPom() {
    return xml(repoRoot().resolve("pom.xml")).getDocumentElement();
  }

  static Element sparkJobsPom() {
    return xml(repoRoot().resolve("spark-jobs/pom.xml")).getDocumentElement();
  }

  /** The project version (the root pom's, which spark-jobs inherits). */
  static String projectVersion() {
    return childText(rootPom(), "version").orElseThrow();
  }

  /** The root pom's {@code spark.version} property. */
  static String sparkVersion() {
    return child(rootPom(), "properties").flatMap(p -> childText(p, "spark.version")).orElseThrow();
  }

  /** The root pom's {@code hadoop.version} property (the Hadoop client Spark is built against). */
  static Optional<String> hadoopVersion() {
    return child(rootPom(), "properties").flatMap(p -> childText(p, "hadoop.version"));
  }

  /**
   * The file name of the application (shaded) jar under spark-jobs/target/, as spark-jobs/pom.xml
   * declares it: maven-shade-plugin's {@code finalName}, or its attached artifact ({@code
   * <finalName>-<shadedClassifierName>.jar}, classifier default "shaded"), or the main jar it
   * replaces. Empty when the pom declares no shade plugin.
   */
  static Optional<String> appJarName() {
    Element pom = sparkJobsPom();
    String artifactId = childText(pom, "artifactId").orElseThrow();
    String version = childText(pom, "version").orElseGet(DeployFiles::projectVersion);
    Map<String, String> props = new LinkedHashMap<>();
    props.put("project.artifactId", artifactId);
    props.put("project.version", version);
    child(rootPom(), "properties").ifPresent(p -> properties(p, props));
    child(pom, "properties").ifPresent(p -> properties(p, props));
    String finalName =
        child(pom, "build")
            .flatMap(b -> childText(b, "finalName"))
            .map(s -> interpolate(s, props))
            .orElse(artifactId + "-" + version);
    props.put("project.build.finalName", finalName);

    NodeList plugins = pom.getElementsByTagName("plugin");
    for (int i = 0; i < plugins.getLength(); i++) {
      Element plugin = (Element) plugins.item(i);
      if (!"maven-shade-plugin".equals(childText(plugin, "artifactId").orElse(""))) {
        continue;
      }
      if (insideProfile(plugin)) {
        continue; // a profile's variant (e.g. -Pgpu) is expected to keep the default's name
      }
      NodeList configs = plugin.getElementsByTagName("configuration");
      String shadeFinalName = null;
      boolean attached = false;
      String classifier = "shaded";
      for (int j = 0; j < configs.getLength(); j++) {
        Element c = (Element) configs.item(j);
        shadeFinalName =
            childText(c, "finalName").map(s -> interpolate(s, props)).orElse(shadeFinalName);
        attached |=
            childText(c, "shadedArtifactAttached")
                .map(s -> interpolate(s, props))
                .map(Boolean::parseBoolean)
                .orElse(false);
        classifier =
            childText(c, "shadedClassifierName").map(s -> interpolate(s, props)).orElse(classifier);
      }
      if (shadeFinalName != null) {
        return Optional.of(shadeFinalName + ".jar");
      }
      return Optional.of(attached ? finalName + "-" + classifier + ".jar" : finalName + ".jar");
    }
    return Optional.empty();
  }

  private static boolean insideProfile(Element e) {
    for (Node n = e.getParentNode(); n != null; n = n.getParentNode()) {
      if (n instanceof Element p && p.getTagName().equals("profile")) {
        return true;
      }
    }
    return false;
  }

  private static void properties(Element p, Map<String, String> into) {
    for (Node n = p.getFirstChild(); n != null; n = n.getNextSibling()) {
      if (n instanceof Element e) {
        into.put(e.getTagName(), e.getTextContent().trim());
      }
    }
  }

  private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{([^}]+)}");

  static String interpolate(String s, Map<String, String> props) {
    for (int round = 0; round < 5 && s.contains("${"); round++) {
      Matcher m = PLACEHOLDER.matcher(s);
      StringBuilder sb = new StringBuilder();
      while (m.find()) {
        m.appendReplacement(
            sb, Matcher.quoteReplacement(props.getOrDefault(m.group(1), m.group())));
      }
      m.appendTail(sb);
      s = sb.toString();
    }
    return s;
  }

  // ----------------------------------------------------------------------------- Dockerfiles

  /** One Dockerfile instruction: keyword (upper case), its flags (--x=y) and its arguments. */
  record Instruction(
      int stage, String keyword, Map<String, String> flags, List<String> args, String line) {}

  /** A parsed Dockerfile: its instructions, stage names, and the ARG defaults in effect. */
  record Dockerfile(Path path, List<Instruction> instructions, List<String> stageNames) {

    List<Instruction> all(String keyword) {
      return instructions.stream().filter(i -> i.keyword().equals(keyword)).toList();
    }

    int lastStage() {
      return stageNames.size() - 1;
    }
  }

  private static final Pattern ARG_REF = Pattern.compile("\\$\\{(\\w+)(?::-([^}]*))?}|\\$(\\w+)");

  /**
   * Parses {@code file}: joins backslash continuations, drops comments, splits flags from arguments
   * (JSON-array or shell form), and substitutes ARG defaults ({@code $X}, {@code ${X}}, {@code
   * ${X:-d}}) in FROM, COPY and ADD the way a build without --build-arg would.
   */
  static Dockerfile parseDockerfile(Path file) {
    List<String> logical = new ArrayList<>();
    StringBuilder cur = new StringBuilder();
    for (String raw : read(file).split("\n", -1)) {
      String line = raw.stripTrailing();
      if (cur.length() == 0 && (line.isBlank() || line.stripLeading().startsWith("#"))) {
        continue;
      }
      if (cur.length() > 0 && line.stripLeading().startsWith("#")) {
        continue; // comment lines inside a continued instruction are dropped by Docker too
      }
      if (line.endsWith("\\")) {
        cur.append(line, 0, line.length() - 1).append(' ');
      } else {
        cur.append(line);
        logical.add(cur.toString().trim());
        cur.setLength(0);
      }
    }
    if (cur.length() > 0) {
      logical.add(cur.toString().trim());
    }

    Map<String, String> globalArgs = new LinkedHashMap<>();
    Map<String, String> stageArgs = new LinkedHashMap<>();
    List<String> stageNames = new ArrayList<>();
    List<Instruction> out = new ArrayList<>();
    for (String l : logical) {
      String[] kv = l.split("\\s+", 2);
      String keyword = kv[0].toUpperCase(java.util.Locale.ROOT);
      String rest = kv.length > 1 ? kv[1].trim() : "";
      int stage = stageNames.size() - 1;
      if (keyword.equals("ARG")) {
        String[] a = rest.split("=", 2);
        String value = a.length > 1 ? unquote(a[1].trim()) : null;
        (stage < 0 ? globalArgs : stageArgs).put(a[0].trim(), value);
        out.add(new Instruction(stage, keyword, Map.of(), List.of(rest), l));
        continue;
      }
      Map<String, String> flags = new LinkedHashMap<>();
      while (rest.startsWith("--")) {
        String[] f = rest.split("\\s+", 2);
        String[] fkv = f[0].substring(2).split("=", 2);
        flags.put(fkv[0], fkv.length > 1 ? fkv[1] : "true");
        rest = f.length > 1 ? f[1].trim() : "";
      }
      List<String> args = rest.startsWith("[") ? jsonArray(rest) : List.of(rest.split("\\s+"));
      if (keyword.equals("FROM")) {
        args = substitute(args, globalArgs);
        stageNames.add(
            args.size() >= 3 && args.get(1).equalsIgnoreCase("AS") ? args.get(2) : args.get(0));
        stageArgs.clear();
        // a stage sees a global ARG only when it re-declares it
        out.add(new Instruction(stageNames.size() - 1, keyword, flags, args, l));
        continue;
      }
      if (keyword.equals("COPY") || keyword.equals("ADD")) {
        Map<String, String> visible = new LinkedHashMap<>();
        stageArgs.forEach((k, v) -> visible.put(k, v != null ? v : globalArgs.get(k)));
        args = substitute(args, visible);
      }
      out.add(new Instruction(stage, keyword, flags, args, l));
    }
    return new Dockerfile(file, List.copyOf(out), List.copyOf(stageNames));
  }

  private static List<String> substitute(List<String> args, Map<String, String> values) {
    List<String> r = new ArrayList<>();
    for (String a : args) {
      Matcher m = ARG_REF.matcher(a);
      StringBuilder sb = new StringBuilder();
      while (m.find()) {
        String name = m.group(1) != null ? m.group(1) : m.group(3);
        String v = values.get(name);
        if (v == null && m.group(2) != null) {
          v = m.group(2);
        }
        if (v == null) {
          throw new AssertionError("ARG " + name + " has no default, used in: " + a);
        }
        m.appendReplacement(sb, Matcher.quoteReplacement(v));
      }
      m.appendTail(sb);
      r.add(sb.toString());
    }
    return r;
  }

  private static String unquote(String s) {
    if (s.length() >= 2
        && (s.startsWith("\"") && s.endsWith("\"") || s.startsWith("'") && s.endsWith("'"))) {
      return s.substring(1, s.length() - 1);
    }
    return s;
  }

  private static List<String> jsonArray(String s) {
    try {
      return List.of(
          new com.fasterxml.jackson.databind.ObjectMapper().readValue(s, String[].class));
    } catch (IOException e) {
      throw new AssertionError("not a JSON array: " + s, e);
    }
  }

  // --------------------------------------------------------------------------- .dockerignore

  /**
   * Whether {@code relative} (a path in the build context, '/'-separated) survives the
   * .dockerignore rules: the last rule matching the path or one of its parent folders decides, '!'
   * rules re-include; '*' and '?' stay within one path segment, '**' spans segments.
   */
  static boolean includedByDockerignore(List<String> rules, String relative) {
    boolean included = true;
    String path = relative.replaceAll("/+$", "");
    for (String raw : rules) {
      String rule = raw.trim();
      if (rule.isEmpty() || rule.startsWith("#")) {
        continue;
      }
      boolean negate = rule.startsWith("!");
      String pattern =
          (negate ? rule.substring(1) : rule).trim().replaceAll("^/+", "").replaceAll("/+$", "");
      Pattern regex = Pattern.compile(globToRegex(pattern));
      boolean matches = false;
      String prefix = path;
      while (true) {
        if (regex.matcher(prefix).matches()) {
          matches = true;
          break;
        }
        int slash = prefix.lastIndexOf('/');
        if (slash < 0) {
          break;
        }
        prefix = prefix.substring(0, slash);
      }
      if (matches) {
        included = negate;
      }
    }
    return included;
  }

  static String globToRegex(String glob) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < glob.length(); i++) {
      char c = glob.charAt(i);
      if (c == '*' && i + 1 < glob.length() && glob.charAt(i + 1) == '*') {
        sb.append(".*");
        i++;
        if (i + 1 < glob.length() && glob.charAt(i + 1) == '/') {
          i++;
          sb.append("/?");
        }
      } else if (c == '*') {
        sb.append("[^/]*");
      } else if (c == '?') {
        sb.append("[^/]");
      } else {
        sb.append(Pattern.quote(String.valueOf(c)));
      }
    }
    return sb.toString();
  }
}
