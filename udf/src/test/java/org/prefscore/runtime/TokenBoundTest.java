package org.prefscore.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.prefscore.runtime.decode.GenerationOptions;
import org.prefscore.runtime.decode.SampleGenerator;
import org.prefscore.runtime.decode.SamplingConfig;
import org.prefscore.runtime.score.RewardScorer;
import org.prefscore.runtime.score.SequenceScorer;
import org.prefscore.testing.Fixtures;

/**
 * A text that cannot fit the context window is refused by its length alone, never tokenized, when
 * the tokenizer's structure bounds the characters per token; the bound holds on the fixtures'
 * tokenizers, and tokenizers that can drop or fuse characters give none.
 */
class TokenBoundTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  private static ObjectNode tokenizer(String fixture) throws IOException {
    return (ObjectNode) JSON.readTree(Fixtures.model(fixture).resolve("tokenizer.json").toFile());
  }

  @Test
  void theFixturesByteLevelTokenizersAreBoundedByTheirLongestToken() throws IOException {
    // <|endoftext|> (13 characters) is the longest token of tiny-gpt2; <|im_start|> (12) of
    // tiny-llama.
    assertThat(TokenBound.of(tokenizer("tiny-gpt2"))).isEqualTo(13);
    assertThat(TokenBound.of(tokenizer("tiny-llama"))).isEqualTo(12);
    assertThat(ModelFiles.read(Fixtures.model("tiny-reward")).charsPerToken()).isEqualTo(13);
  }

  @Test
  void theBoundHoldsOnRealTokenizations() {
    SplittableRandom random = new SplittableRandom(7);
    String alphabet = "abc XYZ 123 .,!?\n\té中文😀<|im_end|></s>";
    for (String fixture : List.of("tiny-gpt2", "tiny-llama", "tiny-reward")) {
      ModelFiles files = ModelFiles.read(Fixtures.model(fixture));
      try (TextTokenizer t = org.prefscore.runtime.onnx.HfTokenizer.load(files.tokenizerFile())) {
        for (int k = 0; k < 200; k++) {
          StringBuilder sb = new StringBuilder();
          int len = 1 + random.nextInt(300);
          for (int i = 0; i < len; i++) {
            sb.append(alphabet.charAt(random.nextInt(alphabet.length())));
          }
          String text = sb.toString();
          int tokens = t.encode(text, false).length;
          assertThat((long) tokens * files.charsPerToken())
              .as("%s: %s", fixture, text)
              .isGreaterThanOrEqualTo(text.length());
          assertThat(files.provablyMoreTokensThan(text, tokens)).isFalse();
        }
      }
    }
  }

  @Test
  void tokenizersThatCanDropOrFuseCharactersGiveNoBound() throws IOException {
    ObjectNode wordPiece = tokenizer("tiny-gpt2");
    ((ObjectNode) wordPiece.get("model")).put("type", "WordPiece");
    assertThat(TokenBound.of(wordPiece)).isZero();

    ObjectNode bert = tokenizer("tiny-gpt2");
    bert.putObject("normalizer").put("type", "BertNormalizer");
    assertThat(TokenBound.of(bert)).isZero();

    ObjectNode whitespace = tokenizer("tiny-gpt2");
    whitespace.putObject("pre_tokenizer").put("type", "Whitespace");
    assertThat(TokenBound.of(whitespace)).isZero();

    ObjectNode removing = tokenizer("tiny-gpt2");
    removing.putObject("pre_tokenizer").put("type", "Split").put("behavior", "Removed");
    assertThat(TokenBound.of(removing)).isZero();

    // Byte-level without every byte symbol and no unknown token: a missing byte is dropped.
    ObjectNode missingByte = tokenizer("tiny-gpt2");
    ((ObjectNode) missingByte.get("model").get("vocab")).remove("!");
    ((ObjectNode) missingByte.get("model")).putNull("unk_token");
    assertThat(TokenBound.of(missingByte)).isZero();

    ObjectNode nfc = tokenizer("tiny-gpt2");
    nfc.putObject("normalizer").put("type", "NFC");
    assertThat(TokenBound.of(nfc)).isEqualTo(13 * 4);

    ObjectNode shrinkingReplace = tokenizer("tiny-gpt2");
    ObjectNode replace = shrinkingReplace.putObject("normalizer").put("type", "Replace");
    replace.putObject("pattern").put("String", "  ");
    replace.put("content", " ");
    assertThat(TokenBound.of(shrinkingReplace)).isZero();
    ObjectNode metaspace = tokenizer("tiny-gpt2");
    ObjectNode sp = metaspace.putObject("normalizer").put("type", "Replace");
    sp.putObject("pattern").put("String", " ");
    sp.put("content", "▁");
    assertThat(TokenBound.of(metaspace)).isEqualTo(13);
    assertThat(TokenBound.byteLevelAlphabet()).hasSize(256);
  }

  @Test
  void aTextTooLongToFitIsRefusedWithoutTokenizingIt() {
    // 40 MB: tokenizing it would take most of a minute and gigabytes.
    String huge = "the quick brown fox jumps over the lazy dog ".repeat(1_000_000);
    LanguageModel llama = Fixtures.decoder("tiny-llama");
    try (llama) {
      SampleGenerator generator =
          new SampleGenerator(
              llama, new SamplingConfig(2, 1.0, 0, 1.0, 8, List.of()), GenerationOptions.of(4096));
      long start = System.nanoTime();
      List<SampleGenerator.PromptResult> results =
          generator.generate(
              List.of(
                  new SampleGenerator.Request("huge", huge),
                  new SampleGenerator.Request("small", "Hello there.")),
              1);
      assertThat((System.nanoTime() - start) / 1e9).isLessThan(5);
      assertThat(results.get(0).sampled()).isFalse();
      assertThat(results.get(0).refusal().reason()).isEqualTo(Refusal.Reason.PROMPT_TOO_LONG);
      assertThat(results.get(0).refusal().detail())
          .isEqualTo(
              "a text of "
                  + huge.length()
                  + " characters has more than 248 tokens (tokenizer.json: at most 12 characters"
                  + " per token), and 8 new tokens must fit the context window of 256 too (not"
                  + " tokenized)");
      assertThat(results.get(1).sampled()).isTrue();

      SequenceScorer scorer = new SequenceScorer(llama, 4096);
      List<SequenceScorer.Result> scored =
          scorer.score(
              List.of(SequenceScorer.Request.of(huge, "x"), SequenceScorer.Request.of("Hi", "x")),
              false);
      assertThat(scored.get(0).refusal().reason()).isEqualTo(Refusal.Reason.SEQUENCE_TOO_LONG);
      assertThat(scored.get(0).refusal().detail()).endsWith("(not tokenized)");
      assertThat(scored.get(1).scored()).isTrue();
    }
    try (RewardModel reward = Fixtures.reward()) {
      List<RewardScorer.Result> r = new RewardScorer(reward, 4096).score(List.of(huge, "Hi"));
      assertThat(r.get(0).refusal().reason()).isEqualTo(Refusal.Reason.SEQUENCE_TOO_LONG);
      assertThat(r.get(0).refusal().detail()).endsWith("(not tokenized)");
      assertThat(r.get(1).scored()).isTrue();
    }
  }
}
