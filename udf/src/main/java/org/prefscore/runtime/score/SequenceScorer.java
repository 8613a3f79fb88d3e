package org.prefscore.runtime.score;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.prefscore.runtime.DecodeSession;
import org.prefscore.runtime.KvCache;
import org.prefscore.runtime.LanguageModel;
import org.prefscore.runtime.LogMath;
import org.prefscore.runtime.Refusal;
import org.prefscore.runtime.StepInput;
import org.prefscore.runtime.StepOutput;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Teacher-forced log-probabilities log π(y|x): the sum over the response tokens of their
 * log-softmax at temperature 1, prompt tokens masked out, over the full logits width.
 *
 * <p>Tokenization follows TRL 1.x's DPOTrainer ({@code _prepare_dataset}) so the sums can stand in
 * for its {@code ref_chosen_logps} / {@code ref_rejected_logps}:
 *
 * <ul>
 *   <li>{@link Tokenization#TEXT} (plain-text data): the EOS token's text is appended to the
 *       response unless the response already ends with it, {@code prompt_ids = tok(prompt)} and
 *       {@code full = tok(prompt + response)} with the tokenizer's special tokens (as {@code
 *       tokenizer(text)} does: a BOS is added even when the text already starts with one);
 *   <li>{@link Tokenization#CHAT_TEMPLATE} (conversational data): {@code prompt_ids} and {@code
 *       full} are the tokens of the chat template's renderings of the prompt (with the generation
 *       prompt) and of the prompt + response, without special tokens (as {@code
 *       apply_chat_template(..., tokenize=True)} does), nothing appended.
 * </ul>
 *
 * <p>In both the response ids are {@code full[len(prompt_ids):]} and the model sees {@code
 * prompt_ids + response_ids}. When the prompt's ids are not a prefix of the joint ids (a prompt
 * ending in a space, say) this differs from scoring the joint ids; it matches TRL, is flagged on
 * the result and counted in a warning.
 *
 * <p>Batches are right-padded, grouped by length and bounded by a token budget. Thread-safe.
 */
public final class SequenceScorer {

  private static final Logger LOG = LoggerFactory.getLogger(SequenceScorer.class);

  /** Default bound on the logits of one forward pass: 256 MB of floats. */
  public static final long DEFAULT_LOGITS_BYTES = 256L << 20;

  /** How a request's texts become token ids (TRL's two dataset kinds). */
  public enum Tokenization {
    /** Plain text: the tokenizer's special tokens added; the EOS text appended when asked. */
    TEXT,
    /** Chat-template renderings: tokenized without special tokens, nothing appended. */
    CHAT_TEMPLATE
  }

  /**
   * One (prompt, response) to score.
   *
   * @param prompt the prompt text (for {@link Tokenization#CHAT_TEMPLATE}: the rendering of the
   *     conversation with the generation prompt)
   * @param response the response text; ignored when {@code joint} is given
   * @param appendEos {@link Tokenization#TEXT} only: append the EOS text unless the response
   *     already ends with it (TRL's rule)
   * @param tokenization how the texts are tokenized
   * @param joint the text of prompt + response when it is not their concatenation (the chat
   *     template's rendering of the conversation + the response), or null
   */
  public record Request(
      String prompt, String response, boolean appendEos, Tokenization tokenization, String joint) {
    public Request {
      if (prompt == null || (response == null && joint == null) || tokenization == null) {
        throw new IllegalArgumentException("prompt and response must not be null");
      }
      if (tokenization == Tokenization.CHAT_TEMPLATE && appendEos) {
        throw new IllegalArgumentException("chat-template requests get no EOS appended");
      }
    }

    /** Plain text, EOS appended (unless already there) when {@code appendEos}. */
    public Request(String prompt, String response, boolean appendEos) {
      this(prompt, response, appendEos, Tokenization.TEXT, null);
    }

    /** TRL's default for plain-text data: EOS appended unless the response ends with it. */
    public static Request of(String prompt, String response) {
      return new Request(prompt, response, true);
    }

    /**
     * A rendered assistant turn after a rendered prompt (its end-of-turn text included): joint =
     * prompt + turn, tokenized without special tokens.
     */
    public static Request chat(String prompt, String turn) {
      return new Request(prompt, turn, false, Tokenization.CHAT_TEMPLATE, null);
    }

    /**
     * TRL's conversational tokenization: {@code promptRendering} = the conversation rendered with
     * the generation prompt, {@code fullRendering} = the conversation + the response rendered
     * without it; the response ids are the tokens of the latter past the former's.
     */
    public static Request conversation(String promptRendering, String fullRendering) {
      return new Request(promptRendering, null, false, Tokenization.CHAT_TEMPLATE, fullRendering);
    }

    /** The text of prompt + response as it is tokenized (EOS appended when the rule says so). */
    String jointText(String eosToken) {
      if (joint != null) {
        return joint;
      }
      boolean eos = appendEos && !eosToken.isEmpty() && !response.endsWith(eosToken);
      return prompt + (eos ? response + eosToken : response);
    }
  }

  /**
   * The score of one request.
   *
   * @param logprob sum of the response tokens' log-probs; NaN when refused
   * @param tokenLogprobs per-token values, when asked for (else null)
   * @param promptTokens prompt ids fed to the model
   * @param responseTokens response ids scored
   * @param prefixMismatch the prompt's ids are not a prefix of tok(prompt + response)
   * @param refusal why the request was not scored, or null
   */
  public record Result(
      double logprob,
      float[] tokenLogprobs,
      int promptTokens,
      int responseTokens,
      boolean prefixMismatch,
      Refusal refusal) {

    /** Whether the request was scored. */
    public boolean scored() {
      return refusal == null;
    }
  }

  private final LanguageModel model;
  private final long tokenBudget;
  private final long logitsBytes;
  private final AtomicLong prefixMismatches = new AtomicLong();
  private final AtomicLong modelNanos = new AtomicLong();
  private final AtomicLong forwardPasses = new AtomicLong();

  /**
   * @param tokenBudget upper bound on padded tokens per forward pass
   */
  public SequenceScorer(LanguageModel model, long tokenBudget) {
    this(model, tokenBudget, DEFAULT_LOGITS_BYTES);
  }

  /**
   * @param tokenBudget upper bound on padded tokens per forward pass
   * @param logitsBytes upper bound on the logits of one forward pass (padded tokens × logits width
   *     × 4 bytes; the engine's output and the copy read from it each take this much). A single
   *     sequence longer than it allows still runs, alone.
   */
  public SequenceScorer(LanguageModel model, long tokenBudget, long logitsBytes) {
    if (tokenBudget < 1 || logitsBytes < 1) {
      throw new IllegalArgumentException(
          "token budget and logits bytes must be >= 1, got " + tokenBudget + " and " + logitsBytes);
    }
    this.model = model;
    this.tokenBudget = tokenBudget;
    this.logitsBytes = logitsBytes;
  }

  /** Forward passes run so far (all threads). */
  public long forwardPasses() {
    return forwardPasses.get();
  }

  /** Nanoseconds spent inside the model's forward passes so far (all threads). */
  public long modelNanos() {
    return modelNanos.get();
  }

  /** Requests whose prompt ids were not a prefix of the joint ids, since this scorer was made. */
  public long prefixMismatches() {
    return prefixMismatches.get();
  }

  /** Scores every request; results are in request order. */
  public List<Result> score(List<Request> requests, boolean perToken) {
    int n = requests.size();
    List<long[]> prompts = new ArrayList<>(n);
    List<long[]> responses = new ArrayList<>(n);
    boolean[] mismatch = new boolean[n];
    Refusal[] early = new Refusal[n];
    int mismatches = 0;
    int window = model.files().contextWindow();
    for (int i = 0; i < n; i++) {
      Request r = requests.get(i);
      String joint = r.jointText(model.files().eosToken());
      if (model.files().provablyMoreTokensThan(joint, window)) {
        // Not tokenized: its length alone shows it cannot fit.
        early[i] =
            new Refusal(
                Refusal.Reason.SEQUENCE_TOO_LONG,
                model.files().tooManyTokens(joint, window)
                    + ", more than the context window of "
                    + window
                    + " (not tokenized)");
        prompts.add(new long[0]);
        responses.add(new long[0]);
        continue;
      }
      boolean special = r.tokenization() == Tokenization.TEXT;
      long[] prompt = model.tokenizer().encode(r.prompt(), special);
      long[] full = model.tokenizer().encode(joint, special);
      mismatch[i] = !isPrefix(prompt, full);
      mismatches += mismatch[i] ? 1 : 0;
      prompts.add(prompt);
      responses.add(Arrays.copyOfRange(full, Math.min(prompt.length, full.length), full.length));
    }
    if (mismatches > 0) {
      prefixMismatches.addAndGet(mismatches);
      LOG.warn(
          "{} of {} prompts tokenize differently inside prompt+response (e.g. a trailing space);"
              + " scored with TRL's convention (prompt ids + suffix of the joint ids)",
          mismatches,
          n);
    }
    return scoreTokens(prompts, responses, mismatch, early, perToken);
  }

  /**
   * Scores already tokenized (prompt, response) pairs: the model sees {@code prompt + response} and
   * the response tokens' log-probs are summed. Results are in input order.
   */
  public List<Result> scoreTokens(List<long[]> prompts, List<long[]> responses, boolean perToken) {
    return scoreTokens(
        prompts, responses, new boolean[prompts.size()], new Refusal[prompts.size()], perToken);
  }

  private List<Result> scoreTokens(
      List<long[]> prompts,
      List<long[]> responses,
      boolean[] mismatch,
      Refusal[] early,
      boolean perToken) {
    int n = prompts.size();
    if (responses.size() != n) {
      throw new IllegalArgumentException("prompts and responses differ in number");
    }
    long[][] promptIds = prompts.toArray(long[][]::new);
    long[][] responseIds = responses.toArray(long[][]::new);
    Result[] results = new Result[n];
    List<Integer> runnable = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      int total = promptIds[i].length + responseIds[i].length;
      if (early[i] != null) {
        results[i] =
            refused(
                promptIds[i], responseIds[i], mismatch[i], early[i].reason(), early[i].detail());
      } else if (promptIds[i].length == 0) {
        results[i] =
            refused(
                promptIds[i],
                responseIds[i],
                mismatch[i],
                Refusal.Reason.EMPTY_PROMPT,
                "the prompt has no tokens");
      } else if (total > model.files().contextWindow()) {
        results[i] =
            refused(
                promptIds[i],
                responseIds[i],
                mismatch[i],
                Refusal.Reason.SEQUENCE_TOO_LONG,
                total + " tokens exceed the context window of " + model.files().contextWindow());
      } else {
        runnable.add(i);
      }
    }
    int[] lengths =
        runnable.stream().mapToInt(i -> promptIds[i].length + responseIds[i].length).toArray();
    int width = model.graph().signature().logitsWidth();
    long budget = Math.max(1, Math.min(tokenBudget, logitsBytes / ((long) Float.BYTES * width)));
    try (DecodeSession session = model.graph().openSession()) {
      for (int[] batch : LengthBatches.plan(lengths, budget, Integer.MAX_VALUE)) {
        int[] items = Arrays.stream(batch).map(runnable::get).toArray();
        scoreBatch(session, items, promptIds, responseIds, mismatch, perToken, results);
      }
    }
    return Arrays.asList(results);
  }

  private void scoreBatch(
      DecodeSession session,
      int[] items,
      long[][] promptIds,
      long[][] responseIds,
      boolean[] mismatch,
      boolean perToken,
      Result[] results) {
    int rows = items.length;
    int seq = 0;
    for (int item : items) {
      seq = Math.max(seq, promptIds[item].length + responseIds[item].length);
    }
    long pad = model.files().eosTokenIds().get(0);
    long[] ids = new long[rows * seq];
    long[] mask = new long[rows * seq];
    long[] positions = new long[rows * seq];
    Arrays.fill(ids, pad);
    for (int r = 0; r < rows; r++) {
      long[] p = promptIds[items[r]];
      long[] c = responseIds[items[r]];
      System.arraycopy(p, 0, ids, r * seq, p.length);
      System.arraycopy(c, 0, ids, r * seq + p.length, c.length);
      for (int s = 0; s < p.length + c.length; s++) {
        mask[r * seq + s] = 1;
        positions[r * seq + s] = s;
      }
    }
    KvCache empty = session.emptyCache(rows);
    long start = System.nanoTime();
    StepOutput out =
        session.forward(
            new StepInput(
                rows, seq, ids, mask, positions, empty, StepInput.LogitsWanted.ALL_POSITIONS));
    modelNanos.addAndGet(System.nanoTime() - start);
    forwardPasses.incrementAndGet();
    empty.close();
    out.present().close();
    for (int r = 0; r < rows; r++) {
      int item = items[r];
      int promptLength = promptIds[item].length;
      long[] response = responseIds[item];
      float[] tokens = perToken ? new float[response.length] : null;
      double sum = 0;
      for (int j = 0; j < response.length; j++) {
        int offset = out.offset(r, promptLength + j - 1);
        double lp =
            out.logits()[offset + (int) response[j]]
                - LogMath.logSumExp(out.logits(), offset, out.logitsWidth());
        sum += lp;
        if (tokens != null) {
          tokens[j] = (float) lp;
        }
      }
      results[item] = new Result(sum, tokens, promptLength, response.length, mismatch[item], null);
    }
  }

  private static Result refused(
      long[] prompt, long[] response, boolean mismatch, Refusal.Reason reason, String detail) {
    return new Result(
        Double.NaN, null, prompt.length, response.length, mismatch, new Refusal(reason, detail));
  }

  private static boolean isPrefix(long[] prefix, long[] full) {
    if (prefix.length > full.length) {
      return false;
    }
    for (int i = 0; i < prefix.length; i++) {
      if (prefix[i] != full[i]) {
        return false;
      }
    }
    return true;
  }
}
