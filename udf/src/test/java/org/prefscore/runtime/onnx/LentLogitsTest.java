package org.prefscore.runtime.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.FloatBuffer;
import org.junit.jupiter.api.Test;
import org.prefscore.runtime.DecodeSession;
import org.prefscore.runtime.KvCache;
import org.prefscore.runtime.LanguageModel;
import org.prefscore.runtime.StepInput;
import org.prefscore.runtime.StepOutput;
import org.prefscore.testing.Fixtures;

/**
 * {@link StepInput.LogitsWanted#LAST_POSITION_LENT}: a one-position pass writes its logits into the
 * session's own memory (ONNX Runtime's pinned outputs, {@link LentLogits}) and they equal a copied
 * pass's bit for bit, as do the cache and the sampling head; a pass the engine cannot lend (several
 * positions, no logits_to_keep) lends a view of its copy.
 */
class LentLogitsTest {

  private static StepInput prefill(KvCache empty, StepInput.LogitsWanted wanted) {
    return new StepInput(
        2,
        3,
        new long[] {5, 6, 7, 8, 9, 10},
        new long[] {1, 1, 1, 0, 1, 1},
        new long[] {0, 1, 2, 0, 0, 1},
        empty,
        wanted,
        0.7);
  }

  private static StepInput step(KvCache past, StepInput.LogitsWanted wanted) {
    return new StepInput(
        2,
        1,
        new long[] {11, 12},
        new long[] {1, 1, 1, 1, 0, 1, 1, 1},
        new long[] {3, 2},
        past,
        wanted,
        0.7);
  }

  private static float[] contents(FloatBuffer lent) {
    float[] out = new float[lent.capacity()];
    lent.get(0, out);
    return out;
  }

  @Test
  void aLentDecodingStepGivesTheLogitsCacheAndHeadOfACopiedOne() {
    for (String fixture : new String[] {"tiny-llama", "tiny-llama-head", "tiny-llama-keep"}) {
      try (LanguageModel model = Fixtures.decoder(fixture);
          DecodeSession copied = model.graph().openSession();
          DecodeSession lent = model.graph().openSession()) {
        StepOutput a =
            copied.forward(prefill(copied.emptyCache(2), StepInput.LogitsWanted.LAST_POSITION));
        StepOutput b =
            lent.forward(prefill(lent.emptyCache(2), StepInput.LogitsWanted.LAST_POSITION_LENT));
        assertThat(b.logits()).as(fixture).isNull();
        assertThat(contents(b.lentLogits())).as(fixture).isEqualTo(a.logits());
        // Three positions: lent only where the graph keeps the last one (logits_to_keep).
        assertThat(b.lentLogits().isDirect())
            .as(fixture)
            .isEqualTo(fixture.equals("tiny-llama-keep"));

        StepOutput c = copied.forward(step(a.present(), StepInput.LogitsWanted.LAST_POSITION));
        StepOutput d = lent.forward(step(b.present(), StepInput.LogitsWanted.LAST_POSITION_LENT));
        assertThat(d.lentLogits().isDirect()).as(fixture).isTrue();
        assertThat(contents(d.lentLogits())).as(fixture).isEqualTo(c.logits());
        assertThat(d.positions()).isEqualTo(1);
        assertThat(d.logitsWidth()).isEqualTo(c.logitsWidth());
        if (c.head() != null) {
          assertThat(d.head().mass()).isEqualTo(c.head().mass());
          assertThat(d.head().warpedMass()).isEqualTo(c.head().warpedMass());
        } else {
          assertThat(d.head()).isNull();
        }
        // The lent pass's cache goes on as the copied one's: one more step, same logits.
        StepOutput e = copied.forward(step2(c.present(), StepInput.LogitsWanted.LAST_POSITION));
        StepOutput f = lent.forward(step2(d.present(), StepInput.LogitsWanted.LAST_POSITION_LENT));
        assertThat(contents(f.lentLogits())).as(fixture).isEqualTo(e.logits());
        for (StepOutput o : new StepOutput[] {a, b, c, d}) {
          o.present().close();
        }
        e.present().close();
        f.present().close();
      }
    }
  }

  private static StepInput step2(KvCache past, StepInput.LogitsWanted wanted) {
    return new StepInput(
        2,
        1,
        new long[] {13, 14},
        new long[] {1, 1, 1, 1, 1, 0, 1, 1, 1, 1},
        new long[] {4, 3},
        past,
        wanted,
        0.7);
  }
}
