#!/usr/bin/env bash
# The whole test suite, as CI runs it (`.ci/run` calls exactly this script):
#   1. install what a fresh Debian 12 machine lacks (ci/setup.sh)
#   2. the main build with warnings as errors, and every test (unit, golden, oracle, e2e)
#   3. clang-format check
#   4. the same tests under AddressSanitizer + UndefinedBehaviorSanitizer (e2e, the
#      promtool-bound rulegen.mutation and rulegen.check, and the docs check excluded)
#   5. the libFuzzer targets, built with clang, each run briefly from its seed corpus
# Stages all run; the script fails if any stage failed. FUZZ_SECONDS (default 20) sets the
# fuzzing time per target.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
jobs=${JOBS:-2}
fuzz_seconds=${FUZZ_SECONDS:-20}
passed=0 failed=0 failed_stages=()

stage() {
  local name=$1
  shift
  echo
  echo "=== $name"
  local start=$SECONDS
  if "$@"; then
    passed=$((passed + 1))
    echo "=== $name: ok ($((SECONDS - start)) s)"
  else
    failed=$((failed + 1))
    failed_stages+=("$name")
    echo "=== $name: FAILED ($((SECONDS - start)) s)"
  fi
}

main_build() {
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMODELWATCH_WERROR=ON \
    >build-configure.log 2>&1 || { cat build-configure.log; return 1; }
  cmake --build build -j "$jobs"
}

main_tests() { ctest --test-dir build --output-on-failure -j "$jobs" --timeout 900; }

format_check() {
  local files
  mapfile -t files < <(git ls-files '*.cc' '*.h')
  ((${#files[@]})) || return 0
  clang-format --dry-run --Werror "${files[@]}"
}

asan_tests() {
  # No -Werror here: gcc 12 reports false maybe-uninitialized warnings under the sanitizers.
  # -O1 -g1 (line tables only): half the compile time of -O2 -g, and ASan's reports keep
  # file:line frames.
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMODELWATCH_WERROR=OFF \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" \
    -DMODELWATCH_SANITIZE=ON >build-asan-configure.log 2>&1 ||
    { cat build-asan-configure.log; return 1; }
  cmake --build build-asan -j "$jobs" || return 1
  # alloc_dealloc_mismatch=0: Debian's libsimdjson.so allocates its parser implementation
  # inside the (uninstrumented) library and simdjson's inline header code frees it in ours,
  # which ASan reports as "operator new vs free" although both sides agree. Every other
  # check stays on.
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:alloc_dealloc_mismatch=0 \
    UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure -j "$jobs" --timeout 900 -LE e2e \
    -E '^(rulegen\.(mutation|check)|docs\.docs)$'  # promtool/amtool-bound minutes; their
  # rulegen code runs under the sanitizers in the unit tests (MutationTest, RoutingTest,
  # CheckTest, ...). docs.docs checks the docs against the programs, not memory: once is enough.
}

fuzz() {
  cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMODELWATCH_FUZZ=ON \
    -DCMAKE_CXX_COMPILER=clang++ >build-fuzz-configure.log 2>&1 ||
    { cat build-fuzz-configure.log; return 1; }
  cmake --build build-fuzz -j "$jobs" || return 1
  local ok=0 target name corpus work
  for target in build-fuzz/tests/fuzz/*_fuzz; do
    [[ -x $target ]] || continue
    name=$(basename "$target" _fuzz)
    corpus=tests/fuzz/corpus/$name
    work=$(mktemp -d)
    echo "fuzzing $name for ${fuzz_seconds}s"
    if ! "$target" -max_total_time="$fuzz_seconds" -rss_limit_mb=2048 -print_final_stats=1 \
      "$work" ${corpus:+$([[ -d $corpus ]] && echo "$corpus")} >"$work.log" 2>&1; then
      echo "fuzz target $name failed:"; tail -40 "$work.log"; ok=1
    else
      grep -E "stat::number_of_executed_units" "$work.log" || true
    fi
    rm -rf "$work" "$work.log"
  done
  return $ok
}

stage "setup (ci/setup.sh)" bash ci/setup.sh
stage "build (warnings as errors)" main_build
stage "tests" main_tests
stage "clang-format" format_check
stage "tests under ASan+UBSan" asan_tests
stage "fuzz" fuzz

echo
if ((failed)); then
  printf 'failed stages: %s\n' "${failed_stages[*]}"
fi
echo "stages: $passed passed, $failed failed"
((failed == 0))
