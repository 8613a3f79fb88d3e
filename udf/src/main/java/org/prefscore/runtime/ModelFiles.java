package org.prefscore.runtime;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * What a Hugging Face model directory says about itself, read from {@code config.json}, {@code
 * generation_config.json}, {@code tokenizer.json} and {@code tokenizer_config.json}. Pure file
 * parsing: no engine is involved. Every problem names the file it was found in.
 *
 * @param directory the model directory
 * @param onnxFile the graph: {@code model.onnx} at the top or a {@code *.onnx} under {@code onnx/}
 *     ({@link OnnxGraphs#choose})
 * @param tokenizerFile {@code tokenizer.json}
 * @param modelType {@code model_type} from config.json (e.g. gpt2, gpt_neox, llama)
 * @param contextWindow maximum positions the model was built for
 * @param tokenizerVocabSize highest token id in tokenizer.json plus one
 * @param eosTokenIds every id that ends generation (generation_config.json may list several)
 * @param bosTokenId BOS id, or -1
 * @param padTokenId pad id, or -1 when the model defines none
 * @param eosToken the EOS token's text, appended to responses under TRL's convention
 * @param bosToken the BOS token's text, for chat templates ("" when none)
 * @param chatTemplate the Jinja chat template from tokenizer_config.json, if any
 * @param specialTokens texts of the tokenizer's added special tokens
 * @param charsPerToken the most characters of input text one token can stand for, when
 *     tokenizer.json's structure bounds it; 0 when it does not ({@link #provablyMoreTokensThan})
 */
public record ModelFiles(
    Path directory,
    Path onnxFile,
    Path tokenizerFile,
    String modelType,
    int contextWindow,
    int tokenizerVocabSize,
    List<Long> eosTokenIds,
    long bosTokenId,
    long padTokenId,
    String eosToken,
    String bosToken,
    Optional<String> chatTemplate,
    Set<String> specialTokens,
    int charsPerToken) {

  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * For tokenizer.json: field names not canonicalized. Jackson interns each field name in a symbol
   * table, which pays off for repeated keys but not for a vocabulary object whose keys are all
   * different (151,643 in Qwen3's file): on tokenizer.json it made tokenizing the JSON 5x slower
   * (about 250 against 50 ms CPU here).
   */
  private static final ObjectMapper TOKENIZER_JSON =
      new ObjectMapper(
          JsonFactory.builder().disable(JsonFactory.Feature.CANONICALIZE_FIELD_NAMES).build());

  private static final List<String> CONTEXT_KEYS =
      List.of("max_position_embeddings", "n_positions", "max_seq_len", "n_ctx", "seq_length");

  /** Reads and checks a model directory that holds one ONNX graph. */
  public static ModelFiles read(Path directory) {
    return read(directory, "");
  }

  /**
   * Reads and checks a model directory.
   *
   * @param onnxFile which graph ({@link OnnxGraphs#choose}): a path relative to the directory or a
   *     file name; empty: the directory's only graph
   */
  public static ModelFiles read(Path directory, String onnxFile) {
    Path graph = graphFile(directory, onnxFile);
    Path configFile = directory.resolve("config.json");
    Path tokenizerFile = require(directory.resolve("tokenizer.json"), "tokenizer");
    JsonNode config = readJson(configFile);
    JsonNode generation = readOptionalJson(directory.resolve("generation_config.json"));
    JsonNode tokenizerConfig = readOptionalJson(directory.resolve("tokenizer_config.json"));
    JsonNode tokenizer = readTokenizerJson(tokenizerFile);

    String modelType = config.path("model_type").asText("");
    int context = contextWindow(config, tokenizerConfig, configFile);

    int vocab = 0;
    Set<String> specials = new LinkedHashSet<>();
    JsonNode vocabNode = tokenizer.path("model").path("vocab");
    if (!vocabNode.isObject() || vocabNode.isEmpty()) {
      throw new ModelLoadException(tokenizerFile, "no model.vocab in tokenizer.json");
    }
    for (Iterator<JsonNode> it = vocabNode.elements(); it.hasNext(); ) {
      vocab = Math.max(vocab, it.next().asInt() + 1);
    }
    java.util.Map<String, Long> addedIds = new java.util.HashMap<>();
    for (JsonNode added : tokenizer.path("added_tokens")) {
      vocab = Math.max(vocab, added.path("id").asInt() + 1);
      addedIds.put(added.path("content").asText(), added.path("id").asLong());
      if (added.path("special").asBoolean(false)) {
        specials.add(added.path("content").asText());
      }
    }

    Path generationFile = directory.resolve("generation_config.json");
    Path eosSource = generationFile;
    List<Long> eos = ids(generation, "eos_token_id", generationFile);
    if (eos.isEmpty()) {
      eos = ids(config, "eos_token_id", configFile);
      eosSource = configFile;
    }
    String eosText = tokenText(tokenizerConfig.path("eos_token"));
    if (eos.isEmpty() && eosText != null && addedIds.containsKey(eosText)) {
      eos = List.of(addedIds.get(eosText));
      eosSource = tokenizerFile;
    }
    if (eos.isEmpty()) {
      throw new ModelLoadException(
          configFile, "no eos_token_id in generation_config.json, config.json or tokenizer_config");
    }
    for (long id : eos) {
      requireTokenId("eos_token_id", id, eosSource, tokenizerFile, vocab);
    }
    if (eosText == null) {
      eosText = idToText(addedIds, eos.get(0));
    }
    List<Long> generationBos = ids(generation, "bos_token_id", generationFile);
    List<Long> generationPad = ids(generation, "pad_token_id", generationFile);
    long bos = firstId(generationBos, ids(config, "bos_token_id", configFile));
    long pad = firstId(generationPad, ids(config, "pad_token_id", configFile));
    if (bos >= 0) {
      requireTokenId(
          "bos_token_id",
          bos,
          generationBos.isEmpty() ? configFile : generationFile,
          tokenizerFile,
          vocab);
    }
    if (pad >= 0) {
      requireTokenId(
          "pad_token_id",
          pad,
          generationPad.isEmpty() ? configFile : generationFile,
          tokenizerFile,
          vocab);
    }
    String bosText = tokenText(tokenizerConfig.path("bos_token"));
    if (bosText == null) {
      bosText = bos >= 0 ? idToText(addedIds, bos) : "";
    }

    return new ModelFiles(
        directory,
        graph,
        tokenizerFile,
        modelType,
        context,
        vocab,
        List.copyOf(eos),
        bos,
        pad,
        eosText == null ? "" : eosText,
        bosText == null ? "" : bosText,
        chatTemplate(tokenizerConfig),
        Set.copyOf(specials),
        TokenBound.of(tokenizer));
  }

  /**
   * The ONNX graph {@link #read} would choose, after the same first checks (the directory exists
   * and has a config.json; {@link OnnxGraphs#choose}), without reading any file: lets a loader
   * start building the engine's session while the rest is read.
   *
   * @throws ModelLoadException as {@link #read} would for these checks
   */
  public static Path graphFile(Path directory, String onnxFile) {
    if (!Files.isDirectory(directory)) {
      throw new ModelLoadException(directory, "model directory does not exist");
    }
    require(directory.resolve("config.json"), "model configuration");
    try {
      return directory.resolve(OnnxGraphs.choose(OnnxGraphs.list(directory), onnxFile));
    } catch (IllegalArgumentException e) {
      throw new ModelLoadException(directory, e.getMessage());
    }
  }

  /**
   * Whether {@code text} surely has more than {@code tokens} tokens under this tokenizer, judged
   * from its length alone ({@code length > tokens × charsPerToken}), so that a text that cannot fit
   * a context window is refused without tokenizing it. False when no bound is known.
   */
  public boolean provablyMoreTokensThan(String text, long tokens) {
    return charsPerToken > 0 && text.length() > Math.max(0, tokens) * (long) charsPerToken;
  }

  /** The start of a refusal's detail for a text {@link #provablyMoreTokensThan} refuses. */
  public String tooManyTokens(String text, long tokens) {
    return "a text of "
        + text.length()
        + " characters has more than "
        + Math.max(0, tokens)
        + " tokens (tokenizer.json: at most "
        + charsPerToken
        + " characters per token)";
  }

  /**
   * A special token id must be an id of the tokenizer: ids at or above its vocabulary would index
   * past the embedding and the logits the tokenizer's ids are checked against.
   */
  private static void requireTokenId(
      String name, long id, Path source, Path tokenizerFile, int vocab) {
    if (id < 0 || id >= vocab) {
      throw new ModelLoadException(
          source,
          name
              + " "
              + id
              + " is not an id of "
              + tokenizerFile.getFileName()
              + ", which has "
              + vocab
              + " ids (0.."
              + (vocab - 1)
              + "): the tokenizer does not belong to this model");
    }
  }

  private static Path require(Path file, String what) {
    if (!Files.isRegularFile(file)) {
      throw new ModelLoadException(file, "missing " + what + " file");
    }
    return file;
  }

  private static JsonNode readJson(Path file) {
    try {
      return JSON.readTree(file.toFile());
    } catch (IOException e) {
      throw new ModelLoadException(file, "not valid JSON: " + e.getMessage(), e);
    }
  }

  /**
   * tokenizer.json without {@code model.merges}, which nothing here reads: a BPE file's merges are
   * as many entries as its vocabulary (151,387 pairs in Qwen3's 11 MB file), and building their
   * tree took about as long as the rest. The merges are still parsed (invalid JSON fails), not
   * kept.
   */
  static JsonNode readTokenizerJson(Path file) {
    try (JsonParser parser = TOKENIZER_JSON.getFactory().createParser(file.toFile())) {
      if (parser.nextToken() != JsonToken.START_OBJECT) {
        JsonNode other = TOKENIZER_JSON.readTree(parser);
        return other == null ? TOKENIZER_JSON.missingNode() : other;
      }
      ObjectNode root = TOKENIZER_JSON.createObjectNode();
      while (parser.nextToken() == JsonToken.FIELD_NAME) {
        String name = parser.currentName();
        if (parser.nextToken() == JsonToken.START_OBJECT && name.equals("model")) {
          ObjectNode model = TOKENIZER_JSON.createObjectNode();
          while (parser.nextToken() == JsonToken.FIELD_NAME) {
            String key = parser.currentName();
            parser.nextToken();
            if (key.equals("merges")) {
              parser.skipChildren();
            } else {
              model.set(key, TOKENIZER_JSON.readTree(parser));
            }
          }
          root.set(name, model);
        } else {
          root.set(name, TOKENIZER_JSON.readTree(parser));
        }
      }
      if (parser.nextToken() != null) {
        throw new ModelLoadException(file, "not valid JSON: content after the top-level object");
      }
      return root;
    } catch (IOException e) {
      throw new ModelLoadException(file, "not valid JSON: " + e.getMessage(), e);
    }
  }

  private static JsonNode readOptionalJson(Path file) {
    return Files.isRegularFile(file) ? readJson(file) : JSON.createObjectNode();
  }

  private static int contextWindow(JsonNode config, JsonNode tokenizerConfig, Path configFile) {
    for (String key : CONTEXT_KEYS) {
      if (config.path(key).canConvertToInt() && config.path(key).asInt() > 0) {
        return config.path(key).asInt();
      }
    }
    throw new ModelLoadException(
        configFile, "no context window: none of " + CONTEXT_KEYS + " is set");
  }

  /** An id or a list of ids; missing or null: none. Anything else is refused, not coerced. */
  private static List<Long> ids(JsonNode node) {
    List<Long> result = new ArrayList<>();
    if (node.isIntegralNumber() && node.canConvertToLong()) {
      result.add(node.asLong());
    } else if (node.isArray()) {
      for (JsonNode n : node) {
        if (!n.isIntegralNumber() || !n.canConvertToLong()) {
          throw new IllegalArgumentException("a list of integer ids, got " + node);
        }
        result.add(n.asLong());
      }
    } else if (!node.isMissingNode() && !node.isNull()) {
      throw new IllegalArgumentException("an integer id or a list of them, got " + node);
    }
    return result;
  }

  /** {@link #ids} of {@code json.name}, failures naming {@code file}. */
  private static List<Long> ids(JsonNode json, String name, Path file) {
    try {
      return ids(json.path(name));
    } catch (IllegalArgumentException e) {
      throw new ModelLoadException(file, name + " must be " + e.getMessage());
    }
  }

  private static long firstId(List<Long> preferred, List<Long> fallback) {
    List<Long> ids = preferred.isEmpty() ? fallback : preferred;
    return ids.isEmpty() ? -1 : ids.get(0);
  }

  private static String tokenText(JsonNode node) {
    if (node.isTextual()) {
      return node.asText();
    }
    if (node.isObject() && node.path("content").isTextual()) {
      return node.path("content").asText();
    }
    return null;
  }

  private static String idToText(Map<String, Long> addedIds, long id) {
    return addedIds.entrySet().stream()
        .filter(e -> e.getValue() == id)
        .map(Map.Entry::getKey)
        .findFirst()
        .orElse(null);
  }

  private static Optional<String> chatTemplate(JsonNode tokenizerConfig) {
    JsonNode node = tokenizerConfig.path("chat_template");
    if (node.isTextual()) {
      return Optional.of(node.asText());
    }
    if (node.isArray()) {
      // Named templates (transformers' list form): the one named "default" is the chat template.
      for (JsonNode named : node) {
        if ("default".equals(named.path("name").asText())) {
          return Optional.of(named.path("template").asText());
        }
      }
    }
    return Optional.empty();
  }
}
