#!/usr/bin/env bash
# Generation throughput benchmark: our SampleGenerator vs a bare ONNX Runtime loop vs transformers.
#
#   bench/generation.sh
#
# Builds if needed (udf main and test classes in the reactor, nothing installed; the udf test
# classpath), builds bench/target/bench-llama
# if missing, runs GenerationBenchmark (Java) then bench/transformers_generate.py on
# fixtures/models/tiny-llama and bench/target/bench-llama, and prints the ratio table.
# Results: bench/target/results/{java,transformers,summary}.json. Not part of CI.
# Knobs (environment): THREADS (2), REPEATS (5, at least), WARMUP (2), MIN_SECONDS (45),
# PYTHON (bin/reference-python: the reference environment of fixtures/requirements.txt, made on
# first use).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-$ROOT/bin/reference-python}"
THREADS="${THREADS:-2}"
REPEATS="${REPEATS:-5}"
WARMUP="${WARMUP:-2}"
MIN_SECONDS="${MIN_SECONDS:-45}"   # small models repeat until this much timed work (max 30 rounds)
TARGET="bench/target"
RESULTS="$TARGET/results"
CP_FILE="$TARGET/udf-test-classpath.txt"
STAMP="$TARGET/.build-stamp"
BENCH_MODEL="$TARGET/bench-llama"
mkdir -p "$RESULTS" "$TARGET/tmp" "$TARGET/djl-cache"

# 1. Build when classes are missing or any source/pom changed since the last build.
BENCH_CLASS="udf/target/test-classes/org/prefscore/bench/GenerationBenchmark.class"
if [[ ! -f "$STAMP" || ! -f "$BENCH_CLASS" || ! -f "$CP_FILE" ]] \
   || [[ -n "$(find pom.xml udf/pom.xml udf/src -newer "$STAMP" -print -quit)" ]]; then
  echo "== building (mvn -pl udf test-compile)" >&2
  mvn -q -B -ntp -pl udf test-compile
  mvn -q -B -ntp -pl udf dependency:build-classpath -Dmdep.outputFile="$ROOT/$CP_FILE"
  touch "$STAMP"
fi

# 2. The benchmark-size model (ignored folder, rebuilt when missing or when its script changed).
if [[ ! -f "$BENCH_MODEL/model.onnx" || bench/make_bench_model.py -nt "$BENCH_MODEL/model.onnx" ]]; then
  echo "== building $BENCH_MODEL" >&2
  "$PYTHON" bench/make_bench_model.py "$BENCH_MODEL"
fi

MODELS=(tiny-llama=fixtures/models/tiny-llama "bench-llama=$BENCH_MODEL")
MODEL_ARGS=()
for m in "${MODELS[@]}"; do MODEL_ARGS+=(--model "$m"); done

echo "== machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
  "$(free -g | awk '/Mem:/ {print $2}') GiB; $(java -version 2>&1 | head -1)" >&2

# 3. Java side: ours, bare ONNX Runtime loop, shared vs unshared prefill (one JVM).
java -Xmx6g --add-modules=jdk.incubator.vector \
  -Dai.djl.offline=true -DOPT_OUT_TRACKING=true \
  -Djava.io.tmpdir="$ROOT/$TARGET/tmp" -Djna.tmpdir="$ROOT/$TARGET/tmp" \
  -DDJL_CACHE_DIR="$ROOT/$TARGET/djl-cache" \
  -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
  -cp "udf/target/classes:udf/target/test-classes:$(cat "$CP_FILE")" \
  org.prefscore.bench.GenerationBenchmark "${MODEL_ARGS[@]}" \
  --prompts bench/prompts.json --threads "$THREADS" --n 4 --n-prefill 16 --new-tokens 64 \
  --temperature 0.7 --top-p-extra 0.9 --warmup "$WARMUP" --repeats "$REPEATS" \
  --min-seconds "$MIN_SECONDS" --json-out "$RESULTS/java.json" | grep -v '^{"bench"'

# 4. transformers side (separate process, after the JVM has exited).
"$PYTHON" bench/transformers_generate.py "${MODEL_ARGS[@]}" \
  --prompts bench/prompts.json --threads "$THREADS" --n 4 --new-tokens 64 \
  --temperature 0.7 --top-p 1.0 --top-p 0.9 --warmup "$WARMUP" --repeats "$REPEATS" \
  --min-seconds "$MIN_SECONDS" --json-out "$RESULTS/transformers.json" | grep -v '^{"bench"'

# 5. The ratio table.
"$PYTHON" bench/report.py "$RESULTS/java.json" "$RESULTS/transformers.json" "$RESULTS/summary.json"
