package org.prefscore.runtime.decode;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.prefscore.runtime.DecodeSession;
import org.prefscore.runtime.KvCache;
import org.prefscore.runtime.LanguageModel;
import org.prefscore.runtime.Refusal;
import org.prefscore.runtime.SamplingHead;
import org.prefscore.runtime.StepInput;
import org.prefscore.runtime.StepOutput;

/**
 * Draws N samples per prompt with a key/value cache.
 *
 * <p>Each prompt is prefilled once and its cache shared by its N continuations (rows of the cache
 * are repeated, not recomputed). Prompts are left-padded in a batch with position ids counted from
 * each prompt's first real token, so a prompt's samples do not depend on its batch mates. Each
 * sample draws from its own random stream seeded by {@link SampleSeeds#derive}, so the same run
 * seed gives the same samples however prompts are grouped into batches, partitions or retries, up
 * to floating point: other batch mates (other padding) change the engine's logits in their last
 * bits, which flips a draw that falls within that distance of a token boundary (observed: 1 of 2384
 * samples). The same batches give bit-identical samples; the pipeline makes its batches
 * deterministic (rows partitioned by prompt_id and sorted). Finished samples are dropped from the
 * cache once they are a quarter of it.
 *
 * <p>Each sample reports its text, token ids, finish reason, log π(y|x) at temperature 1 (EOS token
 * included when it ended the sample, as TRL scores responses with EOS appended) and its
 * log-probability under the warped sampling distribution. Prompts are tokenized with special tokens
 * (BOS where the tokenizer adds one). A prompt whose tokens plus {@code maxNewTokens} exceed the
 * context window is refused with {@link Refusal.Reason#PROMPT_TOO_LONG}.
 *
 * <p>With {@code samplingThreads > 1} the rows of a decoding step are sampled in parallel (the
 * forward pass between steps is the engine's, with its own threads). Every row draws from its own
 * stream and has its own state, so the samples are identical for any number of sampling threads.
 *
 * <p>Thread-safe: one instance may serve all task threads of an executor.
 */
public final class SampleGenerator {

  /** One prompt to sample from; {@code prompt} is the final text (chat template applied). */
  public record Request(String promptId, String prompt) {
    public Request {
      if (promptId == null || prompt == null) {
        throw new IllegalArgumentException("promptId and prompt must not be null");
      }
    }
  }

  /**
   * One sample.
   *
   * @param promptId the prompt it answers
   * @param sampleIndex 0..N-1
   * @param seed the seed its random stream was drawn with
   * @param text decoded response, special tokens skipped
   * @param tokenIds response token ids, EOS included when it ended the sample
   * @param finishReason why it ended
   * @param logprob log π(y|x) at temperature 1, summed over {@code tokenIds}
   * @param samplingLogprob log-probability under the warped sampling distribution (0 when greedy)
   */
  public record Sample(
      String promptId,
      int sampleIndex,
      long seed,
      String text,
      long[] tokenIds,
      FinishReason finishReason,
      double logprob,
      double samplingLogprob) {}

  /** The samples of one prompt, or why it was refused. */
  public record PromptResult(
      String promptId, int promptTokens, List<Sample> samples, Refusal refusal) {
    /** Whether the prompt was sampled. */
    public boolean sampled() {
      return refusal == null;
    }
  }

  /** A slice [from, to) of one prompt's sample indices, the unit batches are made of. */
  record Unit(int prompt, int from, int to) {
    int rows() {
      return to - from;
    }
  }

  /**
   * The rows of one batch: sample row {@code r} answers prompt {@code prompt[r]} as its sample
   * {@code sample[r]} and starts from prefill row {@code prefillRow[r]}; {@code prefillPrompts}
   * lists the prompt of each prefill row.
   */
  private record BatchPlan(int[] prompt, int[] sample, int[] prefillRow, int[] prefillPrompts) {
    int rows() {
      return prompt.length;
    }
  }

  /** The left-padded prompts of a batch's prefill rows. */
  private record Prefill(StepOutput output, int maxPrompt) {}

  /** The live rows of a batch's cache: cache row {@code c} holds sample row {@code rows[c]}. */
  private static final class LiveCache {
    KvCache cache;
    int[] rows;
    int length;

    LiveCache(KvCache cache, int[] rows, int length) {
      this.cache = cache;
      this.rows = rows;
      this.length = length;
    }
  }

  private final LanguageModel model;
  private final SamplingConfig config;
  private final GenerationOptions options;
  private final Set<Long> eosIds;
  private final long padId;
  private final AtomicLong generatedTokens = new AtomicLong();
  private final AtomicLong modelNanos = new AtomicLong();
  private final AtomicLong samplingNanos = new AtomicLong();
  private final AtomicLong samplingCpuNanos = new AtomicLong();
  private final AtomicLong headRefusals = new AtomicLong();

  /**
   * The logits the passes whose next tokens are sampled ask for: lent ({@link
   * StepInput.LogitsWanted#LAST_POSITION_LENT}; {@link GenerationOptions#lentLogits}) or copied.
   */
  private final StepInput.LogitsWanted nextTokenLogits;

  private static final org.slf4j.Logger LOG =
      org.slf4j.LoggerFactory.getLogger(SampleGenerator.class);
  private static final java.lang.management.ThreadMXBean THREADS =
      java.lang.management.ManagementFactory.getThreadMXBean();

  /** Below this many logits per step (rows × width) one thread samples: handing off costs more. */
  static final int PARALLEL_MIN_LOGITS = 1 << 14;

  /**
   * @param model the decoder to sample from
   * @param config N, temperature, top-k/top-p, stop strings, max new tokens
   * @param options token budget, prefill sharing and sampling threads
   */
  public SampleGenerator(LanguageModel model, SamplingConfig config, GenerationOptions options) {
    this.model = model;
    this.config = config;
    this.options = options;
    this.eosIds = new HashSet<>(model.files().eosTokenIds());
    this.padId =
        model.files().padTokenId() >= 0
            ? model.files().padTokenId()
            : model.files().eosTokenIds().get(0);
    this.nextTokenLogits =
        options.lentLogits()
            ? StepInput.LogitsWanted.LAST_POSITION_LENT
            : StepInput.LogitsWanted.LAST_POSITION;
  }

  /** Tokens generated by this generator so far (all threads). */
  public long generatedTokens() {
    return generatedTokens.get();
  }

  /** Nanoseconds spent inside model forward passes so far (all threads). */
  public long modelNanos() {
    return modelNanos.get();
  }

  /** Nanoseconds spent choosing tokens from logits so far (wall time of the steps' sampling). */
  public long samplingNanos() {
    return samplingNanos.get();
  }

  /**
   * CPU nanoseconds the sampling threads spent choosing tokens so far (all threads; 0 where the JVM
   * cannot measure thread CPU time). Unlike {@link #samplingNanos}, other processes on the machine
   * do not inflate it.
   */
  public long samplingCpuNanos() {
    return samplingCpuNanos.get();
  }

  /**
   * Token choices for which the graph's sampling head was refused (its values did not describe the
   * row; {@link HeadSampler}) and the whole row was sampled instead.
   */
  public long headRefusals() {
    return headRefusals.get();
  }

  /** The temperature a sampling head warps its block masses at for this generator's draws. */
  private double headTemperature() {
    return config.isGreedy() ? 1.0 : config.temperature();
  }

  /** Samples every request; results are in request order. */
  public List<PromptResult> generate(List<Request> requests, long runSeed) {
    int n = requests.size();
    long[][] promptIds = new long[n][];
    PromptResult[] results = new PromptResult[n];
    List<Sample>[] samples = newSampleLists(n);
    List<Unit> units = new ArrayList<>();
    int window = model.files().contextWindow();
    int maxNew = config.maxNewTokens();
    long tokenBudget = options.tokenBudget();
    // A decoding step outputs one logits row per sample row: rows per batch within the budget.
    long maxRows = model.graph().logitsRowsWithin(options.logitsBytes());
    for (int i = 0; i < n; i++) {
      String prompt = requests.get(i).prompt();
      if (model.files().provablyMoreTokensThan(prompt, (long) window - maxNew)) {
        // Not tokenized: its length alone shows it cannot fit (a 50 MB prompt would take minutes).
        promptIds[i] = new long[0];
        results[i] =
            refusal(
                requests.get(i),
                0,
                Refusal.Reason.PROMPT_TOO_LONG,
                model.files().tooManyTokens(prompt, (long) window - maxNew)
                    + ", and "
                    + maxNew
                    + " new tokens must fit the context window of "
                    + window
                    + " too (not tokenized)");
        continue;
      }
      promptIds[i] = model.encode(prompt);
      int length = promptIds[i].length;
      if (length == 0) {
        results[i] =
            refusal(requests.get(i), 0, Refusal.Reason.EMPTY_PROMPT, "the prompt has no tokens");
      } else if (length + maxNew > window) {
        results[i] =
            refusal(
                requests.get(i),
                length,
                Refusal.Reason.PROMPT_TOO_LONG,
                length
                    + " prompt tokens + "
                    + maxNew
                    + " new tokens exceed the context window of "
                    + window);
      } else {
        int rowsPerUnit =
            (int)
                Math.max(
                    1,
                    Math.min(
                        Math.min(config.samplesPerPrompt(), maxRows),
                        tokenBudget / (length + maxNew)));
        for (int from = 0; from < config.samplesPerPrompt(); from += rowsPerUnit) {
          units.add(new Unit(i, from, Math.min(config.samplesPerPrompt(), from + rowsPerUnit)));
        }
      }
    }
    units.sort(
        Comparator.comparingInt((Unit u) -> promptIds[u.prompt()].length)
            .thenComparingInt(Unit::prompt));
    List<List<Unit>> batches = new ArrayList<>();
    List<Unit> batch = new ArrayList<>();
    int batchRows = 0;
    for (Unit unit : units) {
      int rowCost = promptIds[unit.prompt()].length + maxNew;
      if (!batch.isEmpty()
          && ((long) (batchRows + unit.rows()) * rowCost > tokenBudget
              || batchRows + unit.rows() > maxRows)) {
        batches.add(batch);
        batch = new ArrayList<>();
        batchRows = 0;
      }
      batch.add(unit);
      batchRows += unit.rows();
    }
    if (!batch.isEmpty()) {
      batches.add(batch);
    }
    decode(lanePieces(batches, options.lanes()), requests, promptIds, runSeed, samples);
    for (int i = 0; i < n; i++) {
      if (results[i] == null) {
        samples[i].sort(Comparator.comparingInt(Sample::sampleIndex));
        results[i] =
            new PromptResult(
                requests.get(i).promptId(), promptIds[i].length, List.copyOf(samples[i]), null);
      }
    }
    return Arrays.asList(results);
  }

  /**
   * Cuts each batch into {@code lanes} pieces of (nearly) equal rows, in order, cutting a unit
   * where a boundary falls inside it (its prompt is then prefilled in both pieces); one piece per
   * batch when {@code lanes} is 1. The pieces depend only on the batches, never on timing.
   */
  static List<List<Unit>> lanePieces(List<List<Unit>> batches, int lanes) {
    if (lanes == 1) {
      return batches;
    }
    List<List<Unit>> pieces = new ArrayList<>();
    for (List<Unit> batch : batches) {
      int rows = batch.stream().mapToInt(Unit::rows).sum();
      int count = Math.min(lanes, rows);
      List<Unit> piece = new ArrayList<>();
      int done = 0; // rows placed in earlier pieces or in this one so far
      int k = 0;
      int end = rows / count; // rows [0, end) go to piece 0
      for (Unit unit : batch) {
        int from = unit.from();
        while (from < unit.to()) {
          int take = Math.min(unit.to() - from, end - done);
          piece.add(new Unit(unit.prompt(), from, from + take));
          from += take;
          done += take;
          if (done == end && k < count - 1) {
            pieces.add(piece);
            piece = new ArrayList<>();
            k++;
            end = (int) ((long) rows * (k + 1) / count);
          }
        }
      }
      pieces.add(piece);
    }
    return pieces;
  }

  /**
   * Samples every piece: one after the other on the calling thread with one lane; else on {@code
   * lanes} threads (the caller's and the pool's), each with its own session, taking the next piece
   * as it finishes one, so that one lane's forward pass runs while another samples. A failure stops
   * the lanes from taking further pieces and is rethrown once every lane has stopped.
   */
  private void decode(
      List<List<Unit>> pieces,
      List<Request> requests,
      long[][] promptIds,
      long runSeed,
      List<Sample>[] samples) {
    int lanes = Math.min(options.lanes(), pieces.size());
    if (lanes <= 1) {
      try (DecodeSession session = model.graph().openSession()) {
        for (List<Unit> piece : pieces) {
          runBatch(session, piece, requests, promptIds, runSeed, samples);
        }
      }
      return;
    }
    AtomicInteger next = new AtomicInteger();
    AtomicBoolean failed = new AtomicBoolean();
    Runnable lane =
        () -> {
          try (DecodeSession session = model.graph().openSession()) {
            for (int i = next.getAndIncrement();
                i < pieces.size() && !failed.get();
                i = next.getAndIncrement()) {
              runBatch(session, pieces.get(i), requests, promptIds, runSeed, samples);
            }
          } catch (RuntimeException | Error e) {
            failed.set(true);
            throw e;
          }
        };
    List<Future<?>> others = new ArrayList<>(lanes - 1);
    for (int l = 1; l < lanes; l++) {
      others.add(options.samplingPool().submit(lane));
    }
    RuntimeException failure = null;
    try {
      lane.run();
    } catch (RuntimeException e) {
      failure = e;
    }
    failure = join(others, failure, "decoding");
    if (failure != null) {
      throw failure;
    }
  }

  /**
   * Waits for every future; returns {@code failure}, or else the first failure among them (an
   * interrupt while waiting is kept on the thread and reported as one).
   */
  private static RuntimeException join(
      List<Future<?>> futures, RuntimeException failure, String what) {
    for (Future<?> f : futures) {
      try {
        f.get();
      } catch (ExecutionException e) {
        if (failure == null) {
          failure =
              e.getCause() instanceof RuntimeException re
                  ? re
                  : new IllegalStateException(e.getCause());
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        if (failure == null) {
          failure = new IllegalStateException("interrupted while " + what, e);
        }
      }
    }
    return failure;
  }

  /** Samples one batch of units to the end: plan, prefill, expand, then step and compact. */
  private void runBatch(
      DecodeSession session,
      List<Unit> units,
      List<Request> requests,
      long[][] promptIds,
      long runSeed,
      List<Sample>[] collected) {
    BatchPlan plan = plan(units);
    Prefill prefill = prefill(session, plan, promptIds);
    LiveCache live = expand(session, plan, prefill);
    SampleRows state = new SampleRows(plan.rows());
    for (int row = 0; row < plan.rows(); row++) {
      state.seeds[row] =
          SampleSeeds.derive(
              runSeed, requests.get(plan.prompt()[row]).promptId(), plan.sample()[row]);
      state.random[row] = new SplittableRandom(state.seeds[row]);
    }
    sampleStep(state, live.rows, plan.prefillRow(), prefill.output());
    try {
      while (anyUnfinished(state, live.rows)) {
        compact(session, state, live);
        step(session, plan, promptIds, prefill.maxPrompt(), state, live);
      }
    } finally {
      live.cache.close();
    }
    collect(plan, requests, state, collected);
    long refused = 0;
    for (TokenSampler sampler : state.samplers) {
      refused += sampler.headRefusals();
    }
    if (refused > 0 && headRefusals.getAndAdd(refused) == 0) {
      LOG.warn(
          "the decoder's sampling head did not describe its logits for {} token choices of a"
              + " batch (masses not summing to 1, or maxima not matching the logits); those rows"
              + " were sampled from the whole logits row. Check the export"
              + " (docs/deploy.md#a-sampling-head) or set runtime.sampling-head=false",
          refused);
    }
  }

  /**
   * Lays out a batch's rows: with a shared prefill each unit has one prefill row that all its
   * sample rows start from; without, every sample row is prefilled on its own.
   */
  private BatchPlan plan(List<Unit> units) {
    int rows = units.stream().mapToInt(Unit::rows).sum();
    int[] rowPrompt = new int[rows];
    int[] rowSample = new int[rows];
    int[] rowPrefill = new int[rows];
    List<Integer> prefillPrompts = new ArrayList<>();
    int r = 0;
    for (Unit unit : units) {
      int prefillRow = -1;
      if (options.sharePrefill()) {
        prefillRow = prefillPrompts.size();
        prefillPrompts.add(unit.prompt());
      }
      for (int s = unit.from(); s < unit.to(); s++, r++) {
        rowPrompt[r] = unit.prompt();
        rowSample[r] = s;
        if (options.sharePrefill()) {
          rowPrefill[r] = prefillRow;
        } else {
          rowPrefill[r] = prefillPrompts.size();
          prefillPrompts.add(unit.prompt());
        }
      }
    }
    return new BatchPlan(
        rowPrompt, rowSample, rowPrefill, prefillPrompts.stream().mapToInt(i -> i).toArray());
  }

  /**
   * The left-padded prompts of the prefill rows, position ids counted from each prompt's first real
   * token; only the last position's logits are kept. One forward pass when the graph computes only
   * the last position's logits or all of them fit the logits budget; else consecutive chunks of
   * positions, each on the cache of the ones before.
   */
  private Prefill prefill(DecodeSession session, BatchPlan plan, long[][] promptIds) {
    int prefillRows = plan.prefillPrompts().length;
    int maxPrompt = 0;
    for (int p : plan.prefillPrompts()) {
      maxPrompt = Math.max(maxPrompt, promptIds[p].length);
    }
    long[] ids = new long[prefillRows * maxPrompt];
    long[] mask = new long[prefillRows * maxPrompt];
    long[] positions = new long[prefillRows * maxPrompt];
    Arrays.fill(ids, padId);
    for (int p = 0; p < prefillRows; p++) {
      long[] prompt = promptIds[plan.prefillPrompts()[p]];
      int padding = maxPrompt - prompt.length;
      System.arraycopy(prompt, 0, ids, p * maxPrompt + padding, prompt.length);
      for (int s = 0; s < prompt.length; s++) {
        mask[p * maxPrompt + padding + s] = 1;
        positions[p * maxPrompt + padding + s] = s;
      }
    }
    int chunk = prefillChunk(prefillRows, maxPrompt);
    KvCache cache = session.emptyCache(prefillRows);
    StepOutput out = null;
    for (int from = 0; from < maxPrompt; from += chunk) {
      int to = Math.min(maxPrompt, from + chunk);
      StepInput.LogitsWanted wanted = nextTokenLogits;
      out =
          timed(
              session,
              new StepInput(
                  prefillRows,
                  to - from,
                  columns(ids, prefillRows, maxPrompt, from, to),
                  columns(mask, prefillRows, maxPrompt, 0, to),
                  columns(positions, prefillRows, maxPrompt, from, to),
                  cache,
                  wanted,
                  headTemperature()));
      cache.close();
      cache = out.present();
    }
    return new Prefill(out, maxPrompt);
  }

  /** Positions per prefill pass: all, unless the engine would output more logits than allowed. */
  private int prefillChunk(int rows, int length) {
    if (model.graph().outputPositions(length, StepInput.LogitsWanted.LAST_POSITION) < length) {
      return length;
    }
    long perRow = model.graph().logitsRowsWithin(options.logitsBytes()) / rows;
    return (int) Math.max(1, Math.min(length, perRow));
  }

  /** Columns [from, to) of a row-major {@code rows × width} array (itself when it is all). */
  static long[] columns(long[] data, int rows, int width, int from, int to) {
    if (from == 0 && to == width) {
      return data;
    }
    long[] out = new long[rows * (to - from)];
    for (int r = 0; r < rows; r++) {
      System.arraycopy(data, r * width + from, out, r * (to - from), to - from);
    }
    return out;
  }

  /**
   * The cache with one row per sample row: a shared prefill's rows repeated for each sample of
   * their prompt (copied, not recomputed); an unshared prefill's cache as it is.
   */
  private LiveCache expand(DecodeSession session, BatchPlan plan, Prefill prefill) {
    KvCache cache;
    if (options.sharePrefill()) {
      cache = session.selectRows(prefill.output().present(), plan.prefillRow());
      prefill.output().present().close();
    } else {
      cache = prefill.output().present();
    }
    int[] rows = new int[plan.rows()];
    for (int row = 0; row < rows.length; row++) {
      rows[row] = row;
    }
    return new LiveCache(cache, rows, prefill.maxPrompt());
  }

  /** Drops finished rows from the cache once they are a quarter of it or more. */
  private void compact(DecodeSession session, SampleRows state, LiveCache live) {
    int[] cacheRows = live.rows;
    int unfinished = 0;
    for (int c : cacheRows) {
      unfinished += state.finished[c] == null ? 1 : 0;
    }
    if ((cacheRows.length - unfinished) * 4 < cacheRows.length) {
      return;
    }
    int[] keep = new int[unfinished];
    int[] keptRows = new int[unfinished];
    for (int c = 0, k = 0; c < cacheRows.length; c++) {
      if (state.finished[cacheRows[c]] == null) {
        keep[k] = c;
        keptRows[k++] = cacheRows[c];
      }
    }
    KvCache compacted = session.selectRows(live.cache, keep);
    live.cache.close();
    live.cache = compacted;
    live.rows = keptRows;
  }

  /**
   * One decoding step: feeds each cache row's last token (each row keeps its prompt's padded mask),
   * then samples the next token of every unfinished row.
   */
  private void step(
      DecodeSession session,
      BatchPlan plan,
      long[][] promptIds,
      int maxPrompt,
      SampleRows state,
      LiveCache live) {
    int[] cacheRows = live.rows;
    int batch = cacheRows.length;
    int cacheLength = live.length;
    long[] stepIds = new long[batch];
    long[] stepMask = new long[batch * (cacheLength + 1)];
    long[] stepPositions = new long[batch];
    for (int c = 0; c < batch; c++) {
      int row = cacheRows[c];
      int promptLength = promptIds[plan.prompt()[row]].length;
      int count = state.count[row];
      stepIds[c] = count > 0 ? state.tokens[row][count - 1] : padId;
      stepPositions[c] = promptLength + count - 1;
      int base = c * (cacheLength + 1);
      Arrays.fill(stepMask, base + maxPrompt - promptLength, base + cacheLength + 1, 1L);
    }
    StepOutput out =
        timed(
            session,
            new StepInput(
                batch,
                1,
                stepIds,
                stepMask,
                stepPositions,
                live.cache,
                nextTokenLogits,
                headTemperature()));
    live.cache.close();
    live.cache = out.present();
    live.length++;
    int[] logitRows = new int[batch];
    for (int c = 0; c < batch; c++) {
      logitRows[c] = c;
    }
    sampleStep(state, cacheRows, logitRows, out);
  }

  /** Turns the finished rows into samples of their prompts. */
  private void collect(
      BatchPlan plan, List<Request> requests, SampleRows state, List<Sample>[] collected) {
    long produced = 0;
    for (int row = 0; row < plan.rows(); row++) {
      long[] sampleTokens = Arrays.copyOf(state.tokens[row], state.count[row]);
      produced += state.count[row];
      int prompt = plan.prompt()[row];
      Sample sample =
          new Sample(
              requests.get(prompt).promptId(),
              plan.sample()[row],
              state.seeds[row],
              model.tokenizer().decode(sampleTokens),
              sampleTokens,
              state.finished[row],
              state.logprob[row],
              state.samplingLogprob[row]);
      // Lanes may hold pieces of the same prompt.
      synchronized (collected[prompt]) {
        collected[prompt].add(sample);
      }
    }
    generatedTokens.addAndGet(produced);
  }

  private static boolean anyUnfinished(SampleRows state, int[] cacheRows) {
    for (int c : cacheRows) {
      if (state.finished[c] == null) {
        return true;
      }
    }
    return false;
  }

  /** The state of a batch's sample rows: each row is touched by one sampling thread at a time. */
  private final class SampleRows {
    final long[] seeds;
    final SplittableRandom[] random;
    final long[][] tokens;
    final int[] count;
    final double[] logprob;
    final double[] samplingLogprob;
    final FinishReason[] finished;

    /** One sampler (scratch buffers) per slice of a step. */
    final TokenSampler[] samplers;

    SampleRows(int rows) {
      seeds = new long[rows];
      random = new SplittableRandom[rows];
      tokens = new long[rows][config.maxNewTokens()];
      count = new int[rows];
      logprob = new double[rows];
      samplingLogprob = new double[rows];
      finished = new FinishReason[rows];
      samplers = new TokenSampler[options.samplingThreads()];
      for (int s = 0; s < samplers.length; s++) {
        int vocab = model.files().tokenizerVocabSize();
        // Without heads: the whole-row scalar passes, neither the graph's head nor the JVM's.
        samplers[s] =
            options.samplingHead()
                ? new TokenSampler(config, vocab)
                : TokenSampler.scalarOnly(config, vocab);
      }
    }
  }

  /**
   * One token for each unfinished row {@code rows[i]}, from logits row {@code logitRows[i]} of
   * {@code out}; split over up to {@code samplingThreads} threads in contiguous slices, the first
   * on the calling thread.
   */
  private void sampleStep(SampleRows state, int[] rows, int[] logitRows, StepOutput out) {
    long start = System.nanoTime();
    try {
      sampleRows(state, rows, logitRows, out);
    } finally {
      samplingNanos.addAndGet(System.nanoTime() - start);
    }
  }

  private void sampleRows(SampleRows state, int[] rows, int[] logitRows, StepOutput out) {
    int slices =
        (long) rows.length * out.logitsWidth() < PARALLEL_MIN_LOGITS
            ? 1
            : Math.min(options.samplingThreads(), rows.length);
    if (slices == 1) {
      sampleSlice(state, state.samplers[0], rows, logitRows, out, 0, rows.length);
      return;
    }
    List<Future<?>> others = new ArrayList<>(slices - 1);
    for (int s = 1; s < slices; s++) {
      int from = (int) ((long) rows.length * s / slices);
      int to = (int) ((long) rows.length * (s + 1) / slices);
      TokenSampler sampler = state.samplers[s];
      others.add(
          options
              .samplingPool()
              .submit(() -> sampleSlice(state, sampler, rows, logitRows, out, from, to)));
    }
    RuntimeException failure = null;
    try {
      sampleSlice(state, state.samplers[0], rows, logitRows, out, 0, rows.length / slices);
    } catch (RuntimeException e) {
      failure = e;
    }
    failure = join(others, failure, "sampling");
    if (failure != null) {
      throw failure;
    }
  }

  private void sampleSlice(
      SampleRows state,
      TokenSampler sampler,
      int[] rows,
      int[] logitRows,
      StepOutput out,
      int from,
      int to) {
    long cpuStart = THREADS.getCurrentThreadCpuTime();
    for (int i = from; i < to; i++) {
      int row = rows[i];
      if (state.finished[row] == null) {
        chooseToken(state, row, sampler, out, logitRows[i]);
      }
    }
    if (cpuStart >= 0) {
      samplingCpuNanos.addAndGet(THREADS.getCurrentThreadCpuTime() - cpuStart);
    }
  }

  /** Chooses one token for a sample row and decides whether the sample is finished. */
  private void chooseToken(
      SampleRows state, int row, TokenSampler sampler, StepOutput out, int logitRow) {
    SamplingHead head = options.samplingHead() ? out.head() : null;
    double uniform = state.random[row].nextDouble();
    TokenSampler.Choice choice =
        out.logits() != null
            ? sampler.choose(
                out.logits(), out.offset(logitRow, 0), out.logitsWidth(), head, logitRow, uniform)
            : sampler.choose(
                out.lentLogits(),
                out.offset(logitRow, 0),
                out.logitsWidth(),
                head,
                logitRow,
                uniform);
    long[] tokens = state.tokens[row];
    int count = ++state.count[row];
    tokens[count - 1] = choice.token();
    state.logprob[row] += choice.logprob();
    state.samplingLogprob[row] += choice.samplingLogprob();
    if (eosIds.contains((long) choice.token())) {
      state.finished[row] = FinishReason.EOS;
    } else if (!config.stopStrings().isEmpty() && hitsStopString(tokens, count)) {
      state.finished[row] = FinishReason.STOP;
    } else if (count >= config.maxNewTokens()) {
      state.finished[row] = FinishReason.LENGTH;
    }
  }

  private boolean hitsStopString(long[] tokens, int count) {
    String text = model.tokenizer().decode(Arrays.copyOf(tokens, count));
    for (String stop : config.stopStrings()) {
      if (text.contains(stop)) {
        return true;
      }
    }
    return false;
  }

  private StepOutput timed(DecodeSession session, StepInput input) {
    long start = System.nanoTime();
    StepOutput out = session.forward(input);
    modelNanos.addAndGet(System.nanoTime() - start);
    return out;
  }

  private static PromptResult refusal(
      Request request, int tokens, Refusal.Reason reason, String detail) {
    return new PromptResult(request.promptId(), tokens, List.of(), new Refusal(reason, detail));
  }

  @SuppressWarnings("unchecked")
  private static List<Sample>[] newSampleLists(int n) {
    List<Sample>[] lists = new List[n];
    for (int i = 0; i < n; i++) {
      lists[i] = new ArrayList<>();
    }
    return lists;
  }
}
