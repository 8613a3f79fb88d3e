package org.prefscore.job.io;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.prefscore.job.config.ResolvedConfig;
import org.prefscore.job.config.RunControl;
import org.prefscore.spark.PartitionCheckpoint;

/** The resume fingerprint's comparison and the commit choice, without Spark. */
class ResumableWorkTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  private static JsonNode fp(String json) throws Exception {
    return JSON.readTree(json);
  }

  @Test
  void equalFingerprintsHaveNoDifferences() throws Exception {
    JsonNode a =
        fp(
            "{\"mode\":\"west-of-n\",\"config\":{\"sampling.n\":\"4\"},\"models\":{\"policy\":\"ab\"},"
                + "\"input\":{\"/p.jsonl\":\"10 bytes, sha256 cd\"},\"partitions\":8}");
    assertThat(ResumableWork.differences(a, a.deepCopy())).isEmpty();
  }

  @Test
  void everyDifferenceIsNamed() throws Exception {
    JsonNode was =
        fp(
            "{\"mode\":\"west-of-n\",\"config\":{\"sampling.n\":\"4\",\"run.seed\":\"1\"},"
                + "\"models\":{\"policy\":\"ab\",\"reward\":\"ef\"},"
                + "\"input\":{\"/a.jsonl\":\"10 bytes, sha256 cd\",\"/b.jsonl\":\"1 bytes, sha256 00\"},"
                + "\"partitions\":8}");
    JsonNode now =
        fp(
            "{\"mode\":\"west-of-n\",\"config\":{\"sampling.n\":\"8\",\"run.seed\":\"1\","
                + "\"filters.confidence-quantile\":\"0.5\"},"
                + "\"models\":{\"policy\":\"ab\",\"reward\":\"99\"},"
                + "\"input\":{\"/a.jsonl\":\"11 bytes, sha256 ce\",\"/c.jsonl\":\"1 bytes, sha256 00\"},"
                + "\"partitions\":4}");
    List<String> diff = ResumableWork.differences(was, now);
    assertThat(diff)
        .containsExactly(
            "config filters.confidence-quantile (unset -> '0.5')",
            "config sampling.n ('4' -> '8')",
            "model reward (fingerprint 'ef' -> '99')",
            "input: /a.jsonl (changed), /b.jsonl (removed), /c.jsonl (added)",
            "partition count of the model stages (8 -> 4; set spark.partitions to the first run's)");
  }

  @Test
  void objectStoresPublishByManifestEverythingElseByRename() {
    RunControl auto = RunControl.of(ResolvedConfig.resolve(null, List.of()));
    assertThat(auto.commitFor("s3a://bucket/runs")).isEqualTo(RunControl.Commit.MANIFEST);
    assertThat(auto.commitFor("gs://bucket/runs")).isEqualTo(RunControl.Commit.MANIFEST);
    assertThat(auto.commitFor("hdfs://nn/runs")).isEqualTo(RunControl.Commit.RENAME);
    assertThat(auto.commitFor("/tmp/runs")).isEqualTo(RunControl.Commit.RENAME);
    assertThat(auto.commitFor("file:/tmp/runs")).isEqualTo(RunControl.Commit.RENAME);
    RunControl forced =
        RunControl.of(ResolvedConfig.resolve(null, List.of("output.commit=manifest")));
    assertThat(forced.commitFor("/tmp/runs")).isEqualTo(RunControl.Commit.MANIFEST);
  }

  @Test
  void checkpointFileNamesRoundTrip() {
    assertThat(PartitionCheckpoint.fileName(7)).isEqualTo("part-00007.rows");
    assertThat(PartitionCheckpoint.partitionOf("part-00007.rows")).isEqualTo(7);
    assertThat(PartitionCheckpoint.partitionOf("part-123456.rows")).isEqualTo(123456);
    assertThat(PartitionCheckpoint.partitionOf("_tmp-7-12")).isEqualTo(-1);
    assertThat(PartitionCheckpoint.partitionOf("fingerprint.json")).isEqualTo(-1);
  }
}
