package org.prefscore.spark;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.prefscore.chat.ChatMessage;
import org.prefscore.chat.PromptRenderer;
import org.prefscore.executor.Chunks;
import org.prefscore.executor.ExecutorRegistry;
import org.prefscore.runtime.LanguageModel;
import org.prefscore.runtime.RewardModel;
import org.prefscore.runtime.decode.GenerationOptions;
import org.prefscore.runtime.decode.SampleGenerator;
import org.prefscore.runtime.score.RewardScorer;

/**
 * West-of-N steps 1 and 2 on one partition: renders each prompt ({@link OutputSchema#PROMPTS}
 * rows), draws N samples from the policy and scores each with the reward model. Emits {@link
 * OutputSchema#SAMPLES} rows: one per sample, or one reject row per prompt the runtime refused
 * (PROMPT_TOO_LONG, EMPTY_PROMPT) or could not render (CHAT_TEMPLATE_ERROR).
 *
 * <p>Models come from {@link ExecutorRegistry#decoder} (one load per executor JVM, from a local
 * copy when the directory is remote, on the task's GPU when CUDA is asked for: {@link
 * ModelPlacement}); prompts are handed to the runtime {@code promptsPerCall} at a time and the
 * runtime batches them within its token budget. Samples do not depend on partitioning: each
 * sample's seed derives from (run seed, prompt id, sample index).
 */
public final class GenerationFunction implements MapPartitionsFunction<Row, Row> {

  private static final long serialVersionUID = 1L;
  public static final String STAGE = "generate";

  private final GenerationSettings settings;

  public GenerationFunction(GenerationSettings settings) {
    this.settings = settings;
  }

  @Override
  public Iterator<Row> call(Iterator<Row> prompts) {
    return new Chunks<>(prompts, settings.promptsPerCall(), new Worker()::process);
  }

  /** Per task: models are looked up on the first chunk, so empty partitions load nothing. */
  private final class Worker {
    private SampleGenerator generator;
    private RewardScorer scorer;
    private PromptRenderer renderer;

    List<Row> process(List<Row> chunk) {
      if (generator == null) {
        ExecutorRegistry registry = ExecutorRegistry.instance();
        LanguageModel policy = registry.decoder(settings.placement().resolve(settings.policy()));
        // A pairwise teacher judges the samples later (KnockoutFunction): no pointwise reward.
        RewardModel reward =
            settings.reward() == null
                ? null
                : registry.reward(settings.placement().resolve(settings.reward()));
        // The task's cores sample the rows of a step between forward passes, as many as the engine
        // may use inside one (runtime.intra-op-threads; 0, "ONNX Runtime decides": one).
        int samplingThreads = Math.max(1, settings.policy().engine().intraOpThreads());
        GenerationOptions options =
            GenerationOptions.of(settings.tokenBudget()).withLogitsBytes(settings.logitsBytes());
        if (samplingThreads > 1) {
          options = options.withSamplingThreads(samplingThreads, registry.samplingPool());
        }
        if (settings.decodeLanes() > 1) {
          options = options.withLanes(settings.decodeLanes(), registry.samplingPool());
        }
        options = options.withSamplingHead(settings.samplingHead());
        generator = new SampleGenerator(policy, settings.sampling().toConfig(), options);
        scorer = reward == null ? null : new RewardScorer(reward, settings.tokenBudget());
        renderer =
            new PromptRenderer(
                () -> registry.chatTemplate(policy.files()),
                settings.refinement(),
                settings.templateKwargs());
      }
      List<Row> out = new ArrayList<>();
      List<Row> rendered = new ArrayList<>();
      List<PromptRenderer.Rendered> texts = new ArrayList<>();
      List<List<ChatMessage>> conversations = new ArrayList<>();
      List<SampleGenerator.Request> requests = new ArrayList<>();
      for (Row row : chunk) {
        try {
          List<ChatMessage> messages = conversation(row);
          PromptRenderer.Rendered r = renderer.render(Rows.get(row, OutputSchema.PROMPT), messages);
          rendered.add(row);
          texts.add(r);
          conversations.add(messages);
          requests.add(
              new SampleGenerator.Request(Rows.get(row, OutputSchema.PROMPT_ID), r.prompt()));
        } catch (PromptRenderer.RenderException | IllegalArgumentException e) {
          out.add(reject(row, null, "CHAT_TEMPLATE_ERROR", e.getMessage()));
        }
      }
      long tokensBefore = generator.generatedTokens();
      long nanosBefore = generator.modelNanos();
      List<SampleGenerator.PromptResult> results = generator.generate(requests, settings.runSeed());
      settings.counters().generatedTokens.add(generator.generatedTokens() - tokensBefore);
      ExecutorRegistry.instance()
          .progress()
          .tokens
          .addAndGet(generator.generatedTokens() - tokensBefore);
      settings.counters().generationNanos.add(generator.modelNanos() - nanosBefore);

      List<String> rewardPrompts = new ArrayList<>();
      List<String> rewardResponses = new ArrayList<>();
      for (int i = 0; i < results.size(); i++) {
        for (SampleGenerator.Sample s : results.get(i).samples()) {
          rewardPrompts.add(texts.get(i).prompt());
          rewardResponses.add(s.text());
        }
      }
      List<RewardScorer.Result> rewards = null;
      if (scorer != null) {
        long rewardNanosBefore = scorer.modelNanos();
        rewards = scorer.scorePairs(rewardPrompts, rewardResponses);
        settings.counters().rewardNanos.add(scorer.modelNanos() - rewardNanosBefore);
        settings.counters().rewardTexts.add(rewards.size());
      }

      int next = 0;
      for (int i = 0; i < results.size(); i++) {
        SampleGenerator.PromptResult result = results.get(i);
        Row row = rendered.get(i);
        if (!result.sampled()) {
          out.add(
              reject(
                  row, texts.get(i), result.refusal().reason().name(), result.refusal().detail()));
          continue;
        }
        for (SampleGenerator.Sample s : result.samples()) {
          RewardScorer.Result reward = rewards == null ? null : rewards.get(next++);
          // The prompt's own fields ride on its first sample only: one copy persisted, however
          // large N is (OutputSchema.SAMPLES).
          boolean carriesPrompt = s.sampleIndex() == 0;
          out.add(
              Rows.of(OutputSchema.SAMPLES)
                  .set(OutputSchema.INPUT_ROW, Rows.get(row, OutputSchema.INPUT_ROW))
                  .set(OutputSchema.PROMPT_ID, s.promptId())
                  .set(OutputSchema.PROMPT, carriesPrompt ? texts.get(i).prompt() : null)
                  .set(OutputSchema.PX_PROMPT, carriesPrompt ? texts.get(i).pxPrompt() : null)
                  .set(
                      OutputSchema.MESSAGES,
                      carriesPrompt && settings.pairFormat() != PairFormat.TEXT
                          ? InputMessages.rows(conversations.get(i))
                          : null)
                  .set(OutputSchema.SAMPLE_INDEX, s.sampleIndex())
                  .set(OutputSchema.SEED, s.seed())
                  .set(OutputSchema.TEXT, s.text())
                  .set(OutputSchema.PROMPT_TOKENS, result.promptTokens())
                  .set(OutputSchema.RESPONSE_TOKENS, s.tokenIds().length)
                  .set(OutputSchema.FINISH_REASON, s.finishReason().name())
                  .set(OutputSchema.POLICY_LOGPROB, s.logprob())
                  .set(OutputSchema.SAMPLING_LOGPROB, s.samplingLogprob())
                  .set(
                      OutputSchema.REWARD,
                      reward != null && reward.scored() ? reward.reward() : null)
                  .set(
                      OutputSchema.REWARD_REFUSAL,
                      reward == null || reward.scored() ? null : reward.refusal().reason().name())
                  .build());
        }
        settings.counters().samples.add(result.samples().size());
      }
      settings.counters().promptsGenerated.add(chunk.size());
      ExecutorRegistry.instance().progress().prompts.addAndGet(chunk.size());
      return out;
    }

    /**
     * The row's conversation, or null for a plain prompt; with {@link PairFormat#CONVERSATIONAL} a
     * plain prompt becomes one user message.
     */
    private List<ChatMessage> conversation(Row row) {
      List<ChatMessage> messages = InputMessages.of(row);
      if (messages == null && settings.pairFormat() == PairFormat.CONVERSATIONAL) {
        return List.of(ChatMessage.user(Rows.get(row, OutputSchema.PROMPT)));
      }
      return messages;
    }

    private Row reject(Row prompt, PromptRenderer.Rendered text, String reason, String detail) {
      return Rows.of(OutputSchema.SAMPLES)
          .set(OutputSchema.INPUT_ROW, Rows.get(prompt, OutputSchema.INPUT_ROW))
          .set(OutputSchema.PROMPT_ID, Rows.get(prompt, OutputSchema.PROMPT_ID))
          .set(OutputSchema.PROMPT, text == null ? null : text.prompt())
          .set(OutputSchema.REJECT_STAGE, STAGE)
          .set(OutputSchema.REJECT_REASON, reason)
          .set(OutputSchema.REJECT_DETAIL, detail)
          .build();
    }
  }
}
