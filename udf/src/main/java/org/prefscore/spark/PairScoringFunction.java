package org.prefscore.spark;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.function.Supplier;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.prefscore.chat.ChatMessage;
import org.prefscore.chat.PromptRenderer;
import org.prefscore.executor.Chunks;
import org.prefscore.executor.ExecutorRegistry;
import org.prefscore.method.PreferenceLogprobs;
import org.prefscore.method.SrDpoTerms;
import org.prefscore.runtime.LanguageModel;
import org.prefscore.runtime.ModelSpec;
import org.prefscore.runtime.score.SequenceScorer;

/**
 * The second scoring pass (Sr-DPO terms) over {@link OutputSchema#PAIR_WORK} rows that hold a kept
 * pair: log π_ref(y±|x) and log π_ref(y±|p⊕x) with the reference model, the same four with the
 * policy checkpoint when one is configured, then m(x), m_p(x), Δ and the losses ({@link
 * org.prefscore.method.RefinementMargin}). Without a checkpoint the policy terms are the reference
 * terms (π = π_ref: margins and Δ are exactly 0) and {@code policy_terms} says {@code reference}.
 *
 * <p>Log-probs follow TRL's DPOTrainer tokenization ({@link SequenceScorer}): EOS appended to text
 * responses (unless they end with it), not to chat turns ({@code response_format}); a
 * conversational pair (west-of-n, a chat prompt) is rendered again with the reference's chat
 * template, as TRL renders conversational data, and a rendering that fails is a CHAT_TEMPLATE_ERROR
 * reject. A pair any term of which the runtime refuses (SEQUENCE_TOO_LONG, EMPTY_PROMPT) becomes a
 * reject of stage {@code score} naming the model and the term.
 */
public final class PairScoringFunction implements MapPartitionsFunction<Row, Row> {

  private static final long serialVersionUID = 1L;
  public static final String STAGE = "score";
  private static final String[] TERMS = {
    "x, chosen", "x, rejected", "p⊕x, chosen", "p⊕x, rejected"
  };

  private final ScoringSettings settings;

  public PairScoringFunction(ScoringSettings settings) {
    this.settings = settings;
  }

  @Override
  public Iterator<Row> call(Iterator<Row> pairs) {
    return new Chunks<>(pairs, settings.pairsPerCall(), new Worker()::process);
  }

  private final class Worker {
    private SequenceScorer reference;
    private SequenceScorer checkpoint;
    private PromptRenderer renderer;

    List<Row> process(List<Row> chunk) {
      if (reference == null) {
        reference = scorer(settings.reference());
        checkpoint = settings.checkpoint() == null ? null : scorer(settings.checkpoint());
      }
      List<SequenceScorer.Request> requests = new ArrayList<>(4 * chunk.size());
      List<Row> rows = new ArrayList<>(chunk.size());
      List<Row> out = new ArrayList<>(chunk.size());
      for (Row row : chunk) {
        try {
          requests.addAll(requests(row));
          rows.add(row);
        } catch (PromptRenderer.RenderException | IllegalArgumentException e) {
          out.add(
              Rows.of(OutputSchema.PAIR_WORK)
                  .copyFrom(row)
                  .set(OutputSchema.REJECT_STAGE, STAGE)
                  .set(OutputSchema.REJECT_REASON, "CHAT_TEMPLATE_ERROR")
                  .set(OutputSchema.REJECT_DETAIL, e.getMessage())
                  .build());
        }
      }
      List<SequenceScorer.Result> ref = timed(reference, requests);
      List<SequenceScorer.Result> ckpt = checkpoint == null ? null : timed(checkpoint, requests);
      for (int k = 0; k < rows.size(); k++) {
        out.add(
            row(
                rows.get(k),
                ref.subList(4 * k, 4 * k + 4),
                ckpt == null ? null : ckpt.subList(4 * k, 4 * k + 4)));
      }
      settings.counters().pairsScored.add(chunk.size());
      ExecutorRegistry.instance().progress().pairs.addAndGet(chunk.size());
      return out;
    }

    private List<SequenceScorer.Request> requests(Row row) {
      return terms(
          Rows.get(row, OutputSchema.RESPONSE_FORMAT),
          Rows.get(row, OutputSchema.PROMPT),
          Rows.get(row, OutputSchema.PX_PROMPT),
          Rows.get(row, OutputSchema.CHOSEN),
          Rows.get(row, OutputSchema.REJECTED),
          InputMessages.of(row, OutputSchema.MESSAGES),
          this::renderer);
    }

    private PromptRenderer renderer() {
      if (renderer == null) {
        ExecutorRegistry registry = ExecutorRegistry.instance();
        LanguageModel model = registry.decoder(settings.placement().resolve(settings.reference()));
        renderer =
            new PromptRenderer(
                () -> registry.chatTemplate(model.files()),
                settings.refinement(),
                settings.templateKwargs());
      }
      return renderer;
    }

    private Row row(Row pair, List<SequenceScorer.Result> ref, List<SequenceScorer.Result> ckpt) {
      Rows out = Rows.of(OutputSchema.PAIR_WORK).copyFrom(pair);
      String refused = refusal("models.reference", ref);
      if (refused == null && ckpt != null) {
        refused = refusal("models.policy-checkpoint", ckpt);
      }
      if (refused != null) {
        return out.set(OutputSchema.REJECT_STAGE, STAGE)
            .set(OutputSchema.REJECT_REASON, refused.substring(0, refused.indexOf(' ')))
            .set(OutputSchema.REJECT_DETAIL, refused.substring(refused.indexOf(' ') + 1))
            .build();
      }
      boolean mismatch = false;
      for (SequenceScorer.Result r : ref) {
        mismatch |= r.prefixMismatch();
      }
      out.set(OutputSchema.REF_CHOSEN_LOGPS, ref.get(0).logprob())
          .set(OutputSchema.REF_REJECTED_LOGPS, ref.get(1).logprob())
          .set(OutputSchema.REF_CHOSEN_LOGPS_PX, ref.get(2).logprob())
          .set(OutputSchema.REF_REJECTED_LOGPS_PX, ref.get(3).logprob());
      PreferenceLogprobs logprobs;
      try {
        if (ckpt == null) {
          logprobs =
              PreferenceLogprobs.referenceOnly(
                  ref.get(0).logprob(),
                  ref.get(1).logprob(),
                  ref.get(2).logprob(),
                  ref.get(3).logprob());
          out.set(OutputSchema.POLICY_TERMS, OutputSchema.POLICY_TERMS_REFERENCE);
        } else {
          for (SequenceScorer.Result r : ckpt) {
            mismatch |= r.prefixMismatch();
          }
          logprobs =
              new PreferenceLogprobs(
                  ckpt.get(0).logprob(),
                  ckpt.get(1).logprob(),
                  ref.get(0).logprob(),
                  ref.get(1).logprob(),
                  ckpt.get(2).logprob(),
                  ckpt.get(3).logprob(),
                  ref.get(2).logprob(),
                  ref.get(3).logprob());
          out.set(OutputSchema.CKPT_CHOSEN_LOGPS, ckpt.get(0).logprob())
              .set(OutputSchema.CKPT_REJECTED_LOGPS, ckpt.get(1).logprob())
              .set(OutputSchema.CKPT_CHOSEN_LOGPS_PX, ckpt.get(2).logprob())
              .set(OutputSchema.CKPT_REJECTED_LOGPS_PX, ckpt.get(3).logprob())
              .set(OutputSchema.POLICY_TERMS, OutputSchema.POLICY_TERMS_CHECKPOINT);
        }
      } catch (IllegalArgumentException e) {
        return out.set(OutputSchema.REJECT_STAGE, STAGE)
            .set(OutputSchema.REJECT_REASON, "INVALID_LOGPROB")
            .set(OutputSchema.REJECT_DETAIL, e.getMessage())
            .build();
      }
      SrDpoTerms terms = settings.margin().terms(logprobs);
      return out.set(OutputSchema.DPO_MARGIN, terms.margin())
          .set(OutputSchema.PX_MARGIN, terms.promptAugmentedMargin())
          .set(OutputSchema.REFINEMENT, terms.refinement())
          .set(OutputSchema.DPO_LOSS, terms.dpoLoss())
          .set(OutputSchema.SR_DPO_LOSS, terms.srDpoLoss())
          .set(OutputSchema.SR_IPO_LOSS, terms.srIpoLoss())
          .set(OutputSchema.PREFIX_MISMATCH, mismatch)
          .build();
    }

    /** "REASON model on term: detail" for the first refused term, or null. */
    private String refusal(String model, List<SequenceScorer.Result> results) {
      for (int t = 0; t < results.size(); t++) {
        SequenceScorer.Result r = results.get(t);
        if (!r.scored()) {
          return r.refusal().reason().name()
              + " "
              + model
              + " on ("
              + TERMS[t]
              + "): "
              + r.refusal().detail();
        }
      }
      return null;
    }

    private List<SequenceScorer.Result> timed(
        SequenceScorer scorer, List<SequenceScorer.Request> requests) {
      long nanos = scorer.modelNanos();
      long mismatches = scorer.prefixMismatches();
      List<SequenceScorer.Result> results = scorer.score(requests, false);
      settings.counters().scoringNanos.add(scorer.modelNanos() - nanos);
      settings.counters().sequencesScored.add(requests.size());
      long tokens = 0;
      for (SequenceScorer.Result r : results) {
        tokens += r.promptTokens() + r.responseTokens();
      }
      settings.counters().scoredTokens.add(tokens);
      ExecutorRegistry.instance().progress().scoredTokens.addAndGet(tokens);
      settings.counters().prefixMismatches.add(scorer.prefixMismatches() - mismatches);
      return results;
    }
  }

  /**
   * The four terms of a pair, (x, y+), (x, y-), (p⊕x, y+), (p⊕x, y-), tokenized as TRL's DPOTrainer
   * tokenizes a row of that {@code response_format}.
   *
   * <ul>
   *   <li>{@code conversational}: the conversation and the conversation + each response as an
   *       assistant turn, rendered by {@code renderer} (the reference's chat template), tokenized
   *       without special tokens; the response ids are the joint ids past the prompt's.
   *   <li>{@code chat}: rendered turns after a rendered prompt (their end-of-turn text included):
   *       no EOS appended, no special tokens added.
   *   <li>otherwise plain text: EOS appended unless the response ends with it, special tokens
   *       added.
   * </ul>
   *
   * @param messages the conversation ({@code conversational} only)
   */
  static List<SequenceScorer.Request> terms(
      String format,
      String x,
      String px,
      String chosen,
      String rejected,
      List<ChatMessage> messages,
      Supplier<PromptRenderer> renderer) {
    if (OutputSchema.RESPONSE_FORMAT_CONVERSATIONAL.equals(format)) {
      if (messages == null) {
        throw new IllegalArgumentException("a conversational pair without its messages");
      }
      PromptRenderer.Conversation c =
          renderer.get().renderConversation(messages, List.of(chosen, rejected));
      return List.of(
          SequenceScorer.Request.conversation(c.prompt(), c.full().get(0)),
          SequenceScorer.Request.conversation(c.prompt(), c.full().get(1)),
          SequenceScorer.Request.conversation(c.pxPrompt(), c.fullPx().get(0)),
          SequenceScorer.Request.conversation(c.pxPrompt(), c.fullPx().get(1)));
    }
    if (OutputSchema.RESPONSE_FORMAT_CHAT.equals(format)) {
      return List.of(
          SequenceScorer.Request.chat(x, chosen),
          SequenceScorer.Request.chat(x, rejected),
          SequenceScorer.Request.chat(px, chosen),
          SequenceScorer.Request.chat(px, rejected));
    }
    return List.of(
        SequenceScorer.Request.of(x, chosen),
        SequenceScorer.Request.of(x, rejected),
        SequenceScorer.Request.of(px, chosen),
        SequenceScorer.Request.of(px, rejected));
  }

  private SequenceScorer scorer(ModelSpec spec) {
    return new SequenceScorer(
        ExecutorRegistry.instance().decoder(settings.placement().resolve(spec)),
        settings.tokenBudget(),
        settings.logitsBytes());
  }
}
