package org.prefscore.job.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.jar.JarFile;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.prefscore.job.deploy.DeployFiles.Dockerfile;
import org.prefscore.job.deploy.DeployFiles.Instruction;

/**
 * docker/Dockerfile and docker/Dockerfile.gpu, without a Docker engine: every COPY/ADD source of
 * the build context (the repository root) exists and survives the Dockerfile's .dockerignore;
 * multi-stage {@code --from=} copies are not context files; base images are pinned; the final stage
 * runs as the image's spark user with DJL offline.
 *
 * <p>The application jar is the one source that cannot exist yet: surefire runs in the test phase,
 * before {@code package} builds it (and spark-jobs/pom.xml configures no failsafe to run an
 * integration test after package). So the jar source is checked against the name spark-jobs/pom.xml
 * declares for the shaded jar ({@link DeployFiles#appJarName()}) with the Dockerfile's ARG
 * PREFSCORE_VERSION equal to the pom version; when a jar of that name exists (an earlier package),
 * it must also be the application jar (job classes and ONNX Runtime in it). Every other source must
 * exist.
 */
class DockerfileTest {

  private static final Path ROOT = DeployFiles.repoRoot();

  private static Dockerfile dockerfile(String name) {
    Path file = ROOT.resolve("docker").resolve(name);
    assertThat(file).as("docker/" + name).isRegularFile();
    return DeployFiles.parseDockerfile(file);
  }

  private static List<String> dockerignore(Dockerfile d) throws IOException {
    Path specific = d.path().resolveSibling(d.path().getFileName() + ".dockerignore");
    Path rootIgnore = ROOT.resolve(".dockerignore");
    Path file = Files.isRegularFile(specific) ? specific : rootIgnore;
    return Files.isRegularFile(file) ? Files.readAllLines(file) : List.of();
  }

  @ParameterizedTest
  @ValueSource(strings = {"Dockerfile", "Dockerfile.gpu"})
  void everyBuildContextSourceExistsAndSurvivesTheDockerignore(String name) throws IOException {
    checkBuildContext(name, false);
  }

  /**
   * Every COPY/ADD of docker/{@code name}: --from= copies name an earlier stage; context sources
   * are plain relative paths that survive the .dockerignore and exist, except the application jar,
   * which must carry the name the pom declares and, when {@code jarMustExist} (after package:
   * {@link DockerBuildContextIT}) or when present anyway, be the shaded application jar; remote
   * ADDs are checksum-pinned.
   */
  static void checkBuildContext(String name, boolean jarMustExist) throws IOException {
    Dockerfile d = dockerfile(name);
    List<String> ignore = dockerignore(d);
    String jarName = DeployFiles.appJarName().orElse(null);
    List<Instruction> copies =
        Stream.concat(d.all("COPY").stream(), d.all("ADD").stream()).toList();
    assertThat(copies).as(name + " copies something").isNotEmpty();
    int jarCopies = 0;
    for (Instruction copy : copies) {
      assertThat(copy.args()).as(copy.line()).hasSizeGreaterThanOrEqualTo(2);
      if (copy.flags().containsKey("from")) {
        String from = copy.flags().get("from");
        assertThat(d.stageNames().subList(0, copy.stage()))
            .as("--from=%s names an earlier stage: %s", from, copy.line())
            .contains(from);
        continue;
      }
      for (String source : copy.args().subList(0, copy.args().size() - 1)) {
        if (source.matches("^(https?|git)://.*")) {
          assertThat(copy.keyword()).as(copy.line()).isEqualTo("ADD");
          assertThat(copy.flags().getOrDefault("checksum", ""))
              .as("a remote ADD is checksum-pinned: " + copy.line())
              .matches("sha256:[0-9a-f]{64}");
          assertThat(copy.flags().get("chmod"))
              .as("readable by the spark user (remote ADDs are 0600): " + copy.line())
              .isEqualTo("0644");
          continue;
        }
        assertThat(source)
            .as("a context path, not absolute or escaping: " + copy.line())
            .doesNotStartWith("/")
            .doesNotContain("..");
        assertThat(source)
            .as("no globs (they hide missing files): " + copy.line())
            .doesNotContain("*", "?");
        assertThat(DeployFiles.includedByDockerignore(ignore, source))
            .as("%s is excluded from the build context by %s's .dockerignore", source, name)
            .isTrue();
        if (source.startsWith("spark-jobs/target/") && source.endsWith(".jar")) {
          jarCopies++;
          assertThat(jarName)
              .as("spark-jobs/pom.xml declares a shaded application jar (maven-shade-plugin)")
              .isNotNull();
          assertThat(source)
              .as("the jar the Dockerfile copies is the one the pom builds")
              .isEqualTo("spark-jobs/target/" + jarName);
          Path jar = ROOT.resolve(source);
          if (jarMustExist) {
            assertThat(jar).as("after package, the application jar " + source).isRegularFile();
          }
          if (Files.isRegularFile(jar)) {
            try (JarFile j = new JarFile(jar.toFile())) {
              assertThat(j.getEntry("org/prefscore/job/PrefscoreJob.class"))
                  .as(source + " holds the job")
                  .isNotNull();
              assertThat(j.stream().anyMatch(e -> e.getName().startsWith("ai/djl/onnxruntime/")))
                  .as(source + " holds DJL's ONNX Runtime engine (a shaded jar)")
                  .isTrue();
            }
          }
        } else {
          assertThat(ROOT.resolve(source)).as("COPY source %s of %s", source, name).exists();
        }
      }
    }
    assertThat(jarCopies).as(name + " copies the application jar").isEqualTo(1);
    assertThat(copies)
        .as(name + " copies conf/ to /opt/prefscore/conf/")
        .anyMatch(
            c ->
                !c.flags().containsKey("from")
                    && c.args().get(0).replaceAll("/$", "").equals("conf")
                    && c.args().get(c.args().size() - 1).equals("/opt/prefscore/conf/"));
    assertThat(copies)
        .as(name + " puts the jar at /opt/prefscore/prefscore-app.jar (the DAG's application)")
        .anyMatch(
            c -> c.args().get(c.args().size() - 1).equals("/opt/prefscore/prefscore-app.jar"));
    DeployFiles.hadoopVersion()
        .ifPresent(
            v ->
                assertThat(copies)
                    .as(name + " adds hadoop-aws of the build's hadoop.version (s3a://)")
                    .anyMatch(
                        c ->
                            c.args()
                                .get(0)
                                .endsWith("/hadoop-aws/" + v + "/hadoop-aws-" + v + ".jar")));
  }

  @ParameterizedTest
  @ValueSource(strings = {"Dockerfile", "Dockerfile.gpu"})
  void versionArgEqualsThePomVersion(String name) {
    Dockerfile d = dockerfile(name);
    assertThat(d.all("ARG"))
        .as(name + " declares ARG PREFSCORE_VERSION with the pom's version as default")
        .anyMatch(a -> a.args().get(0).equals("PREFSCORE_VERSION=" + DeployFiles.projectVersion()));
  }

  @ParameterizedTest
  @ValueSource(strings = {"Dockerfile", "Dockerfile.gpu"})
  void baseImagesArePinnedAndSparkIsTheBuildsVersion(String name) {
    Dockerfile d = dockerfile(name);
    List<Instruction> froms = d.all("FROM");
    assertThat(froms).isNotEmpty();
    boolean sparkImage = false;
    for (Instruction from : froms) {
      String image = from.args().get(0);
      if (d.stageNames().subList(0, from.stage()).contains(image)) {
        continue; // FROM an earlier stage
      }
      boolean digest = image.contains("@sha256:");
      String afterSlash = image.substring(image.lastIndexOf('/') + 1);
      assertThat(digest || afterSlash.contains(":"))
          .as("%s: FROM %s has an explicit tag or digest", name, image)
          .isTrue();
      if (!digest) {
        String tag = afterSlash.substring(afterSlash.indexOf(':') + 1);
        assertThat(tag).as("%s: FROM %s", name, image).isNotEqualTo("latest").doesNotContain("$");
        assertThat(tag)
            .as("%s: FROM %s is pinned to a version, not a moving major tag", name, image)
            .matches(".*\\d+\\.\\d+.*");
      }
      if (image.startsWith("apache/spark:") || image.startsWith("spark:")) {
        sparkImage = true;
        assertThat(image)
            .as("the official Spark image of the build's Spark version, Scala 2.12, Java 17")
            .contains(":" + DeployFiles.sparkVersion() + "-")
            .contains("scala2.12")
            .contains("java17");
      }
    }
    assertThat(sparkImage).as(name + " builds on the official apache/spark image").isTrue();
  }

  @ParameterizedTest
  @ValueSource(strings = {"Dockerfile", "Dockerfile.gpu"})
  void finalStageRunsAsSparkWithDjlOffline(String name) {
    Dockerfile d = dockerfile(name);
    int last = d.lastStage();
    List<Instruction> users = d.all("USER").stream().filter(u -> u.stage() == last).toList();
    assertThat(users).as(name + ": the final stage sets USER").isNotEmpty();
    assertThat(users.get(users.size() - 1).args().get(0))
        .as(name + ": the final USER")
        .isIn("spark", "185", "spark:spark", "185:185");
    String env =
        String.join(
            " ",
            d.all("ENV").stream().filter(e -> e.stage() == last).map(Instruction::line).toList());
    assertThat(env)
        .as(name + " ENV")
        .contains(
            "DJL_OFFLINE=true", "OPT_OUT_TRACKING=true", "DJL_CACHE_DIR=/opt/prefscore/cache/djl");
    assertThat(d.all("RUN").stream().filter(r -> r.stage() == last).map(Instruction::line))
        .as(name + " makes the DJL cache and tmp dirs writable")
        .anyMatch(
            r ->
                r.contains("/opt/prefscore/tmp")
                    && r.contains("/opt/prefscore/cache/djl")
                    && r.contains("chmod"));
  }

  @Test
  void gpuImageHasCudaJavaSparkAndTheDiscoveryScript() {
    Dockerfile d = dockerfile("Dockerfile.gpu");
    assertThat(d.all("FROM").get(d.lastStage()).args().get(0))
        .as("the final stage is NVIDIA's CUDA + cuDNN runtime")
        .startsWith("nvidia/cuda:12.")
        .contains("cudnn")
        .contains("runtime");
    List<Instruction> fromSpark =
        d.all("COPY").stream().filter(c -> "spark".equals(c.flags().get("from"))).toList();
    assertThat(fromSpark.stream().flatMap(c -> c.args().stream()))
        .as("Java 17 and Spark come from the official image")
        .contains("/opt/java/openjdk", "/opt/spark", "/opt/entrypoint.sh");
    assertThat(d.all("COPY"))
        .as("the GPU discovery script is copied, executable")
        .anyMatch(
            c ->
                c.args().get(0).equals("conf/getGpusResources.sh")
                    && "0755".equals(c.flags().get("chmod")));
    assertThat(d.all("ENTRYPOINT"))
        .as("Spark's entrypoint (driver/executor dispatch on Kubernetes)")
        .anyMatch(e -> e.line().contains("/opt/entrypoint.sh"));
  }

  @Test
  void dockerignoreMatching() {
    List<String> rules =
        List.of(
            "*",
            "!conf/",
            "!spark-jobs/target/prefscore-spark-jobs-*-app.jar",
            "conf/secret.properties");
    assertThat(DeployFiles.includedByDockerignore(rules, "conf")).isTrue();
    assertThat(DeployFiles.includedByDockerignore(rules, "conf/local.properties")).isTrue();
    assertThat(DeployFiles.includedByDockerignore(rules, "conf/secret.properties")).isFalse();
    assertThat(
            DeployFiles.includedByDockerignore(
                rules, "spark-jobs/target/prefscore-spark-jobs-1.0-app.jar"))
        .isTrue();
    assertThat(
            DeployFiles.includedByDockerignore(
                rules, "spark-jobs/target/prefscore-spark-jobs-1.0.jar"))
        .isFalse();
    assertThat(DeployFiles.includedByDockerignore(rules, "fixtures/models/x")).isFalse();
    assertThat(DeployFiles.includedByDockerignore(List.of("**/*.md"), "docker/README.md"))
        .isFalse();
    assertThat(DeployFiles.includedByDockerignore(List.of(), "anything")).isTrue();
  }
}
