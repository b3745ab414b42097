#!/usr/bin/env bash
# store_monitoring benchmark: one command that installs what is missing,
# builds and installs the extension, starts a throwaway PostgreSQL 15 cluster,
# loads each data set into a fresh database and prints medians over several
# interleaved runs of
#   report     trigger_report() until wait_report() says Complete (as a client
#              sees it, worker start included) and the worker's peak memory;
#   floor      SELECT count(*) over the polls of the report's evidence range,
#              one core: the cost of merely reading the rows;
#   plain SQL  bench/plain_sql_report.sql, the same report in plain SQL,
#              checked against the extension's numbers (the run FAILS, exit 1,
#              when any store differs by more than 1e-6);
#   DuckDB     bench/duckdb/report.mjs, the same report in DuckDB SQL (DuckDB's
#              Node API from the npm registry, pinned in bench/duckdb's
#              package-lock.json), 2 threads, tables loaded and one run
#              before the measured ones; checked like the plain SQL;
# and what an application calls, each call timed in the server by a plpgsql
# loop (clock_timestamp() around the one statement; no client round trip):
#   report_status      report_status(id) of the round's Complete report,
#                      median of --calls calls;
#   get_report status  SELECT status FROM get_report(id) (which renders the
#                      whole CSV), median of --calls / 10 calls;
#   store_report       store_report(store_id, as_of => the report's T) with
#                      the default settings, median over --calls distinct
#                      store ids of the data set (a fixed pseudo-random
#                      sample); each row must equal that store's row of the
#                      report's report_rows(), to the last bit, or the run
#                      FAILS (exit 1).
#
#   bench/run.sh [--datasets public,x10,history,novacuum,sealed,sealed12] [--runs N]
#                [--plain-runs M] [--calls C] [--write-runs W] [--duckdb | --no-duckdb]
#
#   --datasets   comma-separated, from:
#                public    ~14k stores, 1.8M polls, one week (vacuumed);
#                x10       ten times the stores (vacuumed);
#                historyN  the public polls plus N-1 copies shifted 1..N-1
#                          weeks earlier (same last week, same T), vacuumed;
#                          `history` = history4,history12;
#                novacuum  the public polls, measured as the FIRST report
#                          after a bulk load: autovacuum off for the table, no
#                          VACUUM or ANALYZE, the polls reloaded (TRUNCATE and
#                          INSERT in arrival order) before every measured run;
#                sealedN   the polls of historyN (sealed = sealed1: the public
#                          polls), every one sealed by compact_polls('0') after
#                          loading and VACUUM, then a plain VACUUM ANALYZE: the
#                          report over sealed polls, against the raw floor of
#                          public (or, without public in the run, the raw floor
#                          measured in this database before sealing), and the
#                          bytes on disk per sealed poll against a raw poll's.
#                          The report's CSV must equal public's byte for byte
#                          (sealed) and its hour and day columns public's
#                          (sealedN), or the run FAILS. No plain SQL, no DuckDB.
#                Default: public,x10.
#   --runs       measured report and floor runs per data set (default 5).
#   --plain-runs measured plain SQL runs per data set (default 3 for public,
#                1 for x10 and historyN, 0 for novacuum; it is slow). Never
#                more than --runs.
#   --calls      report_status calls and store_report stores per round
#                (default 200); get_report status gets C / 10 calls (at
#                least 1), since each renders the whole CSV.
#   --write-runs rounds of the write measures (default 3), run when a sealedN
#                data set is in the run: compact_polls('0') of the public polls
#                (polls/s, timed in the server, the raw polls reloaded
#                before each), COPY of the public polls by 4 clients at once
#                and single-row INSERTs by 4 pgbench clients, each into an
#                empty store_status of a database without sealed polls and of
#                one holding the public polls sealed.
#   --duckdb / --no-duckdb
#                run the DuckDB runner (every round, every data set but
#                novacuum) or not. Default: on when node and npm are found
#                (after tools/install_deps.sh --bench, which installs Debian's
#                nodejs and npm where there are none); --duckdb without
#                them is an error. Its packages are installed with
#                `npm ci --prefix bench/duckdb` when node_modules is missing
#                or older than the lock file.
#
# With public and a historyN in the same run, the hour and day columns of
# their reports must be equal for every store (the extra weeks lie outside
# those windows), or the run FAILS; the results show report time against
# weeks stored (1 = public).
#
# Data: with ../shared/data (or $SHARED_DATA) holding the public business
# hours and time zones and make_polls.py, `public` is those files plus the
# poll file make_polls.py writes, and `x10` uses make_polls.py --scale 10.
# Without it both come from demo/generate_sample_data.sql (14,092 and
# 140,920 stores, 8 days). Generated files are cached in $BENCH_CACHE
# (default /var/tmp/store_monitoring_bench): x10 is about 1 GB of CSV.
# The cluster lives in a temporary directory under $BENCH_TMPDIR (default
# /var/tmp; x10 needs about 4 GB) and is removed on exit.
#
# Every data set is loaded (each into its own database, and into DuckDB)
# before any run is measured; then each round runs report, floor, plain SQL,
# the calls above and DuckDB for every data set in turn, so that noise hits
# every measure and every data set alike.
#
# Results: a markdown table on stdout and in bench/results-<date>.md.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../tools/common.sh
source "$repo/tools/common.sh"
# The server binaries of the PostgreSQL the extension is installed into.
PG_BIN=$("$PG_CONFIG" --bindir)

datasets=public,x10
runs=5
plain_runs=
calls=200
duckdb=auto
write_runs=3
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; }
while (($#)); do
    case $1 in
        --datasets) datasets=${2:?--datasets needs a value}; shift 2 ;;
        --datasets=*) datasets=${1#*=}; shift ;;
        --runs) runs=${2:?--runs needs a value}; shift 2 ;;
        --runs=*) runs=${1#*=}; shift ;;
        --plain-runs) plain_runs=${2:?--plain-runs needs a value}; shift 2 ;;
        --plain-runs=*) plain_runs=${1#*=}; shift ;;
        --calls) calls=${2:?--calls needs a value}; shift 2 ;;
        --calls=*) calls=${1#*=}; shift ;;
        --write-runs) write_runs=${2:?--write-runs needs a value}; shift 2 ;;
        --write-runs=*) write_runs=${1#*=}; shift ;;
        --duckdb) duckdb=1; shift ;;
        --no-duckdb) duckdb=0; shift ;;
        -h | --help) usage; exit 0 ;;
        *) echo "bench/run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "bench/run.sh: --runs must be a positive integer" >&2; exit 2; }
[[ -z "$plain_runs" || "$plain_runs" =~ ^[0-9]+$ ]] ||
    { echo "bench/run.sh: --plain-runs must be a non-negative integer" >&2; exit 2; }
[[ "$calls" =~ ^[1-9][0-9]*$ ]] || { echo "bench/run.sh: --calls must be a positive integer" >&2; exit 2; }
[[ "$write_runs" =~ ^[1-9][0-9]*$ ]] || { echo "bench/run.sh: --write-runs must be a positive integer" >&2; exit 2; }
get_calls=$((calls / 10 > 0 ? calls / 10 : 1))
calls_arg=
((calls == 200)) || calls_arg=" --calls $calls"
((write_runs == 3)) || calls_arg+=" --write-runs $write_runs"
duck_arg=
[[ "$duckdb" == auto ]] || { ((duckdb)) && duck_arg=" --duckdb" || duck_arg=" --no-duckdb"; }
IFS=, read -r -a dataset_list <<<"$datasets"
declare -A seen_ds=()
expanded=()
for ds in "${dataset_list[@]}"; do
    if [[ "$ds" == history ]]; then expanded+=(history4 history12); else expanded+=("$ds"); fi
done
dataset_list=("${expanded[@]}")
for ds in "${dataset_list[@]}"; do
    case $ds in
        public | x10 | novacuum) ;;
        history[1-9] | history[1-9][0-9]) ;;
        sealed | sealed[1-9] | sealed[1-9][0-9]) ;;
        *) echo "bench/run.sh: unknown data set '$ds' (public, x10, history, historyN with N in 1..99, novacuum, sealed, sealedN with N in 1..99)" >&2; exit 2 ;;
    esac
    [[ -z "${seen_ds[$ds]:-}" ]] || { echo "bench/run.sh: data set '$ds' given twice" >&2; exit 2; }
    seen_ds[$ds]=1
done
((${#dataset_list[@]})) || { echo "bench/run.sh: --datasets is empty" >&2; exit 2; }
[[ -n "${seen_ds[sealed]:-}" && -n "${seen_ds[sealed1]:-}" ]] &&
    { echo "bench/run.sh: sealed and sealed1 are the same data set" >&2; exit 2; }
any_sealed=0
for ds in "${dataset_list[@]}"; do [[ "$ds" == sealed* ]] && any_sealed=1; done
# weeks_of DS: weeks of polls of historyN and sealedN (sealed = 1)
weeks_of() { case $1 in sealed) echo 1 ;; history* | sealed*) echo "${1#history}" | sed 's/^sealed//' ;; *) echo 1 ;; esac; }

cache=${BENCH_CACHE:-/var/tmp/store_monitoring_bench}
# 1GB by default; BENCH_SHARED_BUFFERS=6GB is PostgreSQL's usual 25% of this
# machine's RAM, which lets x10's covering index (1.3 GB) stay in the cache.
shared_buffers=${BENCH_SHARED_BUFFERS:-1GB}
shared=${SHARED_DATA:-$repo/../shared/data}
[[ -d "$shared" ]] && shared=$(cd "$shared" && pwd)
h='2 hours'  # H: the extension's default max_extrapolation

ms_now() { echo $(($(date +%s%N) / 1000000)); }
step() { printf '\n==> %s\n' "$*"; }
bench_start=$(ms_now)

step "dependencies (tools/install_deps.sh)"
"$repo/tools/install_deps.sh" --bench
echo "ok"

if [[ "$duckdb" == auto ]]; then
    if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
        duckdb=1
    else
        duckdb=0
        echo "no node or npm found: the DuckDB runner is off (bench/duckdb)"
    fi
elif ((duckdb)) && ! { command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; }; then
    echo "bench/run.sh: --duckdb needs node and npm" >&2
    exit 2
fi
duck_dir=$repo/bench/duckdb
if ((duckdb)); then
    step "DuckDB runner's packages (bench/duckdb)"
    if [[ ! -f "$duck_dir/node_modules/.package-lock.json" ||
        "$duck_dir/package-lock.json" -nt "$duck_dir/node_modules/.package-lock.json" ]]; then
        npm ci --prefix "$duck_dir" --no-audit --no-fund
    fi
    echo "ok: @duckdb/node-api $(node -p "require('$duck_dir/node_modules/@duckdb/node-api/package.json').version")"
fi

step "build and install the extension"
make -s -C "$repo" -j"$(nproc)" PG_CONFIG="$PG_CONFIG"
as_root make -s -C "$repo" install PG_CONFIG="$PG_CONFIG"
echo "installed into $("$PG_CONFIG" --pkglibdir)"

step "throwaway cluster"
mkdir -p "$cache"
tmp=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/store_monitoring_bench_cluster.XXXXXX")
((EUID == 0)) && chown postgres: "$tmp"
chmod 700 "$tmp"
cluster_started=0
duck_pid=
cleanup() {
    local rc=$?
    [[ -z "$duck_pid" ]] || kill "$duck_pid" 2>/dev/null || true
    if ((cluster_started)); then
        as_postgres "$PG_BIN/pg_ctl" -D "$tmp/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$tmp"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
cd "$tmp"  # server tools run as postgres must not inherit an unreadable cwd

port=$(free_port)
as_postgres "$PG_BIN/initdb" -D "$tmp/data" -U postgres -A trust -E UTF8 --locale=C --no-sync \
    >"$tmp/initdb.log" 2>&1 || { cat "$tmp/initdb.log" >&2; exit 1; }
cluster_started=1
pg_settings=(
    -c "listen_addresses=''" -c "unix_socket_directories=$tmp" -c "port=$port"
    -c shared_buffers=$shared_buffers -c work_mem=64MB -c maintenance_work_mem=512MB
    -c fsync=off -c full_page_writes=off
    -c max_wal_size=8GB -c checkpoint_timeout=30min
    # The inputs are vacuumed after loading; without this, autovacuum of the
    # report tables (report_output's TOAST) after every x10 report would run
    # during the next runs.
    -c autovacuum=off
)
as_postgres "$PG_BIN/pg_ctl" -D "$tmp/data" -l "$tmp/server.log" -w -s -o "${pg_settings[*]}" start ||
    { cat "$tmp/server.log" >&2; exit 1; }
echo "PostgreSQL 15 in $tmp (socket $tmp/.s.PGSQL.$port): shared_buffers=$shared_buffers work_mem=64MB fsync=off autovacuum=off"

psql_db() {  # psql_db DB ARGS...
    local db=$1
    shift
    as_postgres "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$tmp" -p "$port" -U postgres -d "$db" "$@"
}

# --- data ---------------------------------------------------------------------

public_ok=0
if [[ -f "$shared/make_polls.py" && -f "$shared/menu_hours.csv.xz" && -f "$shared/timezones.csv.xz" ]] &&
    command -v python3 >/dev/null 2>&1; then
    public_ok=1
fi

# load_csv DB FILE TABLE(COLUMNS): \copy a CSV with a header (plain or .xz)
load_csv() {
    local db=$1 file=$2 target=$3 started
    started=$(ms_now)
    if [[ "$file" == *.xz ]]; then xz -dc -- "$file"; else cat -- "$file"; fi |
        psql_db "$db" -c "\\copy $target FROM pstdin WITH (FORMAT csv, HEADER true)"
    echo "  $(basename -- "$file") -> ${target%%(*} ($(($(ms_now) - started)) ms)"
}

# make_polls_file SCALE: path of the cached make_polls.py output, written if missing
make_polls_file() {
    local scale=$1 dir file started
    dir=$cache/make_polls-$(sha256sum "$shared/make_polls.py" | cut -c1-12)
    file=$dir/store_status-scale$scale-seed1.csv
    if [[ ! -s "$file" ]]; then
        mkdir -p "$dir"
        echo "  writing $file with make_polls.py --scale $scale (about $((40 * scale)) s)" >&2
        started=$(ms_now)
        python3 "$shared/make_polls.py" --scale "$scale" --seed 1 --out "$file.tmp.$$"
        mv "$file.tmp.$$" "$file"
        echo "  make_polls.py took $(($(ms_now) - started)) ms" >&2
    fi
    echo "$file"
}

# load_dataset DS DB: fills the input tables of DB; prints where the data came from
load_dataset() {
    local ds=$1 db=$2 scale=1 stores=14092 dir gen_sha started f
    [[ "$ds" == x10 ]] && scale=10 && stores=140920
    if ((public_ok)); then
        source_note="public business hours and time zones ($shared), polls from make_polls.py --scale $scale --seed 1"
        local polls
        polls=$(make_polls_file "$scale")
        load_csv "$db" "$shared/menu_hours.csv.xz" \
            "store_monitoring.business_hours(store_id, day_of_week, start_time_local, end_time_local)"
        load_csv "$db" "$shared/timezones.csv.xz" "store_monitoring.store_timezone(store_id, timezone_str)"
        load_csv "$db" "$polls" "store_monitoring.store_status(store_id, status, timestamp_utc)"
        ((scale == 1)) && polls_file_1=$polls
        return
    fi
    source_note="demo/generate_sample_data.sql, stores=$stores days=8 seed=1 (no public data in $shared)"
    gen_sha=$(sha256sum "$repo/demo/generate_sample_data.sql" | cut -c1-12)
    dir=$cache/generated-$gen_sha/stores$stores-days8-seed1
    if [[ -s "$dir/store_status.csv" ]]; then
        load_csv "$db" "$dir/business_hours.csv" \
            "store_monitoring.business_hours(store_id, day_of_week, start_time_local, end_time_local)"
        load_csv "$db" "$dir/store_timezone.csv" "store_monitoring.store_timezone(store_id, timezone_str)"
        load_csv "$db" "$dir/store_status.csv" "store_monitoring.store_status(store_id, status, timestamp_utc)"
        ((scale == 1)) && polls_file_1=$dir/store_status.csv
        return
    fi
    echo "  generating $stores stores with demo/generate_sample_data.sql (cached afterwards in $dir)"
    started=$(ms_now)
    psql_db "$db" -v stores="$stores" -v days=8 -v seed=1 -f - <"$repo/demo/generate_sample_data.sql"
    echo "  generated in $(($(ms_now) - started)) ms"
    mkdir -p "$dir"
    for f in business_hours store_timezone store_status; do
        psql_db "$db" -c "\\copy store_monitoring.$f TO pstdout WITH (FORMAT csv, HEADER true)" \
            >"$dir/$f.csv.tmp.$$"
    done
    for f in business_hours store_timezone store_status; do mv "$dir/$f.csv.tmp.$$" "$dir/$f.csv"; done
    ((scale == 1)) && polls_file_1=$dir/store_status.csv
}

# reshape_polls DS DB: for historyN, the polls become N weeks in arrival
# order (oldest copy first, as they would have arrived); for novacuum, they
# move to bench_polls, from which every measured run reloads them.
reshape_polls() {
    local ds=$1 db=$2 weeks k started
    [[ "$ds" == history* || "$ds" == sealed* || "$ds" == novacuum ]] || return 0
    [[ "$ds" == sealed* && $(weeks_of "$ds") == 1 ]] && return 0  # the polls as loaded
    started=$(ms_now)
    psql_db "$db" -c 'CREATE UNLOGGED TABLE public.bench_polls AS
                          SELECT store_id, status, timestamp_utc FROM store_monitoring.store_status' \
        -c 'TRUNCATE store_monitoring.store_status'
    if [[ "$ds" == novacuum ]]; then
        psql_db "$db" -c 'ALTER TABLE store_monitoring.store_status SET (autovacuum_enabled = off)' \
            -c 'INSERT INTO store_monitoring.store_status SELECT * FROM public.bench_polls'
        echo "  polls kept in bench_polls; autovacuum off for store_status ($(($(ms_now) - started)) ms)"
        return
    fi
    weeks=$(weeks_of "$ds")
    for ((k = weeks - 1; k >= 0; k--)); do
        psql_db "$db" -c "INSERT INTO store_monitoring.store_status
                          SELECT store_id, status, timestamp_utc - interval '$k weeks' FROM public.bench_polls"
    done
    psql_db "$db" -c 'DROP TABLE public.bench_polls'
    echo "  $weeks weeks of polls (copies shifted 0..$((weeks - 1)) weeks back) ($(($(ms_now) - started)) ms)"
}

# storage_parts DB: "name|bytes" of every part of the polls' storage: the
# heap of store_status (with its TOAST, free space and visibility maps), each
# of its indexes, the same of sealed_polls, and sealed_day with its index.
# The parts add up to pg_total_relation_size() of the three tables.
storage_parts() {
    psql_db "$1" -At -F '|' <<'SQL'
SELECT name, bytes FROM (
    SELECT 1 AS o, 'store_status heap' AS name, pg_table_size('store_monitoring.store_status') AS bytes
    UNION ALL
    SELECT 2, 'store_status index ' || c.relname, pg_relation_size(i.indexrelid)
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
    WHERE i.indrelid = 'store_monitoring.store_status'::regclass
    UNION ALL
    SELECT 3, 'sealed_polls heap (with TOAST)', pg_table_size('store_monitoring.sealed_polls')
    UNION ALL
    SELECT 4, 'sealed_polls index ' || c.relname, pg_relation_size(i.indexrelid)
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
    WHERE i.indrelid = 'store_monitoring.sealed_polls'::regclass
    UNION ALL
    SELECT 5, 'sealed_day (table and index)', pg_total_relation_size('_store_monitoring_internal.sealed_day')
) s ORDER BY o, name;
SQL
}

# floor_sql AS_OF LABEL: psql lines of one floor (one core): count(*) of the
# raw polls of the evidence range, timed as a client sees it
floor_sql() {
    cat <<SQL
SET max_parallel_workers_per_gather = 0;
SELECT pg_catalog.clock_timestamp() AS t0 \gset
SELECT count(*) AS n FROM store_monitoring.store_status
WHERE timestamp_utc >= '$1'::timestamptz - interval '168 hours' - '$h'::interval
  AND timestamp_utc <= '$1'::timestamptz \gset
SELECT 'RESULT $2', round(extract(epoch FROM pg_catalog.clock_timestamp() - :'t0'::timestamptz) * 1000, 1), :'n';
RESET max_parallel_workers_per_gather;
SQL
}

# compact_sql LABEL: psql lines of compact_polls('0'), timed in the session
# (clock_timestamp() before the call and after it returned and committed),
# then poll_storage()'s counts
compact_sql() {
    cat <<SQL
SELECT pg_catalog.clock_timestamp() AS t0 \gset
SELECT store_monitoring.compact_polls('0') AS n \gset
SELECT 'RESULT $1', round(extract(epoch FROM pg_catalog.clock_timestamp() - :'t0'::timestamptz) * 1000, 1), :'n',
       raw_polls, compacted_polls
FROM store_monitoring.poll_storage();
SQL
}

# seal_dataset DS DB: for sealedN, what the raw polls take on disk (and,
# without public in the run, the raw floor and the raw report's CSV), then
# every poll sealed by compact_polls('0') (timed), a plain VACUUM ANALYZE
# (no VACUUM FULL, no REINDEX) and a CHECKPOINT, and what they take then.
seal_dataset() {
    local ds=$1 db=$2 out k raw_id
    [[ "$ds" == sealed* ]] || return 0
    storage_parts "$db" >"$tmp/storage_${ds}_raw.txt"
    if [[ -z "${seen_ds[public]:-}" && $(weeks_of "$ds") == 1 ]]; then
        # The raw floor of the same week, here, before sealing (not interleaved).
        as_of=$(psql_db "$db" -At -c "SET TimeZone = 'UTC'" -c 'SELECT max(timestamp_utc) FROM store_monitoring.store_status')
        for ((k = 1; k <= runs; k++)); do
            floor_sql "$as_of" "$ds rawfloor $k" | psql_db "$db" -At -F ' ' -f - | tee -a "$tmp/sealing.txt"
        done
        raw_id=$(psql_db "$db" -At <<'SQL'
SELECT store_monitoring.trigger_report() AS id \gset
SELECT store_monitoring.wait_report(:'id', interval '3 hours') AS st \gset
SELECT :'id';
SQL
        )
        psql_db "$db" -At -c "SELECT md5(csv) || ' ' || length(csv) FROM store_monitoring.get_report('$raw_id')"             >"$tmp/csv_${ds}_raw.txt"
        psql_db "$db" -At -c "SELECT store_monitoring.delete_report('$raw_id')" >/dev/null
        echo "  raw floor (before sealing, $runs runs) and a raw report: CSV $(cat "$tmp/csv_${ds}_raw.txt")"
    fi
    out=$(compact_sql "$ds compact 1" | psql_db "$db" -At -F ' ' -f -)
    echo "$out" >>"$tmp/sealing.txt"
    read -r _ _ _ _ ms n raw sealed <<<"$out"
    echo "  compact_polls('0'): $n polls sealed in $ms ms; poll_storage(): $raw raw, $sealed sealed"
    if [[ "$raw" != 0 || "$sealed" != "$n" ]]; then
        echo "bench/run.sh: FAIL: compact_polls('0') of $ds left $raw raw polls, $sealed sealed of $n" >&2
        failed=1
    fi
    psql_db "$db" -c 'VACUUM ANALYZE store_monitoring.store_status, store_monitoring.sealed_polls,
                                     _store_monitoring_internal.sealed_day' -c 'CHECKPOINT'
    storage_parts "$db" >"$tmp/storage_${ds}_sealed.txt"
    res_sealed[$ds]=$n
    echo "  after VACUUM: $(awk -F'|' '{ t += $2 } END { printf "%.0f\n", t }' "$tmp/storage_${ds}_sealed.txt") bytes"         "(raw: $(awk -F'|' '{ t += $2 } END { printf "%.0f\n", t }' "$tmp/storage_${ds}_raw.txt"))"
}

polls_file_1=  # the CSV of the public polls (with a header), once loaded

# --- statistics -----------------------------------------------------------------

median() { # numbers on stdin -> median with ${1:-1} decimals (empty input: "-")
    sort -g | awk -v f="%.${1:-1}f\n" '{ v[NR] = $1 } END {
        if (NR == 0) { print "-"; exit }
        if (NR % 2) printf f, v[(NR + 1) / 2]; else printf f, (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
ratio() { # ratio A B [DECIMALS, default 2]
    awk -v a="$1" -v b="$2" -v f="%.${3:-2}f\n" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf f, a / b }'
}
fmt_int() { # 1234567 -> 1,234,567
    awk -v v="$1" 'BEGIN { if (v == "-" || v == "") { print "-"; exit }
        s = sprintf("%.0f", v); while (s ~ /[0-9][0-9][0-9][0-9]/) sub(/[0-9][0-9][0-9]($|,)/, ",&", s); print s }'
}

# --- the benchmark ------------------------------------------------------------

declare -A res_stores res_polls res_report res_floor res_plain res_mem res_start res_compute res_raw res_source
declare -A res_nreport res_nplain res_mismatch res_asof res_prewarm res_bytes res_get
declare -A res_nsample res_status res_getstatus res_timer res_store res_storediff
declare -A res_duck res_nduck res_duckmismatch
declare -A res_sealed res_csv res_csvcheck
failed=0

# Phase 1: every data set in its own fresh database, vacuumed, with one
# unmeasured report (which also gives T).
for ds in "${dataset_list[@]}"; do
    db=bench_$ds
    step "data set $ds: fresh database $db"
    as_postgres "$PG_BIN/createdb" -h "$tmp" -p "$port" -U postgres "$db"
    psql_db "$db" -c 'CREATE EXTENSION store_monitoring' -c 'CREATE EXTENSION pg_prewarm'
    started=$(ms_now)
    source_note=
    load_dataset "$ds" "$db"
    reshape_polls "$ds" "$db"
    if [[ "$ds" == novacuum ]]; then
        # Only the polls stay as a bulk load leaves them (no visibility map,
        # no hint bits, no statistics); the small inputs are vacuumed.
        echo "  VACUUM ANALYZE (business hours and zones only)"
        psql_db "$db" -c 'VACUUM ANALYZE store_monitoring.business_hours, store_monitoring.store_timezone' \
            -c 'CHECKPOINT'
    else
        echo "  VACUUM ANALYZE"
        psql_db "$db" -c 'VACUUM ANALYZE store_monitoring.store_status, store_monitoring.business_hours,
                                         store_monitoring.store_timezone' -c 'CHECKPOINT'
        visible=$(psql_db "$db" -At -c "SELECT relallvisible || '/' || relpages FROM pg_class
                                         WHERE oid = 'store_monitoring.store_status'::regclass")
        echo "  store_status pages all-visible: $visible"
        if [[ "${visible%/*}" != "${visible#*/}" ]]; then
            echo "bench/run.sh: WARNING: not every page of store_status is all-visible after VACUUM" >&2
        fi
    fi
    echo "  loaded in $(($(ms_now) - started)) ms"
    seal_dataset "$ds" "$db"
    # polls (raw and sealed), stores known to any table, and whether the
    # polls (tables and indexes) fit in half of shared_buffers
    read -r polls stores fits < <(psql_db "$db" -At -F ' ' -c "
        SELECT (SELECT count(*) FROM store_monitoring.store_status)
                 + (SELECT coalesce(sum(polls), 0) FROM _store_monitoring_internal.sealed_day),
               (SELECT count(*) FROM (SELECT store_id FROM store_monitoring.store_status
                                      UNION SELECT store_id FROM store_monitoring.sealed_polls
                                      UNION SELECT store_id FROM store_monitoring.business_hours
                                      UNION SELECT store_id FROM store_monitoring.store_timezone) s),
               pg_total_relation_size('store_monitoring.store_status')
                 + pg_total_relation_size('store_monitoring.sealed_polls')
                 < pg_size_bytes(current_setting('shared_buffers')) / 2")
    echo "  $stores stores, $polls polls; $source_note"
    res_source[$ds]=$source_note
    res_stores[$ds]=$stores
    res_polls[$ds]=$polls
    res_prewarm[$ds]=$fits

    step "$ds: warm-up report (not measured)"
    IFS='|' read -r as_of status warm_id < <(psql_db "$db" -At -F '|' <<'SQL'
SET TimeZone = 'UTC';
SELECT store_monitoring.trigger_report() AS id \gset
SELECT store_monitoring.wait_report(:'id', interval '3 hours') AS st \gset
SELECT as_of, :'st', :'id' FROM _store_monitoring_internal.report WHERE report_id = :'id';
SQL
    )
    if [[ "$status" != Complete ]]; then
        echo "bench/run.sh: warm-up report of $ds ended $status" >&2
        psql_db "$db" -x -c "SELECT status, error FROM _store_monitoring_internal.report" >&2 || true
        tail -n 30 "$tmp/server.log" >&2
        exit 1
    fi
    echo "  T = $as_of, H = $h"
    # The one report in this database: what it takes on disk (its row, its
    # stored results, their TOAST and every index of the report tables), and
    # get_report()'s time to render its CSV (median of 5, in the server).
    read -r res_bytes[$ds] res_get[$ds] < <(psql_db "$db" -At -F ' ' <<SQL
CHECKPOINT;
CREATE FUNCTION pg_temp.get_report_ms(id text) RETURNS float8 LANGUAGE plpgsql AS \$\$
DECLARE started timestamptz := clock_timestamp(); n int;
BEGIN
    SELECT length(csv) INTO n FROM store_monitoring.get_report(id);
    RETURN extract(epoch FROM clock_timestamp() - started) * 1000;
END \$\$;
SELECT pg_total_relation_size('_store_monitoring_internal.report')
       + pg_total_relation_size('_store_monitoring_internal.report_output')
       + pg_total_relation_size('_store_monitoring_internal.report_result'),
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY pg_temp.get_report_ms('$warm_id'))::numeric, 1)
FROM generate_series(1, 5);
SQL
    )
    echo "  one report on disk: ${res_bytes[$ds]} bytes; get_report ${res_get[$ds]} ms"
    res_csv[$ds]=$(psql_db "$db" -At -c "SELECT md5(csv) || ' ' || length(csv) FROM store_monitoring.get_report('$warm_id')")
    echo "  its CSV: md5 and length ${res_csv[$ds]}"
    # What the application calls are timed with: a fixed pseudo-random sample
    # of the report's stores (md5 order, so every kind of store in its share
    # and no index locality from sorted ids), and plpgsql loops that time each
    # call in the server (clock_timestamp() around the one statement, whose
    # plan the function caches), so no client round trip or parsing is
    # counted. They live in the throwaway database's public schema, since
    # every round opens a new session.
    res_nsample[$ds]=$(psql_db "$db" -At <<SQL
CREATE TABLE public.bench_sample AS
SELECT row_number() OVER (ORDER BY md5(store_id), store_id) AS n, store_id
FROM (SELECT store_id FROM store_monitoring.report_rows('$warm_id')
      ORDER BY md5(store_id), store_id LIMIT $calls) s;
CREATE UNLOGGED TABLE public.bench_store_rows AS
SELECT * FROM store_monitoring.report_rows('$warm_id') LIMIT 0;
CREATE TABLE public.bench_store_diff (round int, store_id text, report_rows text, store_report text);
-- Median ms of n calls of one statement: 'status' = report_status(id),
-- 'get_report' = SELECT status FROM get_report(id), 'timer' = the same loop
-- around a statement that calls nothing (what the timing itself costs).
CREATE FUNCTION public.bench_call_ms(what text, id text, n int) RETURNS float8
LANGUAGE plpgsql AS \$\$
DECLARE t0 timestamptz; ms float8[] := '{}'; st text;
BEGIN
    FOR i IN 1..n LOOP
        IF what = 'status' THEN
            t0 := clock_timestamp();
            SELECT r.status INTO st FROM store_monitoring.report_status(id) r;
            ms := ms || (extract(epoch FROM clock_timestamp() - t0) * 1000)::float8;
        ELSIF what = 'get_report' THEN
            t0 := clock_timestamp();
            SELECT r.status INTO st FROM store_monitoring.get_report(id) r;
            ms := ms || (extract(epoch FROM clock_timestamp() - t0) * 1000)::float8;
        ELSE
            t0 := clock_timestamp();
            SELECT v.status INTO st FROM (VALUES (id)) v(status);
            ms := ms || (extract(epoch FROM clock_timestamp() - t0) * 1000)::float8;
            st := 'Complete';
        END IF;
        IF st IS DISTINCT FROM 'Complete' THEN
            RAISE EXCEPTION '% of report % says %, not Complete', what, id, st;
        END IF;
    END LOOP;
    RETURN (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) FROM unnest(ms) x);
END \$\$;
-- store_report() of every sampled store with the report's T and the
-- default settings, each call timed; then every row against the report's
-- report_rows() row, exactly (a missing row on either side differs too).
CREATE FUNCTION public.bench_store_report(id text, as_of timestamptz, round int,
    OUT median_ms float8, OUT stores int, OUT differ int)
LANGUAGE plpgsql AS \$\$
DECLARE t0 timestamptz; ms float8[] := '{}'; sid text; got public.bench_store_rows%ROWTYPE;
BEGIN
    TRUNCATE public.bench_store_rows;
    stores := 0;
    FOR sid IN SELECT s.store_id FROM public.bench_sample s ORDER BY s.n LOOP
        t0 := clock_timestamp();
        SELECT * INTO got FROM store_monitoring.store_report(sid, as_of);
        ms := ms || (extract(epoch FROM clock_timestamp() - t0) * 1000)::float8;
        IF FOUND THEN INSERT INTO public.bench_store_rows SELECT (got).*; END IF;
        stores := stores + 1;
    END LOOP;
    median_ms := (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) FROM unnest(ms) x);
    INSERT INTO public.bench_store_diff
    SELECT round, coalesce(r.store_id, g.store_id), r::text, g::text
    FROM (SELECT rr.* FROM store_monitoring.report_rows(id) rr
          WHERE rr.store_id IN (SELECT s.store_id FROM public.bench_sample s)) r
    FULL JOIN public.bench_store_rows g ON g.store_id = r.store_id
    WHERE row(r.*) IS DISTINCT FROM row(g.*);
    GET DIAGNOSTICS differ = ROW_COUNT;
END \$\$;
SELECT count(*) FROM public.bench_sample;
SQL
    )
    echo "  store_report sample: ${res_nsample[$ds]} stores"
    res_asof[$ds]=$as_of
    case $ds in public) n_plain=3 ;; novacuum) n_plain=0 ;; *) n_plain=1 ;; esac
    n_plain=${plain_runs:-$n_plain}
    ((n_plain > runs)) && n_plain=$runs
    # The plain SQL and DuckDB read store_status, which sealing empties; the
    # sealed report is checked against public's CSV instead (below).
    [[ "$ds" == sealed* ]] && n_plain=0
    res_nplain[$ds]=$n_plain
    res_nreport[$ds]=$runs
    res_nduck[$ds]=0
    if ((duckdb)) && [[ "$ds" != novacuum && "$ds" != sealed* ]]; then
        # The DuckDB runner reads what the report reads: the three tables as
        # they are now (the polls in heap order), exported as CSV.
        started=$(ms_now)
        mkdir "$tmp/duckdb_$ds"
        ((EUID == 0)) && chown postgres: "$tmp/duckdb_$ds"
        psql_db "$db" -c "SET TimeZone = 'UTC'" \
            -c "\\copy store_monitoring.store_status(store_id, status, timestamp_utc) TO '$tmp/duckdb_$ds/store_status.csv' WITH (FORMAT csv, HEADER true)" \
            -c "\\copy store_monitoring.business_hours(store_id, day_of_week, start_time_local, end_time_local) TO '$tmp/duckdb_$ds/business_hours.csv' WITH (FORMAT csv, HEADER true)" \
            -c "\\copy store_monitoring.store_timezone(store_id, timezone_str) TO '$tmp/duckdb_$ds/store_timezone.csv' WITH (FORMAT csv, HEADER true)"
        echo "  exported the three tables for DuckDB ($(($(ms_now) - started)) ms)"
        res_nduck[$ds]=$runs
    fi
done

# The DuckDB runner: one process for the whole run (a coprocess that takes
# one command a line), every data set loaded into its own schema and its
# report run once before the measured rounds.
duck_cmd() {  # duck_cmd WORD...: one command (tab-separated), its reply on stdout
    local reply IFS=$'\t'
    printf '%s\n' "$*" >&"${duck[1]}"
    IFS= read -r reply <&"${duck[0]}" || { echo "bench/run.sh: the DuckDB runner ended" >&2; return 1; }
    [[ "$reply" != error* ]] || { echo "bench/run.sh: the DuckDB runner failed: $reply" >&2; return 1; }
    echo "$reply"
}
duck_version=
if ((duckdb)); then
    step "DuckDB: load the data sets (not measured) and one unmeasured run each"
    coproc duck { exec node "$duck_dir/report.mjs" --serve; }
    # shellcheck disable=SC2154 # duck_PID is set by coproc
    duck_pid=$duck_PID
    reply=$(duck_cmd version) || exit 1
    read -r _ duck_version duck_api duck_node <<<"$reply"
    echo "  DuckDB $duck_version (@duckdb/node-api $duck_api, Node.js $duck_node), threads = 2"
    for ds in "${dataset_list[@]}"; do
        ((res_nduck[$ds])) || continue
        reply=$(duck_cmd load "$ds" "$tmp/duckdb_$ds" "${res_asof[$ds]}" "$h") || exit 1
        read -r _ _ n_rows load_ms warm_ms <<<"$reply"
        echo "  $ds: loaded in $load_ms ms; unmeasured run $warm_ms ms, $n_rows rows"
        if [[ "$n_rows" != "${res_stores[$ds]}" ]]; then
            echo "bench/run.sh: FAIL: DuckDB's report of $ds has $n_rows rows, not ${res_stores[$ds]}" >&2
            failed=1
        fi
        rm -rf "$tmp/duckdb_$ds"
    done
fi

# Phase 2: every measured run, interleaved: in each round, for each data
# set, one psql session runs report, floor, plain SQL and the calls, then
# DuckDB runs its report, so that noise hits every measure and every data
# set alike. Times are client-visible:
# clock_timestamp() before the statement that starts the work and after the
# one that returns its result. Before a data set's turn, pg_prewarm puts its
# polls back into shared buffers when they fit (x10 would otherwise have
# evicted public's); the larger data sets are read through the OS cache anyway.
cp "$repo/bench/plain_sql_report.sql" "$tmp/plain_sql_report.sql"
script=$tmp/session.sql
# round_sql I DS: the psql script of round I on DS, which runs in a new
# session
round_sql() {
    local i=$1 ds=$2
    cat <<SQL
SET TimeZone = 'UTC';
\\set as_of '${res_asof[$ds]}'
\\set h '$h'
SQL
    if [[ "$ds" == novacuum ]]; then
        # A fresh bulk load before every run: the report is the first
        # to read these rows (no visibility map, no hint bits set).
        cat <<'SQL'
TRUNCATE store_monitoring.store_status;
INSERT INTO store_monitoring.store_status SELECT * FROM public.bench_polls;
CHECKPOINT;
SQL
    elif [[ "${res_prewarm[$ds]}" == t ]]; then
        cat <<'SQL'
SELECT pg_prewarm('store_monitoring.store_status'), pg_prewarm('store_monitoring.sealed_polls'),
       (SELECT sum(pg_prewarm(indexrelid)) FROM pg_index
        WHERE indrelid IN ('store_monitoring.store_status'::regclass,
                           'store_monitoring.sealed_polls'::regclass)) \g /dev/null
SQL
    fi
    cat <<SQL
-- round $i, $ds: report
SELECT pg_catalog.clock_timestamp() AS t0 \\gset
SELECT store_monitoring.trigger_report() AS id \\gset
SELECT store_monitoring.wait_report(:'id', interval '3 hours') AS st \\gset
SELECT 'RESULT $ds report $i', round(extract(epoch FROM pg_catalog.clock_timestamp() - :'t0'::timestamptz) * 1000, 1),
       :'st', coalesce(worker_memory_kb::text, '-'),
       round(extract(epoch FROM started_at - requested_at) * 1000, 1),
       round(extract(epoch FROM finished_at - started_at) * 1000, 1),
       :'id', store_count
FROM _store_monitoring_internal.report WHERE report_id = :'id';
SQL
    # The floor reads the raw polls; a sealed data set has none (its floor is
    # public's, or the one measured before sealing).
    if [[ "$ds" != sealed* ]]; then
        echo "-- round $i, $ds: floor (one core)"
        floor_sql "${res_asof[$ds]}" "$ds floor $i"
    fi
    if ((i <= res_nplain[$ds])); then
        cat <<SQL
-- round $i, $ds: plain SQL (its rows go to a file, as a client would receive them)
SELECT pg_catalog.clock_timestamp() AS t0 \\gset
\\pset format csv
\\o $tmp/plain_$ds.csv
\\i $tmp/plain_sql_report.sql
\\o
\\pset format unaligned
SELECT 'RESULT $ds plain $i', round(extract(epoch FROM pg_catalog.clock_timestamp() - :'t0'::timestamptz) * 1000, 1);
SQL
    fi
    cat <<SQL
-- round $i, $ds: what an application calls, each call timed in the server
SELECT 'RESULT $ds status $i', round(public.bench_call_ms('status', :'id', $calls)::numeric, 4), $calls;
SELECT 'RESULT $ds getrep $i', round(public.bench_call_ms('get_report', :'id', $get_calls)::numeric, 4), $get_calls;
SELECT 'RESULT $ds timer $i', round(public.bench_call_ms('timer', :'id', $calls)::numeric, 4), $calls;
SELECT 'RESULT $ds store $i', round(median_ms::numeric, 4), stores, differ
FROM public.bench_store_report(:'id', :'as_of', $i);
SQL
}
((EUID == 0)) && chown postgres: "$tmp/plain_sql_report.sql"

step "$runs rounds of report, floor, plain SQL, report_status, get_report status, store_report$( ((duckdb)) && echo " and DuckDB"), interleaved over: ${dataset_list[*]}"
plain_note=
for ds in "${dataset_list[@]}"; do plain_note+=" $ds ${res_nplain[$ds]},"; done
echo "  plain SQL runs:${plain_note%,}"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
results=$tmp/results.txt
if [[ -f "$tmp/sealing.txt" ]]; then cp "$tmp/sealing.txt" "$results"; else : >"$results"; fi
show_runs() {
    awk '{ if ($3 ~ /^(status|getrep|timer|store)$/) printf "  %-6s %-6s run %s: %10.3f ms", $2, $3, $4, $5
           else printf "  %-6s %-6s run %s: %10.1f ms", $2, $3, $4, $5
           if ($3 == "report") printf "  %s, worker %s kB, start %s ms, compute %s ms", $6, $7, $8, $9
           if ($3 == "store") printf "  median of %s stores, %s differ", $6, $7
           else if ($3 == "duckdb") printf "  %s rows", $6
           else if ($3 != "report" && $3 != "floor" && $3 != "plain") printf "  median of %s calls", $6
           printf "\n" }'
}
for ((i = 1; i <= runs; i++)); do
    for ds in "${dataset_list[@]}"; do
        round_sql "$i" "$ds" >"$script"
        ((EUID == 0)) && chown postgres: "$script"
        psql_db "bench_$ds" -At -F ' ' -f "$script" | tee -a "$results" | show_runs
        if ((res_nduck[$ds])); then
            # its rows go to a file after the timed part (the check reads the last round's)
            reply=$(duck_cmd run "$ds" "$i" "$tmp/duckdb_$ds.csv") || exit 1
            echo "$reply" >>"$results"
            show_runs <<<"$reply"
        fi
    done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

for ds in "${dataset_list[@]}"; do
    sel() { awk -v ds="$ds" -v kind="$1" -v col="$2" '$2 == ds && $3 == kind && $col != "-" { print $col }' "$results"; }
    bad=$(awk -v ds="$ds" '$2 == ds && $3 == "report" && $6 != "Complete"' "$results" | wc -l)
    if ((bad)); then
        echo "bench/run.sh: $bad report run(s) of $ds did not complete" >&2
        failed=1
    fi
    res_report[$ds]=$(sel report 5 | median)
    res_mem[$ds]=$(sel report 7 | median)
    res_start[$ds]=$(sel report 8 | median)
    res_compute[$ds]=$(sel report 9 | median)
    res_floor[$ds]=$(sel floor 5 | median)
    res_plain[$ds]=$(sel plain 5 | median)
    res_duck[$ds]=$(sel duckdb 5 | median)
    res_status[$ds]=$(sel status 5 | median 3)
    res_getstatus[$ds]=$(sel getrep 5 | median 3)
    res_timer[$ds]=$(sel timer 5 | median 4)
    res_store[$ds]=$(sel store 5 | median 3)
    res_storediff[$ds]=$(sel store 7 | awk '{ n += $1 } END { print n + 0 }')
    res_raw[$ds]=$(awk -v ds="$ds" '$2 == ds { r[$3] = r[$3] (r[$3] == "" ? "" : ", ") $5 }
        END { printf "report %s; floor %s; plain SQL %s; DuckDB %s; report_status %s; get_report status %s; store_report %s; timer %s",
                  r["report"], (r["floor"] == "" ? "-" : r["floor"]), (r["plain"] == "" ? "-" : r["plain"]), (r["duckdb"] == "" ? "-" : r["duckdb"]),
                  r["status"], r["getrep"], r["store"], r["timer"] }' "$results")
    [[ "$ds" == sealed* ]] || echo "  $ds: evidence range [T - 168 h - H, T] holds $(sel floor 6 | head -n 1) polls"
done

# The raw floor a sealed report is compared with: public's, measured in the
# same rounds; without public, the one measured before sealing.
declare -A res_rawfloor res_rawfloor_from res_compact_ms
for ds in "${dataset_list[@]}"; do
    [[ "$ds" == sealed* ]] || continue
    res_compact_ms[$ds]=$(awk -v ds="$ds" '$2 == ds && $3 == "compact" { print $5 }' "$results" | median)
    if [[ -n "${seen_ds[public]:-}" ]]; then
        res_rawfloor[$ds]=${res_floor[public]}
        res_rawfloor_from[$ds]="public's raw table, in the same rounds"
    else
        res_rawfloor[$ds]=$(awk -v ds="$ds" '$2 == ds && $3 == "rawfloor" { print $5 }' "$results" | median)
        res_rawfloor_from[$ds]="this database's raw table before sealing, $runs runs"
    fi
    [[ $(weeks_of "$ds") == 1 ]] || res_rawfloor[$ds]=${res_rawfloor[sealed]:-${res_rawfloor[sealed1]:-${res_floor[public]:--}}}
    [[ $(weeks_of "$ds") == 1 ]] || res_rawfloor_from[$ds]="the 1-week raw floor (public's, or the sealed data set's)"
done

# Phase 3: the plain SQL and DuckDB give the extension's numbers.
# check_rows DS WHAT FILE PREFIX: FILE (CSV, report_rows()' columns, no
# header) against report_rows() of DS's first measured report, every value
# within 1e-6; sets n_mismatch
check_rows() {
    local ds=$1 what=$2 file=$3 x=$4 report_id mismatches n_rows
    report_id=$(awk -v ds="$ds" '$2 == ds && $3 == "report" { print $10; exit }' "$results")
    step "$ds: $what vs report_rows('$report_id')"
    mismatches=$(psql_db "bench_$ds" -At <<SQL
CREATE TEMP TABLE other_out (store_id text COLLATE "C", uptime_last_hour float8,
    uptime_last_day float8, uptime_last_week float8, downtime_last_hour float8,
    downtime_last_day float8, downtime_last_week float8);
\\copy other_out FROM '$file' WITH (FORMAT csv)
CREATE TEMP TABLE diff AS
SELECT coalesce(o.store_id, r.store_id) AS store_id,
       o.store_id IS NULL AS only_in_report, r.store_id IS NULL AS only_in_${what// /_},
       o.uptime_last_hour AS ${x}uh, r.uptime_last_hour AS r_uh, o.uptime_last_day AS ${x}ud, r.uptime_last_day AS r_ud,
       o.uptime_last_week AS ${x}uw, r.uptime_last_week AS r_uw, o.downtime_last_hour AS ${x}dh, r.downtime_last_hour AS r_dh,
       o.downtime_last_day AS ${x}dd, r.downtime_last_day AS r_dd, o.downtime_last_week AS ${x}dw, r.downtime_last_week AS r_dw
FROM other_out o FULL JOIN store_monitoring.report_rows('$report_id') r ON r.store_id = o.store_id
WHERE o.store_id IS NULL OR r.store_id IS NULL
   OR NOT (abs(o.uptime_last_hour - r.uptime_last_hour) <= 1e-6
           AND abs(o.uptime_last_day - r.uptime_last_day) <= 1e-6
           AND abs(o.uptime_last_week - r.uptime_last_week) <= 1e-6
           AND abs(o.downtime_last_hour - r.downtime_last_hour) <= 1e-6
           AND abs(o.downtime_last_day - r.downtime_last_day) <= 1e-6
           AND abs(o.downtime_last_week - r.downtime_last_week) <= 1e-6);
SELECT count(*) || ' ' || (SELECT count(*) FROM other_out) FROM diff;
\\pset format aligned
\\pset tuples_only off
SELECT * FROM diff ORDER BY store_id LIMIT 10;
SQL
    )
    read -r n_mismatch n_rows <<<"$(head -n 1 <<<"$mismatches")"
    echo "  $what rows: $n_rows; stores that differ (any value by more than 1e-6, or missing): $n_mismatch"
    if ((n_mismatch != 0)); then
        echo "  first differing stores (${x} = $what, r_ = report_rows):" >&2
        tail -n +2 <<<"$mismatches" >&2
        echo "bench/run.sh: FAIL: $what and the extension disagree on $n_mismatch stores of $ds" >&2
        failed=1
    fi
}
for ds in "${dataset_list[@]}"; do
    res_mismatch[$ds]=-
    res_duckmismatch[$ds]=-
    if ((res_nplain[$ds] > 0)); then
        check_rows "$ds" "plain SQL" "$tmp/plain_$ds.csv" p_
        res_mismatch[$ds]=$n_mismatch
    fi
    if ((res_nduck[$ds] > 0)); then
        check_rows "$ds" DuckDB "$tmp/duckdb_$ds.csv" d_
        res_duckmismatch[$ds]=$n_mismatch
    fi
done
# Phase 3b: store_report() gave every sampled store the report's row, to
# the last bit, in every round (bench_store_report counted and kept the
# differences).
for ds in "${dataset_list[@]}"; do
    step "$ds: store_report() of ${res_nsample[$ds]} stores vs report_rows(), every round"
    echo "  store rows that differ (or are missing on one side), over all rounds: ${res_storediff[$ds]}"
    if [[ "${res_storediff[$ds]}" != 0 ]]; then
        echo "  first differences (report_rows, then store_report):" >&2
        psql_db "bench_$ds" -c "SELECT * FROM public.bench_store_diff ORDER BY round, store_id LIMIT 10" >&2
        echo "bench/run.sh: FAIL: store_report() and report_rows() disagree on ${res_storediff[$ds]} rows of $ds" >&2
        failed=1
    fi
done
# Phase 4: the extra weeks of a historyN data set lie outside the last hour
# and day, so those columns must equal public's exactly, store by store.
declare -A res_histcheck=()
if [[ -n "${seen_ds[public]:-}" ]]; then
    public_id=$(awk '$2 == "public" && $3 == "report" { print $10; exit }' "$results")
    psql_db bench_public -c "\\copy (SELECT store_id, uptime_last_hour, uptime_last_day, downtime_last_hour,
        downtime_last_day FROM store_monitoring.report_rows('$public_id')) TO '$tmp/public_rows.csv' WITH (FORMAT csv)"
    for ds in "${dataset_list[@]}"; do
        [[ "$ds" == history* || ( "$ds" == sealed* && $(weeks_of "$ds") != 1 ) ]] || continue
        report_id=$(awk -v ds="$ds" '$2 == ds && $3 == "report" { print $10; exit }' "$results")
        step "$ds: hour and day columns of report_rows('$report_id') vs public's"
        n_diff=$(psql_db "bench_$ds" -At <<SQL
CREATE TEMP TABLE public_rows (store_id text COLLATE "C", uh float8, ud float8, dh float8, dd float8);
\\copy public_rows FROM '$tmp/public_rows.csv' WITH (FORMAT csv)
SELECT count(*) FROM public_rows p FULL JOIN store_monitoring.report_rows('$report_id') r USING (store_id)
WHERE p.store_id IS NULL OR r.store_id IS NULL
   OR (p.uh, p.ud, p.dh, p.dd)
      IS DISTINCT FROM (r.uptime_last_hour, r.uptime_last_day, r.downtime_last_hour, r.downtime_last_day);
SQL
        )
        res_histcheck[$ds]=$n_diff
        echo "  stores whose hour or day columns differ (or missing on one side): $n_diff"
        if [[ "$n_diff" != 0 ]]; then
            echo "bench/run.sh: FAIL: $ds and public disagree on the last hour or day of $n_diff stores" >&2
            failed=1
        fi
    done
fi
# Phase 4b: a report over sealed polls gives the CSV of the same polls
# unsealed, byte for byte: sealed's is public's (or, without public, that
# of the report of its raw polls before sealing); sealedN's is historyN's
# when both ran. Each CSV is compared by md5 and length (of the warm-up
# reports: same T).
for ds in "${dataset_list[@]}"; do
    [[ "$ds" == sealed* ]] || continue
    weeks=$(weeks_of "$ds")
    ref= ref_from=
    if ((weeks == 1)) && [[ -n "${seen_ds[public]:-}" ]]; then
        ref=${res_csv[public]} ref_from=public
    elif ((weeks == 1)) && [[ -f "$tmp/csv_${ds}_raw.txt" ]]; then
        ref=$(cat "$tmp/csv_${ds}_raw.txt") ref_from="its raw polls before sealing"
    elif [[ -n "${seen_ds[history$weeks]:-}" ]]; then
        ref=${res_csv[history$weeks]} ref_from=history$weeks
    fi
    [[ -n "$ref" ]] || continue
    step "$ds: report CSV vs $ref_from's"
    if [[ "${res_asof[$ds]}" != "${res_asof[${ref_from%% *}]:-${res_asof[$ds]}}" ]]; then
        echo "bench/run.sh: FAIL: $ds's T (${res_asof[$ds]}) is not $ref_from's" >&2
        failed=1
    fi
    echo "  md5 and length: $ds ${res_csv[$ds]}; $ref_from $ref"
    if [[ "${res_csv[$ds]}" == "$ref" ]]; then
        res_csvcheck[$ds]="equal to $ref_from's"
    else
        res_csvcheck[$ds]="DIFFERS from $ref_from's"
        echo "bench/run.sh: FAIL: the report CSV of $ds differs from $ref_from's" >&2
        failed=1
    fi
done

# Phase 4c: where a report's time goes, from the worker's DEBUG1 lines: one
# more report (not measured) of public and of each sealed data set, with
# log_min_messages = debug1 for its database.
declare -A res_debug=()
for ds in "${dataset_list[@]}"; do
    [[ "$ds" == public || "$ds" == sealed* ]] || continue
    psql_db postgres -c "ALTER DATABASE bench_$ds SET log_min_messages = debug1"
    sleep 1  # a worker ending a report keeps the settings it started with
    debug_id=$(psql_db "bench_$ds" -At <<'SQL'
SELECT store_monitoring.trigger_report() AS id \gset
SELECT store_monitoring.wait_report(:'id', interval '3 hours') AS st \gset
SELECT :'id';
SQL
    )
    psql_db postgres -c "ALTER DATABASE bench_$ds RESET log_min_messages"
    res_debug[$ds]=$(grep -o "store_monitoring report $debug_id[: ].*" "$tmp/server.log" |
        sed "s/^store_monitoring report $debug_id:* *//" || true)
    step "$ds: the worker's DEBUG1 lines of report $debug_id"
    sed 's/^/  /' <<<"${res_debug[$ds]}"
done

for ds in "${dataset_list[@]}"; do psql_db postgres -c "DROP DATABASE bench_$ds"; done

# Phase 5: writes, when a sealed data set ran. Two more databases:
# bench_w_empty (no polls) and bench_w_sealed (the public polls, sealed in
# every round). Each round: in bench_w_sealed, the raw polls reloaded
# (TRUNCATE of store_status, sealed_polls and sealed_day, INSERT from an
# unlogged staging copy, VACUUM ANALYZE, CHECKPOINT) and compact_polls('0')
# timed in the server, then VACUUM ANALYZE; then, into an empty store_status
# of each database in turn (the order alternates from round to round), COPY
# of the public polls by 4 clients at once (the file split in 4, psql \copy
# each, wall time of all four) and single-row INSERTs by 4 pgbench clients
# (-c 4 -j 2, $write_secs s, one INSERT ... VALUES per transaction).
write_secs=10
declare -A res_write=()
write_raw=
if ((any_sealed)); then
    step "writes: $write_runs rounds of compact_polls('0'), COPY by 4 clients and single-row INSERTs by 4 pgbench clients"
    for db in bench_w_empty bench_w_sealed; do
        as_postgres "$PG_BIN/createdb" -h "$tmp" -p "$port" -U postgres "$db"
        psql_db "$db" -c 'CREATE EXTENSION store_monitoring'
    done
    load_csv bench_w_sealed "$polls_file_1" "store_monitoring.store_status(store_id, status, timestamp_utc)"
    psql_db bench_w_sealed -c 'CREATE UNLOGGED TABLE public.bench_polls AS
                               SELECT store_id, status, timestamp_utc FROM store_monitoring.store_status'
    write_polls=$(psql_db bench_w_sealed -At -c 'SELECT count(*) FROM public.bench_polls')
    tail -n +2 "$polls_file_1" >"$tmp/polls_body.csv"
    split -n l/4 -d "$tmp/polls_body.csv" "$tmp/polls_part."
    rm -f "$tmp/polls_body.csv"
    cat >"$tmp/insert_one.sql" <<'SQL'
\set k random(0, 14091)
INSERT INTO store_monitoring.store_status (store_id, status, timestamp_utc)
VALUES ((4000000000000000000 + :k::int8 * 123456789)::text, 'active', pg_catalog.clock_timestamp());
SQL
    ((EUID == 0)) && chown postgres: "$tmp"/polls_part.* "$tmp/insert_one.sql"
    echo "  $write_polls polls in 4 parts of $(wc -l <"$tmp/polls_part.00") to $(wc -l <"$tmp/polls_part.03") lines"
    wresults=$tmp/writes.txt
    : >"$wresults"
    for ((i = 1; i <= write_runs; i++)); do
        psql_db bench_w_sealed -c 'TRUNCATE store_monitoring.store_status, store_monitoring.sealed_polls,
                                            _store_monitoring_internal.sealed_day' \
            -c 'INSERT INTO store_monitoring.store_status SELECT * FROM public.bench_polls' \
            -c 'VACUUM ANALYZE store_monitoring.store_status' -c 'CHECKPOINT'
        out=$(compact_sql "write compact $i" | psql_db bench_w_sealed -At -F ' ' -f -)
        echo "$out" >>"$wresults"
        read -r _ _ _ _ ms n raw sealed <<<"$out"
        echo "  round $i: compact_polls('0') sealed $n polls in $ms ms ($(awk -v n="$n" -v ms="$ms" 'BEGIN { printf "%.0f", n / ms * 1000 }') polls/s)"
        if [[ "$n" != "$write_polls" || "$raw" != 0 ]]; then
            echo "bench/run.sh: FAIL: compact_polls('0') sealed $n of $write_polls polls, left $raw raw" >&2
            failed=1
        fi
        psql_db bench_w_sealed -c 'VACUUM ANALYZE store_monitoring.store_status, store_monitoring.sealed_polls,
                                                  _store_monitoring_internal.sealed_day' -c 'CHECKPOINT'
        if ((i % 2)); then states=(empty sealed); else states=(sealed empty); fi
        for st in "${states[@]}"; do
            db=bench_w_$st
            psql_db "$db" -c 'TRUNCATE store_monitoring.store_status' -c 'CHECKPOINT'
            started=$(date +%s%N)
            pids=()
            for part in "$tmp"/polls_part.0[0-3]; do
                psql_db "$db" -c "\\copy store_monitoring.store_status(store_id, status, timestamp_utc) FROM '$part' WITH (FORMAT csv)" &
                pids+=($!)
            done
            for pid in "${pids[@]}"; do wait "$pid" || { echo "bench/run.sh: a COPY client into $db failed" >&2; exit 1; }; done
            ms=$(awk -v a="$started" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e6 }')
            n=$(psql_db "$db" -At -c 'SELECT count(*) FROM store_monitoring.store_status')
            echo "RESULT write copy_$st $i $ms $n" >>"$wresults"
            echo "  round $i: COPY by 4 clients into $db: $n polls in $ms ms ($(awk -v n="$n" -v ms="$ms" 'BEGIN { printf "%.0f", n / ms * 1000 }') polls/s)"
            [[ "$n" == "$write_polls" ]] || { echo "bench/run.sh: FAIL: COPY left $n polls in $db, not $write_polls" >&2; failed=1; }
        done
        for st in "${states[@]}"; do
            db=bench_w_$st
            psql_db "$db" -c 'TRUNCATE store_monitoring.store_status' -c 'CHECKPOINT'
            tps=$(as_postgres "$PG_BIN/pgbench" -n -c 4 -j 2 -T "$write_secs" -f "$tmp/insert_one.sql" \
                -h "$tmp" -p "$port" -U postgres "$db" 2>"$tmp/pgbench.err" | awk '/^tps = / { print $3; exit }') ||
                { cat "$tmp/pgbench.err" >&2; exit 1; }
            [[ -n "$tps" ]] || { cat "$tmp/pgbench.err" >&2; echo "bench/run.sh: pgbench gave no tps" >&2; exit 1; }
            n=$(psql_db "$db" -At -c 'SELECT count(*) FROM store_monitoring.store_status')
            echo "RESULT write insert_$st $i $tps $n" >>"$wresults"
            echo "  round $i: single-row INSERTs by 4 pgbench clients into $db: $tps/s ($n rows in $write_secs s)"
        done
    done
    for k in compact copy_empty copy_sealed insert_empty insert_sealed; do
        case $k in
            compact | copy_*) res_write[$k]=$(awk -v k="$k" '$3 == k { printf "%.0f\n", $6 / $5 * 1000 }' "$wresults" | median 0) ;;
            insert_*) res_write[$k]=$(awk -v k="$k" '$3 == k { print $5 }' "$wresults" | median 0) ;;
        esac
        write_raw+="- ${k}: $(awk -v k="$k" '$3 == k { r = r (r == "" ? "" : ", ") ($3 ~ /^insert/ ? sprintf("%.0f/s", $5) : sprintf("%s polls in %s ms", $6, $5)) } END { print r }' "$wresults")"$'\n'
    done
    res_write[compact_ms]=$(awk '$3 == "compact" { print $5 }' "$wresults" | median)
    for db in bench_w_empty bench_w_sealed; do psql_db postgres -c "DROP DATABASE $db"; done
fi

# --- results ------------------------------------------------------------------

cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
mem_gb=$(awk '/^MemTotal/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo)
pg_version=$(as_postgres "$PG_BIN/postgres" --version)
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -n "$(git -C "$repo" status --porcelain -- src sql Makefile 2>/dev/null)" ]] && commit="$commit + uncommitted changes"
stamp=$(date -u +%Y-%m-%d-%H%M%S)
out_file=$repo/bench/results-$stamp.md

table() {
    echo "| data set | stores | polls | report ms | floor ms | plain SQL ms | DuckDB ms | report / floor | plain SQL / report | DuckDB / report | worker peak memory kB | bytes per report | get_report ms | report_status ms | get_report status ms | get_report status / report_status | store_report ms |"
    echo "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
    local ds
    for ds in "${dataset_list[@]}"; do
        printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$ds" \
            "$(fmt_int "${res_stores[$ds]}")" "$(fmt_int "${res_polls[$ds]}")" \
            "${res_report[$ds]}" "${res_floor[$ds]}" "${res_plain[$ds]}" "${res_duck[$ds]}" \
            "$(ratio "${res_report[$ds]}" "${res_floor[$ds]}")" \
            "$(ratio "${res_plain[$ds]}" "${res_report[$ds]}")" \
            "$(ratio "${res_duck[$ds]}" "${res_report[$ds]}")" \
            "$(fmt_int "${res_mem[$ds]%.*}")" "$(fmt_int "${res_bytes[$ds]}")" "${res_get[$ds]}" \
            "${res_status[$ds]}" "${res_getstatus[$ds]}" \
            "$(ratio "${res_getstatus[$ds]}" "${res_status[$ds]}" 0)" "${res_store[$ds]}"
    done
}
details() {
    echo "| data set | T (as_of) | runs (report, floor / plain SQL / DuckDB) | report: worker start ms | report: worker compute ms | plain SQL check: stores that differ | DuckDB check: stores that differ | calls per round (report_status, get_report status) | timer alone ms | store_report check: stores per round, rows that differ |"
    echo "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|"
    local ds
    for ds in "${dataset_list[@]}"; do
        printf '| %s | %s | %s / %s / %s | %s | %s | %s | %s | %s, %s | %s | %s, %s |\n' "$ds" "${res_asof[$ds]}" \
            "${res_nreport[$ds]}" "${res_nplain[$ds]}" "${res_nduck[$ds]}" "${res_start[$ds]}" "${res_compute[$ds]}" \
            "${res_mismatch[$ds]}" "${res_duckmismatch[$ds]}" \
            "$calls" "$get_calls" "${res_timer[$ds]}" "${res_nsample[$ds]}" "${res_storediff[$ds]}"
    done
    echo
    if [[ -n "$duck_version" ]]; then
        echo "DuckDB: $duck_version (@duckdb/node-api $duck_api, Node.js $duck_node), threads = 2, in memory;" \
            "the report's query until all its rows are in the client, after one unmeasured run."
        echo
    fi
    echo "Every run, in ms:"
    echo
    for ds in "${dataset_list[@]}"; do echo "- $ds: ${res_raw[$ds]}"; done
    echo
    echo "Load average (1, 5, 15 min) before -> after the measured runs: $load_before -> $load_after"
    echo
    echo "Data:"
    echo
    for ds in "${dataset_list[@]}"; do echo "- $ds: ${res_source[$ds]}"; done
}
sealed_table() {  # the reports over sealed polls
    local ds one
    one=${res_report[sealed]:-${res_report[sealed1]:--}}
    echo "| data set | weeks | polls sealed | report ms | raw floor ms (one core) | report / raw floor | report / public report | report / 1-week sealed report | worker peak memory kB | CSV check | raw floor from |"
    echo "|---|--:|--:|--:|--:|--:|--:|--:|--:|---|---|"
    for ds in "${dataset_list[@]}"; do
        [[ "$ds" == sealed* ]] || continue
        printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$ds" "$(weeks_of "$ds")" \
            "$(fmt_int "${res_sealed[$ds]}")" "${res_report[$ds]}" "${res_rawfloor[$ds]}" \
            "$(ratio "${res_report[$ds]}" "${res_rawfloor[$ds]}")" \
            "$(ratio "${res_report[$ds]}" "${res_report[public]:--}")" "$(ratio "${res_report[$ds]}" "$one")" \
            "$(fmt_int "${res_mem[$ds]%.*}")" \
            "${res_csvcheck[$ds]:-$( [[ $(weeks_of "$ds") != 1 ]] && echo "hour and day columns: $(hist_verdict "$ds")" || echo -)}" \
            "${res_rawfloor_from[$ds]}"
    done
}
storage_table() {  # DS: bytes on disk of the polls, raw (before sealing) and sealed (after VACUUM)
    local ds=$1
    echo "| part | raw: after load and VACUUM ANALYZE, bytes | sealed: after compact_polls('0') and VACUUM ANALYZE, bytes |"
    echo "|---|--:|--:|"
    awk -F'|' 'NR == FNR { raw[$1] = $2; if (!($1 in seen)) { order[++n] = $1; seen[$1] = 1 }; next }
        { sealed[$1] = $2; if (!($1 in seen)) { order[++n] = $1; seen[$1] = 1 } }
        END { for (i = 1; i <= n; i++) printf "%s|%s|%s\n", order[i], (order[i] in raw) ? raw[order[i]] : "-",
                  (order[i] in sealed) ? sealed[order[i]] : "-" }' \
        "$tmp/storage_${ds}_raw.txt" "$tmp/storage_${ds}_sealed.txt" |
        while IFS='|' read -r name raw sealed; do
            printf '| %s | %s | %s |\n' "$name" "$(fmt_int "$raw")" "$(fmt_int "$sealed")"
        done
    local traw tsealed
    traw=$(awk -F'|' '{ t += $2 } END { printf "%.0f\n", t }' "$tmp/storage_${ds}_raw.txt")
    tsealed=$(awk -F'|' '{ t += $2 } END { printf "%.0f\n", t }' "$tmp/storage_${ds}_sealed.txt")
    printf '| **total** (pg_total_relation_size of store_status + sealed_polls + sealed_day) | %s | %s |\n' \
        "$(fmt_int "$traw")" "$(fmt_int "$tsealed")"
    printf '| **bytes per poll** (total / %s polls) | **%s** | **%s** |\n' "$(fmt_int "${res_sealed[$ds]}")" \
        "$(ratio "$traw" "${res_sealed[$ds]}" 1)" "$(ratio "$tsealed" "${res_sealed[$ds]}" 1)"
    printf '| bytes per poll without store_status'"'"'s indexes | %s | %s |\n' \
        "$(ratio "$(awk -F'|' '$1 !~ /^store_status index/ { t += $2 } END { printf "%.0f\n", t }' "$tmp/storage_${ds}_raw.txt")" "${res_sealed[$ds]}" 1)" \
        "$(ratio "$(awk -F'|' '$1 !~ /^store_status index/ { t += $2 } END { printf "%.0f\n", t }' "$tmp/storage_${ds}_sealed.txt")" "${res_sealed[$ds]}" 1)"
}
writes_table() {
    echo "| measure ($write_runs rounds, medians) | no sealed polls | public polls sealed in the database | sealed / none | the issue's baseline |"
    echo "|---|--:|--:|--:|--:|"
    printf '| compact_polls('"'"'0'"'"') of the public polls (%s polls), polls/s | | %s (%s ms) | | |\n' \
        "$(fmt_int "$write_polls")" "$(fmt_int "${res_write[compact]}")" "${res_write[compact_ms]}"
    printf '| COPY of the public polls by 4 clients into an empty store_status, polls/s | %s | %s | %s | 190,000 |\n' \
        "$(fmt_int "${res_write[copy_empty]}")" "$(fmt_int "${res_write[copy_sealed]}")" \
        "$(ratio "${res_write[copy_sealed]}" "${res_write[copy_empty]}")"
    printf '| single-row INSERTs by 4 pgbench clients (%s s each), inserts/s | %s | %s | %s | 22,000 |\n' "$write_secs" \
        "$(fmt_int "${res_write[insert_empty]}")" "$(fmt_int "${res_write[insert_sealed]}")" \
        "$(ratio "${res_write[insert_sealed]}" "${res_write[insert_empty]}")"
}
hist_verdict() {
    if [[ "$1" == public ]]; then echo -
    elif [[ "${res_histcheck[$1]:-}" == 0 ]]; then echo yes
    else echo "NO (${res_histcheck[$1]:--})"; fi
}
curve() {  # report time against weeks of polls stored (1 = public)
    local ds weeks
    echo "| weeks stored | data set | polls | report ms | floor ms | report / public report | hour and day columns = public's |"
    echo "|--:|---|--:|--:|--:|--:|---|"
    for ds in public "${dataset_list[@]}"; do
        [[ "$ds" == public || "$ds" == history* ]] || continue
        [[ -n "${res_report[$ds]:-}" ]] || continue
        [[ "$ds" == public ]] && weeks=1 || weeks=${ds#history}
        printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$weeks" "$ds" "$(fmt_int "${res_polls[$ds]}")" \
            "${res_report[$ds]}" "${res_floor[$ds]}" "$(ratio "${res_report[$ds]}" "${res_report[public]:--}")" \
            "$(hist_verdict "$ds")"
    done | sort -t'|' -k2,2n -u
}
targets() {
    local p=public x=x10 verdict ds
    check() { if awk "BEGIN { exit !($1) }"; then verdict=met; else verdict=MISSED; fi; echo "- $2: $3 ($verdict)"; }
    if [[ -n "${res_report[$p]:-}" ]]; then
        check "${res_report[$p]} <= 0.8 * ${res_floor[$p]}" "public: report <= 0.8x its one-core floor" \
            "$(ratio "${res_report[$p]}" "${res_floor[$p]}")x"
        if [[ "${res_plain[$p]}" != - ]]; then
            check "${res_plain[$p]} >= 20 * ${res_report[$p]}" "public: report >= 20x faster than plain SQL" \
                "$(ratio "${res_plain[$p]}" "${res_report[$p]}")x"
        fi
        if [[ "${res_duck[$p]}" != - ]]; then
            check "${res_duck[$p]} >= 3 * ${res_report[$p]}" "public: DuckDB (2 threads, warm) >= 3x slower than the report" \
                "$(ratio "${res_duck[$p]}" "${res_report[$p]}")x"
        fi
    fi
    if [[ -n "${res_bytes[$p]:-}" ]]; then
        check "${res_bytes[$p]} <= 1.5 * 1024 * 1024" "public: one report <= 1.5 MB on disk" \
            "$(awk -v b="${res_bytes[$p]}" 'BEGIN { printf "%.2f MB", b / 1048576 }')"
        check "${res_get[$p]} <= 50" "public: get_report <= 50 ms" "${res_get[$p]} ms"
    fi
    if [[ -n "${res_store[$p]:-}" && "${res_store[$p]}" != - ]]; then
        check "${res_store[$p]} <= 2" "public: store_report median <= 2 ms" "${res_store[$p]} ms"
    fi
    if [[ -n "${res_report[$x]:-}" ]]; then
        check "${res_report[$x]} <= 0.8 * ${res_floor[$x]}" "x10: report <= 0.8x its one-core floor" \
            "$(ratio "${res_report[$x]}" "${res_floor[$x]}")x"
    fi
    if [[ -n "${res_report[$p]:-}" && -n "${res_report[$x]:-}" ]]; then
        check "${res_report[$x]} <= 11 * ${res_report[$p]}" "x10: report <= 11x its public time" \
            "$(ratio "${res_report[$x]}" "${res_report[$p]}")x"
    fi
    if [[ -n "${res_report[$p]:-}" && -n "${res_report[history12]:-}" ]]; then
        check "${res_report[history12]} <= 1.3 * ${res_report[$p]}" "history12: report <= 1.3x the public report" \
            "$(ratio "${res_report[history12]}" "${res_report[$p]}")x"
    fi
    if [[ -n "${res_report[$p]:-}" && -n "${res_report[novacuum]:-}" ]]; then
        check "${res_report[novacuum]} <= 2 * ${res_report[$p]}" \
            "novacuum: first report after a bulk load <= 2x a vacuumed (public) report" \
            "$(ratio "${res_report[novacuum]}" "${res_report[$p]}")x"
    fi
    local one=${res_report[sealed]:-${res_report[sealed1]:-}}
    if [[ -n "$one" && -n "${res_report[sealed12]:-}" ]]; then
        check "${res_report[sealed12]} <= 1.1 * $one" "sealed12: report <= 1.1x the 1-week sealed report" \
            "$(ratio "${res_report[sealed12]}" "$one")x"
    fi
    for ds in "${dataset_list[@]}"; do
        [[ "$ds" == sealed* && -n "${res_rawfloor[$ds]:-}" && "${res_rawfloor[$ds]}" != - ]] || continue
        check "${res_report[$ds]} <= 0.5 * ${res_rawfloor[$ds]}" "$ds: report <= 0.5x the raw one-core floor" \
            "$(ratio "${res_report[$ds]}" "${res_rawfloor[$ds]}")x"
    done
    for ds in "${dataset_list[@]}"; do
        [[ -f "$tmp/storage_${ds}_sealed.txt" ]] || continue
        local bytes
        bytes=$(awk -F'|' '{ t += $2 } END { printf "%.0f\n", t }' "$tmp/storage_${ds}_sealed.txt")
        check "$bytes <= 16 * ${res_sealed[$ds]}" \
            "$ds: bytes on disk per sealed poll, every poll relation and index, after a plain VACUUM <= 16" \
            "$(ratio "$bytes" "${res_sealed[$ds]}" 1)"
    done
    if [[ -n "${res_write[compact]:-}" ]]; then
        check "${res_write[compact]} >= 500000" "compaction >= 500k polls/s" "$(fmt_int "${res_write[compact]}") polls/s"
    fi
    if [[ -n "${res_write[copy_empty]:-}" ]]; then
        # "Not slower": within 10% (this shared machine's noise between two
        # figures of the same round is about that).
        check "${res_write[copy_sealed]} >= 0.9 * ${res_write[copy_empty]}" \
            "COPY into store_status with sealed polls present not slower (>= 0.9x) than without" \
            "$(ratio "${res_write[copy_sealed]}" "${res_write[copy_empty]}")x"
        check "${res_write[insert_sealed]} >= 0.9 * ${res_write[insert_empty]}" \
            "single-row INSERTs with sealed polls present not slower (>= 0.9x) than without" \
            "$(ratio "${res_write[insert_sealed]}" "${res_write[insert_empty]}")x"
        check "${res_write[copy_empty]} >= 190000" "COPY by 4 clients not lower than before sealed polls (190k polls/s)" \
            "$(fmt_int "${res_write[copy_empty]}") polls/s"
        check "${res_write[insert_empty]} >= 22000" \
            "single-row INSERTs by 4 clients not lower than before sealed polls (22k/s)" \
            "$(fmt_int "${res_write[insert_empty]}")/s"
    fi
    for ds in "${dataset_list[@]}"; do
        [[ "${res_mem[$ds]}" == - ]] && continue
        check "${res_mem[$ds]} < 256 * 1024" "$ds: worker peak memory < 256 MB" \
            "$(awk -v k="${res_mem[$ds]}" 'BEGIN { printf "%.1f MB", k / 1024 }')"
    done
}

{
    echo "# store_monitoring benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "\`bench/run.sh --datasets $datasets --runs $runs${plain_runs:+ --plain-runs $plain_runs}${calls_arg}${duck_arg}\`," \
        "commit $commit. Medians over interleaved runs in one cluster" \
        "(shared_buffers=$shared_buffers, work_mem=64MB, fsync=off, autovacuum=off); H = $h; T = the newest poll."
    echo
    echo "Machine: $(nproc) cores, $cpu, ${mem_gb} GB RAM; $pg_version; $(uname -sr)."
    echo
    table
    echo
    if [[ -n "${res_report[public]:-}" ]] && [[ " ${dataset_list[*]} " == *" history"* ]]; then
        echo "Report time against weeks of polls stored (same last week, same T):"
        echo
        curve
        echo
    fi
    if ((any_sealed)); then
        echo "Reports over sealed polls (every poll sealed by compact_polls('0'); the raw floor counts the same week's raw polls, one core):"
        echo
        sealed_table
        echo
        for ds in "${dataset_list[@]}"; do
            [[ "$ds" == sealed* ]] || continue
            echo "Polls on disk, $ds (compact_polls('0') took ${res_compact_ms[$ds]} ms for $(fmt_int "${res_sealed[$ds]}") polls," \
                "$(awk -v n="${res_sealed[$ds]}" -v ms="${res_compact_ms[$ds]}" 'BEGIN { printf "%.0f", n / ms * 1000 }') polls/s, once)." \
                "The DELETE of compact_polls() leaves store_status's indexes at their size: a plain VACUUM marks their emptied pages free for new entries but does not give them back (VACUUM FULL or REINDEX would):"
            echo
            storage_table "$ds"
            echo
        done
        echo "Writes (compact_polls timed in the server; COPY as the wall time of 4 \\copy clients at once; pgbench -c 4 -j 2, one INSERT ... VALUES per transaction, simple protocol; fsync = off):"
        echo
        writes_table
        echo
        echo "Every write round:"
        echo
        printf '%s' "$write_raw"
        echo
        for ds in "${dataset_list[@]}"; do
            [[ -n "${res_debug[$ds]:-}" ]] || continue
            echo "The worker's DEBUG1 lines of one more report of $ds (not measured):"
            echo
            echo '```'
            echo "${res_debug[$ds]}"
            echo '```'
            echo
        done
    fi
    echo "Targets (2 cores):"
    echo
    targets
    echo
    details
} >"$out_file"

step "results (also in bench/results-$stamp.md)"
cat "$out_file"
echo
echo "bench total: $(($(ms_now) - bench_start)) ms"
if ((failed)); then
    echo "bench/run.sh: FAILED (see above)" >&2
    exit 1
fi
