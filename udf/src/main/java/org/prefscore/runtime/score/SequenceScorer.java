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
 * <p>Tokenization follows TRL's DPOTrainer so the sums can stand in for its {@code
 * ref_chosen_logps} / {@code ref_rejected_logps}: the EOS token's text is appended to the response
 * (plain-text data), {@code prompt_ids = tok(prompt)}, {@code full = tok(prompt + response)}, the
 * response ids are {@code full[len(prompt_ids):]} and the model sees {@code prompt_ids +
 * response_ids}. When the prompt's ids are not a prefix of the joint ids (a prompt ending in a
 * space, say) this differs from scoring the joint ids; it matches TRL, is flagged on the result and
 * counted in a warning.
 *
 * <p>Batches are right-padded, grouped by length and bounded by a token budget. Thread-safe.
 */
public final class SequenceScorer {

  private static final Logger LOG = LoggerFactory.getLogger(SequenceScorer.class);

  /** Default bound on the logits of one forward pass: 256 MB of floats. */
  public static final long DEFAULT_LOGITS_BYTES = 256L << 20;

  /** One (prompt, response) to score. */
  public record Request(String prompt, String response, boolean appendEos) {
    public Request {
      if (prompt == null || response == null) {
        throw new IllegalArgumentException("prompt and response must not be null");
      }
    }

    /** TRL's default for plain-text data: EOS appended. */
    public static Request of(String prompt, String response) {
      return new Request(prompt, response, true);
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
      String response = r.appendEos() ? r.response() + model.files().eosToken() : r.response();
      String joint = r.prompt() + response;
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
      long[] prompt = model.encode(r.prompt());
      long[] full = model.encode(joint);
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

  /**
   * The log-probability of each of {@code tokenIds} as the next token after one prompt.
   *
   * @param logprobs log-softmax at the prompt's last position, over the full logits width
   *     (temperature 1), one per asked token id; null when refused
   * @param promptTokens prompt ids fed to the model
   * @param refusal why the prompt was not scored, or null
   */
  public record NextToken(double[] logprobs, int promptTokens, Refusal refusal) {
    /** Whether the prompt was scored. */
    public boolean scored() {
      return refusal == null;
    }
  }

  /**
   * Next-token log-probabilities of {@code tokenIds} after each already tokenized prompt (what a
   * generative judge needs: P(label | judge prompt)). Prompts are left-padded (pad slots masked,
   * positions counted from each prompt's first token, as {@code SampleGenerator}'s prefill does),
   * grouped by length and bounded by the token budget; only the last position's logits are
   * produced. An empty prompt or one longer than the context window is refused. Results are in
   * input order.
   */
  public List<NextToken> nextTokenLogprobs(List<long[]> prompts, long[] tokenIds) {
    int n = prompts.size();
    int width = model.graph().signature().logitsWidth();
    for (long id : tokenIds) {
      if (id < 0 || id >= width) {
        throw new IllegalArgumentException(
            "token id " + id + " is outside the model's " + width + " logits");
      }
    }
    NextToken[] results = new NextToken[n];
    List<Integer> runnable = new ArrayList<>();
    int window = model.files().contextWindow();
    for (int i = 0; i < n; i++) {
      long[] p = prompts.get(i);
      if (p.length == 0) {
        results[i] =
            new NextToken(
                null, 0, new Refusal(Refusal.Reason.EMPTY_PROMPT, "the prompt has no tokens"));
      } else if (p.length > window) {
        results[i] =
            new NextToken(
                null,
                p.length,
                new Refusal(
                    Refusal.Reason.SEQUENCE_TOO_LONG,
                    p.length + " tokens exceed the context window of " + window));
      } else {
        runnable.add(i);
      }
    }
    int[] lengths = runnable.stream().mapToInt(i -> prompts.get(i).length).toArray();
    long pad = model.files().eosTokenIds().get(0);
    try (DecodeSession session = model.graph().openSession()) {
      for (int[] batch : LengthBatches.plan(lengths, tokenBudget, Integer.MAX_VALUE)) {
        int rows = batch.length;
        int seq = 0;
        for (int b : batch) {
          seq = Math.max(seq, prompts.get(runnable.get(b)).length);
        }
        long[] ids = new long[rows * seq];
        long[] mask = new long[rows * seq];
        long[] positions = new long[rows * seq];
        Arrays.fill(ids, pad);
        for (int r = 0; r < rows; r++) {
          long[] p = prompts.get(runnable.get(batch[r]));
          int padding = seq - p.length;
          System.arraycopy(p, 0, ids, r * seq + padding, p.length);
          for (int s = 0; s < p.length; s++) {
            mask[r * seq + padding + s] = 1;
            positions[r * seq + padding + s] = s;
          }
        }
        KvCache empty = session.emptyCache(rows);
        long start = System.nanoTime();
        StepOutput out =
            session.forward(
                new StepInput(
                    rows, seq, ids, mask, positions, empty, StepInput.LogitsWanted.LAST_POSITION));
        modelNanos.addAndGet(System.nanoTime() - start);
        forwardPasses.incrementAndGet();
        empty.close();
        out.present().close();
        for (int r = 0; r < rows; r++) {
          int item = runnable.get(batch[r]);
          int offset = out.offset(r, 0);
          double lse = LogMath.logSumExp(out.logits(), offset, out.logitsWidth());
          double[] lp = new double[tokenIds.length];
          for (int t = 0; t < tokenIds.length; t++) {
            lp[t] = out.logits()[offset + (int) tokenIds[t]] - lse;
          }
          results[item] = new NextToken(lp, prompts.get(item).length, null);
        }
      }
    }
    return Arrays.asList(results);
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
