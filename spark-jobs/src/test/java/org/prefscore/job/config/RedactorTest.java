package org.prefscore.job.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The redaction rule on real Hadoop, S3A, Azure, GCS and Spark key names, and on URLs. No Spark.
 */
public class RedactorTest {

  /**
   * Keys whose values are secrets, as Hadoop, hadoop-aws, hadoop-azure, the GCS connector name
   * them.
   */
  public static final List<String> SECRET_KEYS =
      List.of(
          "fs.s3a.access.key",
          "fs.s3a.secret.key",
          "fs.s3a.session.token",
          "fs.s3a.encryption.key",
          "fs.s3a.server-side-encryption.key",
          "fs.s3a.bucket.mybucket.secret.key",
          "fs.s3a.bucket.mybucket.session.token",
          "fs.azure.account.key.myacct.dfs.core.windows.net",
          "fs.azure.account.key.myacct.blob.core.windows.net",
          "fs.azure.account.oauth2.client.secret",
          "fs.azure.account.oauth2.client.secret.myacct.dfs.core.windows.net",
          "fs.azure.account.oauth2.refresh.token",
          "fs.azure.sas.fixed.token",
          "fs.azure.sas.mycontainer.myacct.blob.core.windows.net",
          "fs.gs.auth.service.account.private.key",
          "fs.gs.auth.service.account.private.key.id",
          "spark.hadoop.fs.s3a.secret.key",
          "spark.authenticate.secret",
          "spark.ssl.keyPassword",
          "spark.ssl.keyStorePassword",
          "spark.ssl.trustStorePassword",
          "spark.executorEnv.AWS_SECRET_ACCESS_KEY",
          "spark.executorEnv.AWS_ACCESS_KEY_ID",
          "spark.executorEnv.HF_TOKEN",
          "spark.kubernetes.authenticate.oauthToken",
          "spark.db.password",
          "spark.x.credentials");

  /**
   * Keys whose values are not secrets: class names, paths to where secrets are kept, algorithms,
   * sizes. Shown as they are.
   */
  public static final List<String> PLAIN_KEYS =
      List.of(
          "fs.azure.sas.token.provider.type",
          "fs.azure.account.auth.type.myacct.dfs.core.windows.net",
          "fs.azure.account.oauth2.client.id",
          "fs.s3a.aws.credentials.provider",
          "fs.s3a.encryption.algorithm",
          "fs.s3a.server-side-encryption-algorithm",
          "fs.s3a.endpoint",
          "fs.gs.auth.service.account.email",
          "google.cloud.auth.service.account.json.keyfile",
          "hadoop.security.credential.provider.path",
          "spark.authenticate.secret.file",
          "spark.authenticate.secretBitLength",
          "spark.ssl.keyStore",
          "spark.ssl.keyStoreType",
          "spark.kerberos.keytab",
          "spark.kubernetes.authenticate.oauthTokenFile",
          "spark.io.encryption.keySizeBits",
          "runtime.token-budget",
          "sampling.max-new-tokens");

  @Test
  void secretKeysAreRecognisedWithAndWithoutThePassThroughPrefix() {
    for (String key : SECRET_KEYS) {
      assertThat(Redactor.isSecretKey(key)).as(key).isTrue();
      assertThat(Redactor.isSecretKey(ConfigKeys.SPARK_CONF_PREFIX + key)).as(key).isTrue();
      assertThat(Redactor.value(key, "v4lu3")).isEqualTo(Redactor.MASK);
    }
  }

  @Test
  void plainKeysAreShown() {
    for (String key : PLAIN_KEYS) {
      assertThat(Redactor.isSecretKey(key)).as(key).isFalse();
      assertThat(Redactor.isSecretKey(ConfigKeys.SPARK_CONF_PREFIX + key)).as(key).isFalse();
    }
    assertThat(
            Redactor.value(
                "fs.azure.sas.token.provider.type",
                "org.apache.hadoop.fs.azurebfs.sas.FixedSASTokenProvider"))
        .isEqualTo("org.apache.hadoop.fs.azurebfs.sas.FixedSASTokenProvider");
  }

  @Test
  void noListedKeyIsASecret() {
    for (ConfigKey k : ConfigKeys.all()) {
      assertThat(ConfigKeys.isSecret(k.name())).as(k.name()).isFalse();
    }
  }

  @Test
  void userInfoInUrlsIsMaskedWhereverItIs() {
    assertThat(Redactor.maskUserInfo("s3a://AKIA:SECRET@bucket/x"))
        .isEqualTo("s3a://****@bucket/x");
    assertThat(Redactor.maskUserInfo("https://user:pw@host/x")).isEqualTo("https://****@host/x");
    assertThat(Redactor.maskUserInfo("hdfs://nn:8020/x")).isEqualTo("hdfs://nn:8020/x");
    assertThat(Redactor.maskUserInfo("ftp://anonymous@host/x")).isEqualTo("ftp://****@host/x");
    // An AWS secret may hold '/', which Hadoop wants as %2F but users paste raw.
    assertThat(Redactor.maskUserInfo("s3a://AKIA:ab/cd+ef@bucket/x"))
        .isEqualTo("s3a://****@bucket/x");
    assertThat(
            Redactor.maskUserInfo(
                "Path does not exist: s3a://AKIA:SECRET@bucket/x, nor https://u:p@h/y."))
        .isEqualTo("Path does not exist: s3a://****@bucket/x, nor https://****@h/y.");
    assertThat(Redactor.maskUserInfo("[\"s3a://a:b@c/x\",\"s3a://d/e\"]"))
        .isEqualTo("[\"s3a://****@c/x\",\"s3a://d/e\"]");
    assertThat(Redactor.value("input.path", "s3a://AKIA:SECRET@bucket/x"))
        .isEqualTo("s3a://****@bucket/x");
  }

  @Test
  void freeTextLosesEverySecretValueOfTheConfiguration() {
    Map<String, String> config = new LinkedHashMap<>();
    config.put("spark.conf.spark.hadoop.fs.s3a.secret.key", "wJalrXUtnFEMI/K7MDENG");
    config.put("spark.conf.spark.ssl.keyPassword", "k3yp4ss");
    config.put("input.path", "s3a://AKIAEXAMPLE:inl1ne-s3cret@bucket/x");
    config.put("spark.conf.spark.short.token", "ab");
    Redactor r = Redactor.of(config.entrySet());
    String text =
        "failed with wJalrXUtnFEMI/K7MDENG and k3yp4ss; the key inl1ne-s3cret of AKIAEXAMPLE; ab";
    assertThat(r.redact(text))
        .doesNotContain("wJalrXUtnFEMI", "k3yp4ss", "inl1ne-s3cret", "AKIAEXAMPLE")
        .endsWith("; ab");
    assertThat(r.redact("s3a://AKIAEXAMPLE:inl1ne-s3cret@bucket/x"))
        .isEqualTo("s3a://****@bucket/x");
    assertThat(Redactor.none().redact("k3yp4ss")).isEqualTo("k3yp4ss");
  }

  @Test
  void theResolvedConfigurationIsRedactedByTheRule() {
    List<String> sets = new java.util.ArrayList<>();
    for (String key : SECRET_KEYS) {
      sets.add(ConfigKeys.SPARK_CONF_PREFIX + key + "=secret-of-" + key);
    }
    for (String key : PLAIN_KEYS.subList(0, 10)) {
      sets.add(ConfigKeys.SPARK_CONF_PREFIX + key + "=plain-" + key);
    }
    sets.add("input.path=s3a://AKIAUSER:Inl1neS3cr3t@bucket/x");
    ResolvedConfig r = ResolvedConfig.resolve(null, sets);
    Map<String, String> shown = r.redacted();
    for (String key : SECRET_KEYS) {
      assertThat(shown).containsEntry(ConfigKeys.SPARK_CONF_PREFIX + key, Redactor.MASK);
    }
    for (String key : PLAIN_KEYS.subList(0, 10)) {
      assertThat(shown).containsEntry(ConfigKeys.SPARK_CONF_PREFIX + key, "plain-" + key);
    }
    assertThat(shown).containsEntry("input.path", "s3a://****@bucket/x");
    assertThat(shown.toString()).doesNotContain("secret-of-", "Inl1neS3cr3t", "AKIAUSER");
    assertThat(r.redactedWithOrigin().toString())
        .doesNotContain("secret-of-", "Inl1neS3cr3t", "AKIAUSER");
    // What Spark gets is the real value.
    assertThat(r.sparkConf())
        .containsEntry("spark.ssl.keyPassword", "secret-of-spark.ssl.keyPassword");
  }

  @Test
  void sparksOwnRedactionCoversTheSecretKeysSparkSees() {
    PipelineConfig c =
        PipelineConfig.from(
            org.prefscore.job.Mode.WEST_OF_N,
            ResolvedConfig.resolve(
                null,
                List.of(
                    "input.path=in.jsonl",
                    "output.path=out",
                    "models.policy=" + org.prefscore.job.TestSupport.model("tiny-llama"),
                    "models.reward=" + org.prefscore.job.TestSupport.model("tiny-reward"))));
    java.util.regex.Pattern spark =
        java.util.regex.Pattern.compile(
            org.prefscore.job.PrefscoreJob.sessionConf(c).get("spark.redaction.regex"));
    for (String key : SECRET_KEYS) {
      if (key.startsWith("spark.") || key.startsWith("fs.")) {
        String sparkKey = key.startsWith("fs.") ? "spark.hadoop." + key : key;
        assertThat(spark.matcher(sparkKey).find()).as(sparkKey).isTrue();
      }
    }
    PipelineConfig own =
        PipelineConfig.from(
            org.prefscore.job.Mode.WEST_OF_N,
            ResolvedConfig.resolve(
                null,
                List.of(
                    "input.path=in.jsonl",
                    "output.path=out",
                    "models.policy=" + org.prefscore.job.TestSupport.model("tiny-llama"),
                    "models.reward=" + org.prefscore.job.TestSupport.model("tiny-reward"),
                    "spark.conf.spark.redaction.regex=(?i)mine")));
    assertThat(org.prefscore.job.PrefscoreJob.sessionConf(own))
        .containsEntry("spark.redaction.regex", "(?i)mine");
  }
}
