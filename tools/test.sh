#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine:
#   1. core unit tests (GoogleTest via CTest), plain, under ASan+UBSan+LSan and
#      under TSan, then the libFuzzer targets of test/fuzz/ for a bounded time
#   2. build and install the extension
#   3. pg_regress (make installcheck) against a throwaway cluster
#   4. TAP integration tests (make prove_installcheck: workers, crashes, restarts),
#      then clang-tidy over the core and the glue (make tidy)
# Exits non-zero on any failure and ends with a line "N passed, N failed".
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tools/common.sh
source "$repo/tools/common.sh"

"$repo/tools/install_deps.sh"

work=$(mktemp -d /tmp/store_monitoring_test.XXXXXX)
cluster_pid_file=""
cleanup() {
  if [[ -n "$cluster_pid_file" && -f "$cluster_pid_file" ]]; then
    as_postgres "$PG_BIN/pg_ctl" -D "$work/cluster" -m immediate stop >/dev/null 2>&1 || true
  fi
  if [[ "${KEEP_TEST_DIR:-}" == "" ]]; then rm -rf "$work"; else echo "kept $work"; fi
}
trap cleanup EXIT

passed=0
failed=0
failed_suites=()
record() {  # record SUITE PASSED FAILED
  passed=$((passed + $2))
  failed=$((failed + $3))
  if (($3 > 0)); then failed_suites+=("$1"); fi
}

# --- 1. core unit tests -------------------------------------------------------
run_ctest() {  # run_ctest NAME CMAKE_ARGS...
  local name=$1
  shift
  local build="$work/build-$name"
  cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >"$work/$name-configure.log"
  cmake --build "$build" -j2 >"$work/$name-build.log" 2>&1 || {
    cat "$work/$name-build.log"
    record "core-$name (build)" 0 1
    return
  }
  local log="$work/$name-ctest.log"
  ctest --test-dir "$build" --output-on-failure -j2 2>&1 | tee "$log" | tail -n 3 || true
  local total fails
  total=$(sed -n 's/.* tests failed out of \([0-9]*\).*/\1/p' "$log" | tail -n 1)
  fails=$(sed -n 's/.*, \([0-9]*\) tests failed out of.*/\1/p' "$log" | tail -n 1)
  if [[ -z "$total" ]]; then
    record "core-$name" 0 1
  else
    record "core-$name" $((total - fails)) "$fails"
  fi
}
section "core unit tests"
run_ctest plain
section "core unit tests under AddressSanitizer + UBSan + LeakSanitizer"
# Leak detection is ASan's default on Linux x86_64; say so, and stop at the
# first report of any kind.
ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  run_ctest sanitized -DSM_SANITIZE=ON

section "core unit tests under ThreadSanitizer (the report pipeline's thread)"
TSAN_OPTIONS=halt_on_error=1 run_ctest threads -DCMAKE_CXX_FLAGS=-fsanitize=thread \
  -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread

# --- 1b. fuzzing --------------------------------------------------------------
# libFuzzer targets in test/fuzz/ (clang, ASan + UBSan + LSan), each for a
# bounded time starting from its seed corpus; FUZZ_SECONDS overrides the times.
# A crash keeps its reproducer in $fuzz_out and fails the suite.
section "fuzzing (libFuzzer + ASan + UBSan + LSan)"
fuzz_build="$work/build-fuzz"
fuzz_out=$(mktemp -d /tmp/store_monitoring_fuzz.XXXXXX)
run_fuzzer() {  # run_fuzzer NAME SECONDS
  local name=$1 seconds=${FUZZ_SECONDS:-$2}
  local bin="$fuzz_build/${name}_fuzzer" log="$work/fuzz-$name.log"
  # New inputs go to the first directory, so the seeds in the repo stay as they are.
  local corpora=("$work/fuzz-corpus-$name")
  mkdir -p "${corpora[0]}"
  [[ -d "$repo/test/fuzz/corpus/$name" ]] && corpora+=("$repo/test/fuzz/corpus/$name")
  echo "${name}_fuzzer: ${seconds} s"
  if ASAN_OPTIONS=detect_leaks=1 "$bin" -max_total_time="$seconds" -timeout=30 -detect_leaks=1 \
    -print_final_stats=1 -artifact_prefix="$fuzz_out/$name-" "${corpora[@]}" >"$log" 2>&1; then
    grep -E '^#[0-9]+[[:space:]]+DONE|number_of_executed_units|average_exec_per_sec' "$log" || true
    record "fuzz-${name//_/-}" 1 0
  else
    tail -n 80 "$log"
    local unit
    unit=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
    echo "fuzz-${name//_/-} failed; reproducer: ${unit:-none written (see the log above)}"
    [[ -n "$unit" ]] && echo "reproduce: ENGINE_FUZZER_PRINT=1 $bin $unit"
    record "fuzz-${name//_/-}" 0 1
  fi
}
if CC=clang CXX=clang++ cmake -S "$repo" -B "$fuzz_build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSM_FUZZ=ON -DSM_TESTS=OFF >"$work/fuzz-configure.log" 2>&1 &&
  cmake --build "$fuzz_build" -j2 >"$work/fuzz-build.log" 2>&1; then
  run_fuzzer engine 60
  if [[ -x "$fuzz_build/input_syntax_fuzzer" ]]; then run_fuzzer input_syntax 20; fi
  run_fuzzer segment 20
else
  cat "$work/fuzz-configure.log" "$work/fuzz-build.log"
  record "fuzz (build)" 0 1
fi
rmdir "$fuzz_out" 2>/dev/null || echo "fuzzer artifacts kept in $fuzz_out"

# --- 2. build and install -----------------------------------------------------
section "build and install the extension"
make -C "$repo" -s -j2 WERROR=1
as_root make -C "$repo" -s install
if "$repo/tools/check_exports.sh" "$repo/store_monitoring.so"; then record exports 1 0; else record exports 0 1; fi
# The layout's include rules (src/pg/README.md): no cycle, no folder including upwards.
if python3 "$repo/tools/check_includes.py" "$repo"; then record includes 1 0; else record includes 0 1; fi
if "$repo/tools/check_docs.sh" "$repo"; then record docs-tests 1 0; else record docs-tests 0 1; fi

# The server refuses to run as root: the PostgreSQL tests run as "postgres"
# in a copy of the tree that user may write to.
tree="$work/tree"
copy_tree "$repo" "$tree"

# --- 3. pg_regress ------------------------------------------------------------
section "pg_regress (make installcheck)"
port=$(free_port)
as_postgres "$PG_BIN/initdb" -D "$work/cluster" -A trust --no-sync >"$work/initdb.log"
cluster_pid_file="$work/cluster/postmaster.pid"
as_postgres "$PG_BIN/pg_ctl" -D "$work/cluster" -o "-p $port -k $work -c listen_addresses=''" \
  -l "$work/cluster.log" -w start >/dev/null
regress_log="$work/regress.log"
if as_postgres make -C "$tree" -s installcheck PGHOST="$work" PGPORT="$port" 2>&1 | tee "$regress_log"; then :; fi
as_postgres "$PG_BIN/pg_ctl" -D "$work/cluster" -m fast stop >/dev/null
cluster_pid_file=""
if grep -q "tests passed" "$regress_log" && ! grep -q "failed" "$regress_log"; then
  record regress "$(sed -n 's/.*All \([0-9]*\) tests passed.*/\1/p' "$regress_log")" 0
else
  [[ -f "$tree/regression.diffs" ]] && head -n 200 "$tree/regression.diffs"
  total=$(sed -n 's/.* \([0-9]*\) of \([0-9]*\) tests failed.*/\2/p' "$regress_log")
  fails=$(sed -n 's/.* \([0-9]*\) of \([0-9]*\) tests failed.*/\1/p' "$regress_log")
  record regress $((${total:-1} - ${fails:-1})) "${fails:-1}"
fi

# --- 4. TAP -------------------------------------------------------------------
section "TAP integration tests (make prove_installcheck)"
tap_log="$work/tap.log"
if as_postgres make -C "$tree" -s prove_installcheck 2>&1 | tee "$tap_log"; then :; fi
tap_total=$(sed -n 's/^Files=[0-9]*, Tests=\([0-9]*\),.*/\1/p' "$tap_log" | tail -n 1)
if grep -q "^Result: PASS" "$tap_log"; then
  record tap "${tap_total:-0}" 0
else
  tap_failed=$(grep -Eo 'Failed [0-9]+/[0-9]+ subtests' "$tap_log" | awk -F'[ /]' '{s+=$2} END {print s+0}')
  ((tap_failed > 0)) || tap_failed=1
  record tap $((${tap_total:-0} - tap_failed)) "$tap_failed"
  for f in "$tree"/tmp_check/log/*.log; do
    [[ -f "$f" ]] && { echo "--- $f"; tail -n 40 "$f"; }
  done
fi

# --- 4b. clang-tidy -----------------------------------------------------------
# make tidy: a clean build recorded by bear, then clang-tidy with the checks of
# .clang-tidy over src/core and src/pg (about 2 minutes on 2 cores). Last among
# the suites that use the build, since it starts from make clean.
section "clang-tidy (make tidy)"
if make -C "$repo" -s -j2 tidy >"$work/tidy.log" 2>&1; then
  record tidy 1 0
else
  grep -E 'error:|warning:.*\[' "$work/tidy.log" | grep -v '^/usr' | head -n 60 || tail -n 60 "$work/tidy.log"
  record tidy 0 1
fi

# --- 5. release files ---------------------------------------------------------
# META.json parses and names the control file's version; make dist packs the
# committed tree (it needs git: skipped, not failed, in a tree without it).
section "release files (META.json, make dist)"
if python3 - "$repo" <<'PY'
import json, re, sys
repo = sys.argv[1]
meta = json.load(open(f"{repo}/META.json"))
control = open(f"{repo}/store_monitoring.control").read()
version = re.search(r"default_version = '([^']+)'", control).group(1)
assert meta["provides"]["store_monitoring"]["version"].startswith(version), (meta["version"], version)
assert meta["meta-spec"]["version"] == "1.0.0"
print(f"META.json: version {meta['version']} for default_version {version}")
PY
then record release-meta 1 0; else record release-meta 0 1; fi
if git -C "$repo" rev-parse --git-dir >/dev/null 2>&1; then
  rm -f "$repo"/store_monitoring-*.zip
  if make -C "$repo" -s dist >/dev/null 2>&1 && python3 - "$repo"/store_monitoring-*.zip <<'PY'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
assert any(n.endswith("/store_monitoring.control") for n in names), names[:5]
print(f"make dist: {sys.argv[1].rsplit('/', 1)[-1]}, {len(names)} entries")
PY
  then
    record release-dist 1 0
  else
    record release-dist 0 1
  fi
  rm -f "$repo"/store_monitoring-*.zip
fi

section "summary"
if ((${#failed_suites[@]} > 0)); then echo "failed suites: ${failed_suites[*]}"; fi
echo "$passed passed, $failed failed"
((failed == 0))
