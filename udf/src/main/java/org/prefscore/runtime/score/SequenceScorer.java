package org.prefscore.runtime.score;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
 * <p>Requests that share a prompt (a pair's chosen and rejected response, with x and again with p ⊕
 * x) are scored on one prefill: the prompts of a batch are run once, left-padded, keeping only
 * their last position's logits (which score each response's first token), their cache rows are
 * repeated for each response, and the right-padded responses continue on that cache, logits kept
 * for response positions only. Passes are cut into chunks of positions so that no pass outputs more
 * logits than the logits budget; a graph with a {@code logits_to_keep} input computes the prefill's
 * last position only. Requests flagged {@code prefixMismatch} keep the separate path (prompt and
 * response in one right-padded pass each) and are counted ({@link #separateRequests()}); so do all
 * requests of a scorer built with {@code prefillOnce = false}. Both paths give the same values up
 * to float rounding (SequenceScorerPrefillOnceTest: within 1e-5).
 *
 * <p>Batches are grouped by length and bounded by a token budget (rows × padded length, which
 * bounds the cache) and the logits budget. Thread-safe.
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
  private final AtomicLong separateRequests = new AtomicLong();
  private final AtomicLong promptPrefills = new AtomicLong();
  private final boolean prefillOnce;

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
    this(model, tokenBudget, logitsBytes, true);
  }

  /**
   * @param tokenBudget upper bound on padded tokens per forward pass
   * @param logitsBytes upper bound on the logits of one forward pass, in bytes
   * @param prefillOnce score requests that share a prompt on one prefill of it (the default); false
   *     scores every request in one pass over prompt + response, as before (for benchmarks and
   *     comparisons)
   */
  public SequenceScorer(
      LanguageModel model, long tokenBudget, long logitsBytes, boolean prefillOnce) {
    this.prefillOnce = prefillOnce;
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

  /**
   * Requests scored on the separate path (one pass over prompt + response each) rather than on a
   * shared prompt prefill: those with a prefix mismatch, or all with {@code prefillOnce = false}.
   */
  public long separateRequests() {
    return separateRequests.get();
  }

  /** Prompt prefills run by the shared path so far (one per distinct prompt and batch). */
  public long promptPrefills() {
    return promptPrefills.get();
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
    List<Integer> separate = new ArrayList<>();
    List<Integer> shared = new ArrayList<>();
    for (int i : runnable) {
      (prefillOnce && !mismatch[i] ? shared : separate).add(i);
    }
    separateRequests.addAndGet(separate.size());
    int[] lengths =
        separate.stream().mapToInt(i -> promptIds[i].length + responseIds[i].length).toArray();
    long budget = Math.min(tokenBudget, model.graph().logitsRowsWithin(logitsBytes));
    try (DecodeSession session = model.graph().openSession()) {
      for (int[] batch : LengthBatches.plan(lengths, budget, Integer.MAX_VALUE)) {
        int[] items = Arrays.stream(batch).map(separate::get).toArray();
        scoreBatch(session, items, promptIds, responseIds, mismatch, perToken, results);
      }
      for (List<Unit> batch : planShared(shared, promptIds, responseIds)) {
        scoreShared(session, batch, promptIds, responseIds, perToken, results);
      }
    }
    return Arrays.asList(results);
  }

  /** Requests sharing one prompt, scored on one prefill row: {@code items[0]}'s prompt ids. */
  private record Unit(int[] items, int promptLength, int responseLength) {}

  /** The prompt ids of a request as a map key. */
  private record PromptKey(long[] ids) {
    @Override
    public boolean equals(Object o) {
      return o instanceof PromptKey k && Arrays.equals(ids, k.ids);
    }

    @Override
    public int hashCode() {
      return Arrays.hashCode(ids);
    }
  }

  /**
   * Groups requests by prompt ids and cuts the groups into batches: at most as many rows as the
   * logits budget allows one logits row each, rows × (longest prompt + longest response) within the
   * token budget (a group too large for one batch is split; a single request above it runs alone).
   */
  private List<List<Unit>> planShared(
      List<Integer> items, long[][] promptIds, long[][] responseIds) {
    Map<PromptKey, List<Integer>> groups = new LinkedHashMap<>();
    for (int i : items) {
      groups.computeIfAbsent(new PromptKey(promptIds[i]), k -> new ArrayList<>()).add(i);
    }
    long maxRows = model.graph().logitsRowsWithin(logitsBytes);
    List<Unit> units = new ArrayList<>();
    for (List<Integer> group : groups.values()) {
      int promptLength = promptIds[group.get(0)].length;
      group.sort(
          Comparator.comparingInt((Integer i) -> responseIds[i].length).thenComparing(i -> i));
      List<Integer> current = new ArrayList<>();
      int longest = 0;
      for (int i : group) {
        int r = Math.max(longest, responseIds[i].length);
        if (!current.isEmpty()
            && (current.size() + 1 > maxRows
                || (long) (current.size() + 1) * (promptLength + r) > tokenBudget)) {
          units.add(unit(current, promptLength, longest));
          current = new ArrayList<>();
          r = responseIds[i].length;
        }
        current.add(i);
        longest = r;
      }
      units.add(unit(current, promptLength, longest));
    }
    units.sort(
        Comparator.comparingInt(Unit::promptLength)
            .thenComparingInt(Unit::responseLength)
            .thenComparingInt(u -> u.items()[0]));
    List<List<Unit>> batches = new ArrayList<>();
    List<Unit> batch = new ArrayList<>();
    int rows = 0;
    int prompt = 0;
    int response = 0;
    for (Unit u : units) {
      int p = Math.max(prompt, u.promptLength());
      int r = Math.max(response, u.responseLength());
      int n = rows + u.items().length;
      if (!batch.isEmpty() && (n > maxRows || (long) n * (p + r) > tokenBudget)) {
        batches.add(batch);
        batch = new ArrayList<>();
        n = u.items().length;
        p = u.promptLength();
        r = u.responseLength();
      }
      batch.add(u);
      rows = n;
      prompt = p;
      response = r;
    }
    if (!batch.isEmpty()) {
      batches.add(batch);
    }
    return batches;
  }

  private static Unit unit(List<Integer> items, int promptLength, int responseLength) {
    return new Unit(items.stream().mapToInt(i -> i).toArray(), promptLength, responseLength);
  }

  /**
   * One batch of the shared path: the units' prompts prefilled once (left-padded, last position's
   * logits), their cache rows repeated per response, then the responses (right-padded) fed on that
   * cache; each pass within the logits budget.
   */
  private void scoreShared(
      DecodeSession session,
      List<Unit> units,
      long[][] promptIds,
      long[][] responseIds,
      boolean perToken,
      Result[] results) {
    int prefillRows = units.size();
    int maxPrompt = 0;
    int maxResponse = 0;
    int rows = 0;
    for (Unit u : units) {
      maxPrompt = Math.max(maxPrompt, u.promptLength());
      maxResponse = Math.max(maxResponse, u.responseLength());
      rows += u.items().length;
    }
    long pad = model.files().eosTokenIds().get(0);
    long[] ids = new long[prefillRows * maxPrompt];
    long[] mask = new long[prefillRows * maxPrompt];
    long[] positions = new long[prefillRows * maxPrompt];
    Arrays.fill(ids, pad);
    for (int p = 0; p < prefillRows; p++) {
      long[] prompt = promptIds[units.get(p).items()[0]];
      int padding = maxPrompt - prompt.length;
      System.arraycopy(prompt, 0, ids, p * maxPrompt + padding, prompt.length);
      for (int s = 0; s < prompt.length; s++) {
        mask[p * maxPrompt + padding + s] = 1;
        positions[p * maxPrompt + padding + s] = s;
      }
    }
    long rowsWithin = model.graph().logitsRowsWithin(logitsBytes);
    int chunk =
        model.graph().outputPositions(maxPrompt, StepInput.LogitsWanted.LAST_POSITION) < maxPrompt
            ? maxPrompt
            : (int) Math.max(1, Math.min(maxPrompt, rowsWithin / prefillRows));
    KvCache cache = session.emptyCache(prefillRows);
    StepOutput last = null;
    for (int from = 0; from < maxPrompt; from += chunk) {
      int to = Math.min(maxPrompt, from + chunk);
      last =
          forward(
              session,
              new StepInput(
                  prefillRows,
                  to - from,
                  columns(ids, prefillRows, maxPrompt, from, to),
                  columns(mask, prefillRows, maxPrompt, 0, to),
                  columns(positions, prefillRows, maxPrompt, from, to),
                  cache,
                  StepInput.LogitsWanted.LAST_POSITION));
      cache.close();
      cache = last.present();
    }
    promptPrefills.addAndGet(prefillRows);
    // Row r answers request item[r] from prefill row prefillRow[r]; its first response token is
    // scored by that row's last prompt logits.
    int[] item = new int[rows];
    int[] prefillRow = new int[rows];
    double[] sums = new double[rows];
    float[][] tokens = new float[rows][];
    int r = 0;
    for (int p = 0; p < prefillRows; p++) {
      int offset = last.offset(p, 0);
      double logZ = LogMath.logSumExp(last.logits(), offset, last.logitsWidth());
      for (int i : units.get(p).items()) {
        item[r] = i;
        prefillRow[r] = p;
        tokens[r] = perToken ? new float[responseIds[i].length] : null;
        if (responseIds[i].length > 0) {
          double lp = last.logits()[offset + (int) responseIds[i][0]] - logZ;
          sums[r] += lp;
          if (tokens[r] != null) {
            tokens[r][0] = (float) lp;
          }
        }
        r++;
      }
    }
    last = null;
    int fed = maxResponse - 1; // the last response token predicts nothing that is scored
    if (fed > 0) {
      KvCache expanded = session.selectRows(cache, prefillRow);
      cache.close();
      cache = expanded;
      int total = maxPrompt + fed;
      long[] stepIds = new long[rows * fed];
      long[] stepMask = new long[rows * total];
      long[] stepPositions = new long[rows * fed];
      Arrays.fill(stepIds, pad);
      for (int row = 0; row < rows; row++) {
        long[] response = responseIds[item[row]];
        int promptLength = promptIds[item[row]].length;
        Arrays.fill(stepMask, row * total + maxPrompt - promptLength, row * total + maxPrompt, 1L);
        for (int j = 0; j < response.length - 1; j++) {
          stepIds[row * fed + j] = response[j];
          stepMask[row * total + maxPrompt + j] = 1;
        }
        for (int j = 0; j < fed; j++) {
          stepPositions[row * fed + j] = promptLength + j;
        }
      }
      int step = (int) Math.max(1, Math.min(fed, rowsWithin / rows));
      for (int from = 0; from < fed; from += step) {
        int to = Math.min(fed, from + step);
        StepOutput out =
            forward(
                session,
                new StepInput(
                    rows,
                    to - from,
                    columns(stepIds, rows, fed, from, to),
                    columns(stepMask, rows, total, 0, maxPrompt + to),
                    columns(stepPositions, rows, fed, from, to),
                    cache,
                    StepInput.LogitsWanted.ALL_POSITIONS));
        cache.close();
        cache = out.present();
        for (int row = 0; row < rows; row++) {
          long[] response = responseIds[item[row]];
          // position j (fed token j) predicts response token j + 1
          for (int j = from; j < Math.min(to, response.length - 1); j++) {
            int offset = out.offset(row, j - from);
            double lp =
                out.logits()[offset + (int) response[j + 1]]
                    - LogMath.logSumExp(out.logits(), offset, out.logitsWidth());
            sums[row] += lp;
            if (tokens[row] != null) {
              tokens[row][j + 1] = (float) lp;
            }
          }
        }
      }
    }
    cache.close();
    for (int row = 0; row < rows; row++) {
      int i = item[row];
      results[i] =
          new Result(
              sums[row], tokens[row], promptIds[i].length, responseIds[i].length, false, null);
    }
  }

  private StepOutput forward(DecodeSession session, StepInput input) {
    long start = System.nanoTime();
    StepOutput out = session.forward(input);
    modelNanos.addAndGet(System.nanoTime() - start);
    forwardPasses.incrementAndGet();
    return out;
  }

  /** Columns [from, to) of a row-major {@code rows × width} array (itself when it is all). */
  private static long[] columns(long[] data, int rows, int width, int from, int to) {
    if (from == 0 && to == width) {
      return data;
    }
    long[] out = new long[rows * (to - from)];
    for (int r = 0; r < rows; r++) {
      System.arraycopy(data, r * width + from, out, r * (to - from), to - from);
    }
    return out;
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
    StepOutput out =
        forward(
            session,
            new StepInput(
                rows, seq, ids, mask, positions, empty, StepInput.LogitsWanted.ALL_POSITIONS));
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
        StepOutput out =
            forward(
                session,
                new StepInput(
                    rows, seq, ids, mask, positions, empty, StepInput.LogitsWanted.LAST_POSITION));
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
