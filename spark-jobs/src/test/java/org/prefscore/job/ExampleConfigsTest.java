package org.prefscore.job;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The S3 and GPU examples in conf/ stay valid configurations (checked with --dry-run, which starts
 * nothing), and conf/getGpusResources.sh prints what Spark expects (against a stand-in nvidia-smi).
 */
class ExampleConfigsTest {

  @TempDir Path tmp;

  @Test
  void s3ExampleIsValid() {
    String plan =
        TestSupport.dryRun(
            "west-of-n",
            "--config",
            TestSupport.repoRoot().resolve("conf/s3.properties").toString(),
            "--dry-run");
    assertThat(plan)
        .contains(
            "input       s3a://my-bucket/prefscore/prompts.jsonl",
            "device cpu",
            "models      on a Hadoop FS",
            "spark.conf.spark.hadoop.fs.s3a.endpoint");
  }

  @Test
  void gpuExampleAndItsStageLevelVariantsAreValid() {
    String conf = TestSupport.repoRoot().resolve("conf/gpu.properties").toString();
    assertThat(TestSupport.dryRun("west-of-n", "--config", conf, "--dry-run"))
        .contains("device cuda", "gpu stages  off");
    assertThat(
            TestSupport.dryRun(
                "west-of-n",
                "--config",
                conf,
                "--dry-run",
                "--set",
                "runtime.gpu.stage-resources=task",
                "--set",
                "runtime.gpu.task-amount=0.5"))
        .contains("gpu stages  task profile: 0.5 GPU per model task");
    assertThat(
            TestSupport.dryRun(
                "west-of-n",
                "--config",
                conf,
                "--dry-run",
                "--set",
                "runtime.gpu.stage-resources=executor",
                "--set",
                "runtime.gpu.discovery-script=/opt/prefscore/conf/getGpusResources.sh"))
        .contains(
            "gpu stages  executor profile: 1 GPU per executor (discovery /opt/prefscore/conf/getGpusResources.sh)");
  }

  @Test
  void discoveryScriptPrintsSparksResourceJson() throws Exception {
    Path bin = Files.createDirectories(tmp.resolve("bin"));
    Path smi = bin.resolve("nvidia-smi");
    Files.writeString(
        smi,
        "#!/bin/sh\n# stand-in: nvidia-smi --query-gpu=index --format=csv,noheader\nprintf '0\\n1\\n3\\n'\n");
    Files.setPosixFilePermissions(smi, PosixFilePermissions.fromString("rwxr-xr-x"));
    Run withGpus = script(bin.toString());
    assertThat(withGpus.code()).isZero();
    JsonNode json = new ObjectMapper().readTree(withGpus.out());
    assertThat(json.path("name").asText()).isEqualTo("gpu");
    assertThat(json.path("addresses").toString()).isEqualTo("[\"0\",\"1\",\"3\"]");

    Path empty = Files.createDirectories(tmp.resolve("empty"));
    Run without = script(empty.toString()); // a real nvidia-smi in /usr/bin must not count
    assertThat(without.code()).isEqualTo(1);
  }

  private record Run(int code, String out) {}

  private static Run script(String path) throws IOException, InterruptedException {
    Path script = TestSupport.repoRoot().resolve("conf/getGpusResources.sh");
    ProcessBuilder pb =
        new ProcessBuilder("bash", script.toString())
            .redirectError(ProcessBuilder.Redirect.DISCARD);
    pb.environment().put("PATH", path);
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(30, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("getGpusResources.sh did not finish");
    }
    return new Run(p.exitValue(), out.trim());
  }
}
