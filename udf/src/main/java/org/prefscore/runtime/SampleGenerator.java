package org.prefscore.runtime;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Draws N samples per prompt with a key/value cache.
 *
 * <p>Each prompt is prefilled once and its cache shared by its N continuations (rows of the cache
 * are repeated, not recomputed). Prompts are left-padded in a batch with position ids counted from
 * each prompt's first real token, so a prompt's samples do not depend on its batch mates. Each
 * sample draws from its own random stream seeded by {@link SampleSeeds#derive}, so the same run
 * seed gives the same samples however prompts are grouped into batches, partitions or retries, up
 * to floating point: other batch mates (other padding) change the engine's logits in their last
 * bits, which flips a draw that falls within that distance of a token boundary (observed: 1 of
 * 2384 samples). The same batches give bit-identical samples; the pipeline makes its batches
 * deterministic (rows partitioned by prompt_id and sorted).
 * Finished samples are dropped from the cache once they are a quarter of it.
 *
 * <p>Each sample reports its text, token ids, finish reason, log π(y|x) at temperature 1 (EOS
 * token included when it ended the sample, as TRL scores responses with EOS appended) and its
 * log-probability under the warped sampling distribution. Prompts are tokenized with special
 * tokens (BOS where the tokenizer adds one). A prompt whose tokens plus {@code maxNewTokens}
 * exceed the context window is refused with {@link Refusal.Reason#PROMPT_TOO_LONG}.
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
  private record Unit(int prompt, int from, int to) {
    int rows() {
      return to - from;
    }
  }

  private final LanguageModel model;
  private final SamplingConfig config;
  private final long tokenBudget;
  private final boolean sharePrefill;
  private final Set<Long> eosIds;
  private final long padId;
  private final AtomicLong generatedTokens = new AtomicLong();
  private final AtomicLong modelNanos = new AtomicLong();
  private final int samplingThreads;

  /** Below this many logits per step (rows × width) one thread samples: handing off costs more. */
  static final int PARALLEL_MIN_LOGITS = 1 << 14;

  /** Daemon threads shared by all generators of the JVM; idle ones exit after a minute. */
  private static final ExecutorService SAMPLING_POOL = newSamplingPool();

  /**
   * @param tokenBudget upper bound on rows × (longest prompt + maxNewTokens) per batch: bounds the
   *     cache's memory however long the prompts and however large N
   */
  public SampleGenerator(LanguageModel model, SamplingConfig config, long tokenBudget) {
    this(model, config, tokenBudget, true);
  }

  /**
   * @param sharePrefill prefill each prompt once and share its cache across its samples (the
   *     default); false prefills every sample row separately, for benchmarking the gain
   */
  public SampleGenerator(
      LanguageModel model, SamplingConfig config, long tokenBudget, boolean sharePrefill) {
    this(model, config, tokenBudget, sharePrefill, 1);
  }

  /**
   * @param samplingThreads threads that sample the rows of one decoding step (at least 1); the
   *     samples do not depend on it. Give it the cores the caller may use, as for the engine's
   *     intra-op threads: more than that only contends with the forward pass.
   */
  public SampleGenerator(
      LanguageModel model,
      SamplingConfig config,
      long tokenBudget,
      boolean sharePrefill,
      int samplingThreads) {
    if (samplingThreads < 1) {
      throw new IllegalArgumentException("sampling threads must be >= 1, got " + samplingThreads);
    }
    this.samplingThreads = samplingThreads;
    if (tokenBudget < 1) {
      throw new IllegalArgumentException("token budget must be >= 1, got " + tokenBudget);
    }
    this.model = model;
    this.config = config;
    this.tokenBudget = tokenBudget;
    this.sharePrefill = sharePrefill;
    this.eosIds = new HashSet<>(model.files().eosTokenIds());
    this.padId =
        model.files().padTokenId() >= 0
            ? model.files().padTokenId()
            : model.files().eosTokenIds().get(0);
  }

  /** Tokens generated by this generator so far (all threads). */
  public long generatedTokens() {
    return generatedTokens.get();
  }

  /** Nanoseconds spent inside model forward passes so far (all threads). */
  public long modelNanos() {
    return modelNanos.get();
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
    for (int i = 0; i < n; i++) {
      promptIds[i] = model.encode(requests.get(i).prompt());
      int length = promptIds[i].length;
      if (length == 0) {
        results[i] = refusal(requests.get(i), 0, Refusal.Reason.EMPTY_PROMPT, "the prompt has no tokens");
      } else if (length + maxNew > window) {
        results[i] =
            refusal(
                requests.get(i),
                length,
                Refusal.Reason.PROMPT_TOO_LONG,
                length + " prompt tokens + " + maxNew + " new tokens exceed the context window of " + window);
      } else {
        int rowsPerUnit = (int) Math.max(1, Math.min(config.samplesPerPrompt(), tokenBudget / (length + maxNew)));
        for (int from = 0; from < config.samplesPerPrompt(); from += rowsPerUnit) {
          units.add(new Unit(i, from, Math.min(config.samplesPerPrompt(), from + rowsPerUnit)));
        }
      }
    }
    units.sort(Comparator.comparingInt((Unit u) -> promptIds[u.prompt()].length).thenComparingInt(Unit::prompt));
    try (DecodeSession session = model.graph().openSession()) {
      List<Unit> batch = new ArrayList<>();
      int batchRows = 0;
      for (Unit unit : units) {
        int rowCost = promptIds[unit.prompt()].length + maxNew;
        if (!batch.isEmpty() && (long) (batchRows + unit.rows()) * rowCost > tokenBudget) {
          runBatch(session, batch, requests, promptIds, runSeed, samples);
          batch.clear();
          batchRows = 0;
        }
        batch.add(unit);
        batchRows += unit.rows();
      }
      if (!batch.isEmpty()) {
        runBatch(session, batch, requests, promptIds, runSeed, samples);
      }
    }
    for (int i = 0; i < n; i++) {
      if (results[i] == null) {
        samples[i].sort(Comparator.comparingInt(Sample::sampleIndex));
        results[i] = new PromptResult(requests.get(i).promptId(), promptIds[i].length, List.copyOf(samples[i]), null);
      }
    }
    return Arrays.asList(results);
  }

  private void runBatch(
      DecodeSession session,
      List<Unit> units,
      List<Request> requests,
      long[][] promptIds,
      long runSeed,
      List<Sample>[] collected) {
    // Sample rows, and the prefill row each one starts from.
    int rows = units.stream().mapToInt(Unit::rows).sum();
    int[] rowPrompt = new int[rows];
    int[] rowSample = new int[rows];
    List<Integer> prefillPrompts = new ArrayList<>();
    int[] rowPrefill = new int[rows];
    int r = 0;
    for (Unit unit : units) {
      int prefillRow = -1;
      if (sharePrefill) {
        prefillRow = prefillPrompts.size();
        prefillPrompts.add(unit.prompt());
      }
      for (int s = unit.from(); s < unit.to(); s++, r++) {
        rowPrompt[r] = unit.prompt();
        rowSample[r] = s;
        if (sharePrefill) {
          rowPrefill[r] = prefillRow;
        } else {
          rowPrefill[r] = prefillPrompts.size();
          prefillPrompts.add(unit.prompt());
        }
      }
    }
    int prefillRows = prefillPrompts.size();
    int maxPrompt = 0;
    for (int p : prefillPrompts) {
      maxPrompt = Math.max(maxPrompt, promptIds[p].length);
    }
    long[] ids = new long[prefillRows * maxPrompt];
    long[] mask = new long[prefillRows * maxPrompt];
    long[] positions = new long[prefillRows * maxPrompt];
    Arrays.fill(ids, padId);
    for (int p = 0; p < prefillRows; p++) {
      long[] prompt = promptIds[prefillPrompts.get(p)];
      int padding = maxPrompt - prompt.length;
      System.arraycopy(prompt, 0, ids, p * maxPrompt + padding, prompt.length);
      for (int s = 0; s < prompt.length; s++) {
        mask[p * maxPrompt + padding + s] = 1;
        positions[p * maxPrompt + padding + s] = s;
      }
    }
    KvCache empty = session.emptyCache(prefillRows);
    StepOutput prefill =
        timed(session, new StepInput(prefillRows, maxPrompt, ids, mask, positions, empty, StepInput.LogitsWanted.LAST_POSITION));
    empty.close();
    KvCache cache;
    if (sharePrefill) {
      cache = session.selectRows(prefill.present(), rowPrefill);
      prefill.present().close();
    } else {
      cache = prefill.present();
    }

    // Per-sample state.
    SampleRows state = new SampleRows(rows);
    int[] allRows = new int[rows];
    for (int row = 0; row < rows; row++) {
      allRows[row] = row;
      state.seeds[row] = SampleSeeds.derive(runSeed, requests.get(rowPrompt[row]).promptId(), rowSample[row]);
      state.random[row] = new SplittableRandom(state.seeds[row]);
    }
    sampleStep(state, allRows, rowPrefill, prefill);
    long[][] tokens = state.tokens;
    int[] count = state.count;
    FinishReason[] finished = state.finished;

    // Cache rows map to sample rows; each cache row keeps its prompt's padded mask.
    int[] cacheRows = new int[rows];
    for (int row = 0; row < rows; row++) {
      cacheRows[row] = row;
    }
    int cacheLength = maxPrompt;
    while (true) {
      int live = 0;
      for (int c : cacheRows) {
        live += finished[c] == null ? 1 : 0;
      }
      if (live == 0) {
        break;
      }
      if ((cacheRows.length - live) * 4 >= cacheRows.length) {
        int[] keep = new int[live];
        int[] keptRows = new int[live];
        for (int c = 0, k = 0; c < cacheRows.length; c++) {
          if (finished[cacheRows[c]] == null) {
            keep[k] = c;
            keptRows[k++] = cacheRows[c];
          }
        }
        KvCache compacted = session.selectRows(cache, keep);
        cache.close();
        cache = compacted;
        cacheRows = keptRows;
      }
      int batch = cacheRows.length;
      long[] stepIds = new long[batch];
      long[] stepMask = new long[batch * (cacheLength + 1)];
      long[] stepPositions = new long[batch];
      for (int c = 0; c < batch; c++) {
        int row = cacheRows[c];
        int promptLength = promptIds[rowPrompt[row]].length;
        stepIds[c] = count[row] > 0 ? tokens[row][count[row] - 1] : padId;
        stepPositions[c] = promptLength + count[row] - 1;
        int base = c * (cacheLength + 1);
        Arrays.fill(stepMask, base + maxPrompt - promptLength, base + cacheLength + 1, 1L);
      }
      StepOutput out =
          timed(session, new StepInput(batch, 1, stepIds, stepMask, stepPositions, cache, StepInput.LogitsWanted.LAST_POSITION));
      cache.close();
      cache = out.present();
      cacheLength++;
      int[] logitRows = new int[batch];
      for (int c = 0; c < batch; c++) {
        logitRows[c] = c;
      }
      sampleStep(state, cacheRows, logitRows, out);
    }
    cache.close();

    long produced = 0;
    for (int row = 0; row < rows; row++) {
      long[] sampleTokens = Arrays.copyOf(tokens[row], count[row]);
      produced += count[row];
      collected[rowPrompt[row]].add(
          new Sample(
              requests.get(rowPrompt[row]).promptId(),
              rowSample[row],
              state.seeds[row],
              model.tokenizer().decode(sampleTokens),
              sampleTokens,
              finished[row],
              state.logprob[row],
              state.samplingLogprob[row]));
    }
    generatedTokens.addAndGet(produced);
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
      samplers = new TokenSampler[samplingThreads];
      for (int s = 0; s < samplingThreads; s++) {
        samplers[s] = new TokenSampler(config, model.files().tokenizerVocabSize());
      }
    }
  }

  /**
   * One token for each unfinished row {@code rows[i]}, from logits row {@code logitRows[i]} of
   * {@code out}; split over up to {@code samplingThreads} threads in contiguous slices, the first
   * on the calling thread.
   */
  private void sampleStep(SampleRows state, int[] rows, int[] logitRows, StepOutput out) {
    int slices =
        (long) rows.length * out.logitsWidth() < PARALLEL_MIN_LOGITS
            ? 1
            : Math.min(samplingThreads, rows.length);
    if (slices == 1) {
      sampleSlice(state, state.samplers[0], rows, logitRows, out, 0, rows.length);
      return;
    }
    List<Future<?>> others = new ArrayList<>(slices - 1);
    for (int s = 1; s < slices; s++) {
      int from = (int) ((long) rows.length * s / slices);
      int to = (int) ((long) rows.length * (s + 1) / slices);
      TokenSampler sampler = state.samplers[s];
      others.add(SAMPLING_POOL.submit(() -> sampleSlice(state, sampler, rows, logitRows, out, from, to)));
    }
    RuntimeException failure = null;
    try {
      sampleSlice(state, state.samplers[0], rows, logitRows, out, 0, rows.length / slices);
    } catch (RuntimeException e) {
      failure = e;
    }
    for (Future<?> f : others) {
      try {
        f.get();
      } catch (ExecutionException e) {
        if (failure == null) {
          failure = e.getCause() instanceof RuntimeException re ? re : new IllegalStateException(e.getCause());
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        if (failure == null) {
          failure = new IllegalStateException("interrupted while sampling", e);
        }
      }
    }
    if (failure != null) {
      throw failure;
    }
  }

  private void sampleSlice(
      SampleRows state, TokenSampler sampler, int[] rows, int[] logitRows, StepOutput out, int from, int to) {
    for (int i = from; i < to; i++) {
      int row = rows[i];
      if (state.finished[row] == null) {
        step(state, row, sampler, out.logits(), out.offset(logitRows[i], 0), out.logitsWidth());
      }
    }
  }

  /** Chooses one token for a sample row and decides whether the sample is finished. */
  private void step(SampleRows state, int row, TokenSampler sampler, float[] logits, int offset, int width) {
    TokenSampler.Choice choice = sampler.choose(logits, offset, width, state.random[row].nextDouble());
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

  private static PromptResult refusal(Request request, int tokens, Refusal.Reason reason, String detail) {
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

  private static ExecutorService newSamplingPool() {
    AtomicInteger id = new AtomicInteger();
    return new ThreadPoolExecutor(
        0,
        Integer.MAX_VALUE,
        60,
        TimeUnit.SECONDS,
        new SynchronousQueue<>(),
        task -> {
          Thread t = new Thread(task, "prefscore-sampler-" + id.incrementAndGet());
          t.setDaemon(true);
          return t;
        });
  }
}
