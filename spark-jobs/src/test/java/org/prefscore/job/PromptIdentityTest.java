package org.prefscore.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.prefscore.chat.ChatMessage;

class PromptIdentityTest {

  @Test
  void normalisationIsNfcAndTrimOnly() {
    assertThat(PromptIdentity.normalise("  caf\u0065\u0301 \n")).isEqualTo("caf\u00e9");
    assertThat(PromptIdentity.normalise("A  b")).isEqualTo("A  b");
    assertThat(PromptIdentity.id(PromptIdentity.canonical(" Hello\t")))
        .isEqualTo(PromptIdentity.id(PromptIdentity.canonical("Hello")))
        .isNotEqualTo(PromptIdentity.id(PromptIdentity.canonical("hello")));
  }

  @Test
  void idIsTheFirst16HexCharactersOfSha256() {
    // sha256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
    assertThat(PromptIdentity.id("abc")).isEqualTo("ba7816bf8f01cfea");
  }

  @Test
  void chatPromptsHashTheirNormalisedMessages() {
    String a = PromptIdentity.canonical(List.of(ChatMessage.user(" Hi ")));
    assertThat(a).isEqualTo("[{\"role\":\"user\",\"content\":\"Hi\"}]");
    assertThat(PromptIdentity.id(a))
        .isNotEqualTo(PromptIdentity.id(PromptIdentity.canonical("Hi")));
  }
}
