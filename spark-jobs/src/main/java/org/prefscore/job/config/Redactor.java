package org.prefscore.job.config;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.prefscore.executor.LocalModelCache;

/**
 * The one redaction rule of everything the job prints or stores: the configuration log line, the
 * dry-run plan, {@code manifest.json}, {@code evaluation.json}, the summary, the driver's log lines
 * that name a path, and the messages of configuration errors and failed runs.
 *
 * <ul>
 *   <li><b>Secret keys</b> ({@link #isSecretKey}): a key whose last word names a secret has its
 *       value shown as {@value #MASK}. The last word is the last word of the key's last
 *       dot-separated segment, words being split at {@code -}, {@code _} and camelCase ({@code
 *       spark.ssl.keyStorePassword}: password). It names a secret when it ends in {@code key},
 *       {@code secret}, {@code token}, {@code password}, {@code passwd}, {@code passphrase} or
 *       {@code credential(s)}, or is {@code pwd} or {@code private}; or when it is {@code id} right
 *       after a word ending in {@code key} (an access key id, a private key id). Azure keys
 *       qualified by a storage account host ({@code
 *       fs.azure.account.key.ACCOUNT.dfs.core.windows.net}) are judged without the account and
 *       host; {@code fs.azure.sas.CONTAINER.ACCOUNT.blob.core.windows.net} (a SAS token) is a
 *       secret. So {@code fs.s3a.secret.key}, {@code fs.s3a.encryption.key}, {@code
 *       fs.gs.auth.service.account.private.key.id}, {@code spark.authenticate.secret} are secrets,
 *       while {@code fs.azure.sas.token.provider.type} (a class name), {@code
 *       hadoop.security.credential.provider.path} (where a credential store is, not its content),
 *       {@code google.cloud.auth.service.account.json.keyfile} (a path), {@code
 *       spark.authenticate.secret.file} (a path) and {@code runtime.token-budget} are not.
 *   <li><b>User-info in URLs</b> ({@link #maskUserInfo}): in every value, and in every text this
 *       class redacts, what lies between {@code scheme://} and the last {@code @} before the next
 *       whitespace, quote, comma, or angle bracket is replaced by {@value #MASK} ({@code
 *       s3a://AKIA:SECRET@bucket/x} becomes {@code s3a://****@bucket/x}; a secret may contain
 *       {@code /}, so a path that itself contains {@code @} is masked up to it too). A URL without
 *       {@code @} ({@code hdfs://nn:8020/x}) is unchanged.
 *   <li><b>Known secret values</b> ({@link #redact}): free text (an error message that echoes a
 *       value, a stack trace) also has every value of a secret key and every user-info found in a
 *       value (and its user and password parts) replaced, when it is at least {@value
 *       #MIN_SCRUBBED} characters long (shorter values would mask ordinary text).
 * </ul>
 *
 * Immutable and thread-safe.
 */
public final class Redactor {

  /** What a secret is shown as. */
  public static final String MASK = "****";

  /** Shorter secret values are not scrubbed from free text. */
  static final int MIN_SCRUBBED = 4;

  private static final Pattern USER_INFO = LocalModelCache.URL_USER_INFO;

  private static final Pattern AZURE_HOST =
      Pattern.compile(
          "^(.+)\\.[^.]+\\.(?:dfs|blob)\\.core\\.(?:windows\\.net|chinacloudapi\\.cn"
              + "|usgovcloudapi\\.net|cloudapi\\.de)$",
          Pattern.CASE_INSENSITIVE);

  /** The container part of an account-qualified SAS key, with or without a prefix. */
  private static final Pattern AZURE_SAS =
      Pattern.compile("(?:^|\\.)fs\\.azure\\.sas\\.[^.]+$", Pattern.CASE_INSENSITIVE);

  private static final Pattern WORD_BREAK =
      Pattern.compile("[-_]+|(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])");

  private static final List<String> SECRET_ENDINGS =
      List.of(
          "key",
          "secret",
          "token",
          "password",
          "passwd",
          "passphrase",
          "credential",
          "credentials");

  private static final Set<String> SECRET_WORDS = Set.of("pwd", "private");

  private static final Redactor NONE = new Redactor(List.of());

  /** Secret values to scrub from free text, longest first. */
  private final List<String> secretValues;

  private Redactor(List<String> secretValues) {
    this.secretValues = secretValues;
  }

  /** A redactor that knows no secret values: keys and URLs only. */
  public static Redactor none() {
    return NONE;
  }

  /**
   * A redactor that also scrubs the secret values of {@code values}: the values of secret keys and
   * the user-info of URLs in any value.
   *
   * @param values key → value, as configured
   */
  public static Redactor of(Iterable<? extends java.util.Map.Entry<String, String>> values) {
    Set<String> secrets = new LinkedHashSet<>();
    for (java.util.Map.Entry<String, String> e : values) {
      String v = e.getValue();
      if (v == null || v.isEmpty()) {
        continue;
      }
      if (isSecretKey(e.getKey())) {
        secrets.add(v);
        secrets.add(v.strip());
      }
      Matcher m = USER_INFO.matcher(v);
      while (m.find()) {
        String userInfo = m.group(2);
        secrets.add(userInfo);
        int colon = userInfo.indexOf(':');
        if (colon >= 0) {
          secrets.add(userInfo.substring(0, colon));
          secrets.add(userInfo.substring(colon + 1));
        }
      }
    }
    List<String> scrubbed = new ArrayList<>();
    for (String s : secrets) {
      if (s.length() >= MIN_SCRUBBED) {
        scrubbed.add(s);
      }
    }
    scrubbed.sort(Comparator.comparingInt(String::length).reversed());
    return new Redactor(List.copyOf(scrubbed));
  }

  /**
   * Whether the value of {@code key} is a secret, by the rule of this class (the key's last word).
   */
  public static boolean isSecretKey(String key) {
    String k = key.strip();
    Matcher azure = AZURE_HOST.matcher(k);
    if (azure.matches()) {
      k = azure.group(1);
      if (AZURE_SAS.matcher(k).find()) {
        return true;
      }
    }
    List<String> words = lastSegmentWords(k);
    if (words.isEmpty()) {
      return false;
    }
    String last = words.get(words.size() - 1);
    if (namesSecret(last)) {
      return true;
    }
    if (last.equals("id")) {
      String before = words.size() >= 2 ? words.get(words.size() - 2) : previousSegmentWord(k);
      return before != null && before.endsWith("key");
    }
    return false;
  }

  private static boolean namesSecret(String word) {
    if (SECRET_WORDS.contains(word)) {
      return true;
    }
    for (String ending : SECRET_ENDINGS) {
      if (word.endsWith(ending)) {
        return true;
      }
    }
    return false;
  }

  /** The lower-case words of the last dot-separated segment of {@code key}. */
  private static List<String> lastSegmentWords(String key) {
    int dot = key.lastIndexOf('.');
    return words(key.substring(dot + 1));
  }

  /** The last word of the segment before the last one, or null. */
  private static String previousSegmentWord(String key) {
    int dot = key.lastIndexOf('.');
    if (dot <= 0) {
      return null;
    }
    List<String> words = lastSegmentWords(key.substring(0, dot));
    return words.isEmpty() ? null : words.get(words.size() - 1);
  }

  private static List<String> words(String segment) {
    List<String> words = new ArrayList<>();
    for (String w : WORD_BREAK.split(segment)) {
      if (!w.isEmpty()) {
        words.add(w.toLowerCase(Locale.ROOT));
      }
    }
    return words;
  }

  /** {@code text} with the user-info of every URL in it replaced by {@value #MASK}. */
  public static String maskUserInfo(String text) {
    return LocalModelCache.withoutUserInfo(text);
  }

  /** A configured value as it may be shown: {@value #MASK} for a secret key, else URL-masked. */
  public static String value(String key, String value) {
    if (isSecretKey(key)) {
      return value == null || value.isEmpty() ? value : MASK;
    }
    return maskUserInfo(value);
  }

  /**
   * Free text as it may be shown: URL user-info masked, and every known secret value replaced by
   * {@value #MASK}.
   */
  public String redact(String text) {
    if (text == null) {
      return null;
    }
    String out = maskUserInfo(text);
    for (String secret : secretValues) {
      if (out.contains(secret)) {
        out = out.replace(secret, MASK);
      }
    }
    return out;
  }
}
