#!/usr/bin/env bash
# store_monitoring shards benchmark: one node against a
# coordinator with two shards, on the public data set, in one throwaway
# cluster (four databases: single, coord, shard1, shard2; the coordinator
# reaches its shards through postgres_fdw servers on the Unix socket).
#
#   bench/shards.sh [--runs N] [--load] [--load-runs N]
#
# The data are loaded once into `single` and once through the coordinator's
# partitioned tables (HASH (store_id), foreign partitions on the shards),
# the layout the README recommends. Each round then times, as a client sees
# it, a report on `single` and a report on `coord` (trigger_report() until
# wait_report() returns), interleaved, and checks that both CSVs are equal.
# The coordinator's own time is the time from the last shard report's end
# to the coordinator report's end: fetching the shards' rows, merging them,
# writing the result. All four databases share this machine's cores, so the
# shards compute side by side on them; docs/scale-out.md models real shards.
#
# --load (or --load-runs N, default 3) also measures loading the polls, each
# run every way in turn into emptied tables: COPY into one node (the
# baseline); `\copy` into the coordinator's partitioned table; COPY into an
# UNLOGGED staging table on the coordinator, then `INSERT ... SELECT` with the
# foreign servers' batch_size 1, 100, 1000, 10000; and the same staging
# table split by satisfies_hash_partition() and copied into each shard's
# own table (both shards at once). Every way must load the same rows (count
# and checksum per shard) and give a coordinator report whose CSV is the
# single node's. It adds about 4 minutes per run (2 cores, public data).
#
# Data: like bench/run.sh, ../shared/data (or $SHARED_DATA) with make_polls.py
# (cached in $BENCH_CACHE); without it, demo/generate_sample_data.sql.
# PG_CONFIG picks the PostgreSQL to install into and run (the script runs
# `make install` for it). Results: a table on stdout and in
# bench/results-shards-<date>.md.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../tools/common.sh
source "$repo/tools/common.sh"
PG_BIN=$("$PG_CONFIG" --bindir)

runs=5 load=0 load_runs=3
while (($#)); do
    case $1 in
        --load) load=1; shift ;;
        --load-runs) load=1 load_runs=${2:?--load-runs needs a value}; shift 2 ;;
        --load-runs=*) load=1 load_runs=${1#*=}; shift ;;
        --runs) runs=${2:?--runs needs a value}; shift 2 ;;
        --runs=*) runs=${1#*=}; shift ;;
        -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench/shards.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "bench/shards.sh: --runs must be a positive integer" >&2; exit 2; }
[[ "$load_runs" =~ ^[1-9][0-9]*$ ]] || { echo "bench/shards.sh: --load-runs must be a positive integer" >&2; exit 2; }

cache=${BENCH_CACHE:-/var/tmp/store_monitoring_bench}
shared=${SHARED_DATA:-$repo/../shared/data}
[[ -d "$shared" ]] && shared=$(cd "$shared" && pwd)
ms_now() { echo $(($(date +%s%N) / 1000000)); }
step() { printf '\n==> %s\n' "$*"; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
    if (NR % 2) printf "%.1f\n", v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

step "build and install the extension into $("$PG_CONFIG" --pkglibdir)"
make -s -C "$repo" -j2 PG_CONFIG="$PG_CONFIG"
as_root make -s -C "$repo" install PG_CONFIG="$PG_CONFIG"

step "throwaway cluster"
mkdir -p "$cache"
tmp=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/store_monitoring_shards.XXXXXX")
((EUID == 0)) && chown postgres: "$tmp"
chmod 700 "$tmp"
started_cluster=0
cleanup() {
    local rc=$?
    ((started_cluster)) && as_postgres "$PG_BIN/pg_ctl" -D "$tmp/data" -m immediate -w stop >/dev/null 2>&1
    rm -rf "$tmp"
    exit "$rc"
}
trap cleanup EXIT
cd "$tmp"
port=$(free_port)
as_postgres "$PG_BIN/initdb" -D "$tmp/data" -U postgres -A trust -E UTF8 --locale=C --no-sync >"$tmp/initdb.log"
started_cluster=1
as_postgres "$PG_BIN/pg_ctl" -D "$tmp/data" -l "$tmp/server.log" -w -s -o "-c listen_addresses='' \
    -c unix_socket_directories=$tmp -c port=$port -c shared_buffers=1GB -c work_mem=64MB \
    -c maintenance_work_mem=512MB -c fsync=off -c full_page_writes=off -c max_wal_size=8GB \
    -c autovacuum=off -c max_worker_processes=16" start
psql_db() {
    local db=$1
    shift
    as_postgres "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$tmp" -p "$port" -U postgres -d "$db" "$@"
}

# The three input files: public hours and zones plus make_polls.py's polls,
# or demo/generate_sample_data.sql's output.
step "data"
if [[ -f "$shared/make_polls.py" && -f "$shared/menu_hours.csv.xz" ]]; then
    dir=$cache/make_polls-$(sha256sum "$shared/make_polls.py" | cut -c1-12)
    polls=$dir/store_status-scale1-seed1.csv
    if [[ ! -s "$polls" ]]; then
        mkdir -p "$dir"
        python3 "$shared/make_polls.py" --scale 1 --seed 1 --out "$polls.tmp.$$"
        mv "$polls.tmp.$$" "$polls"
    fi
    hours=$shared/menu_hours.csv.xz
    zones=$shared/timezones.csv.xz
    source_note="public business hours and time zones, polls from make_polls.py --scale 1 --seed 1"
else
    dir=$cache/generated-$(sha256sum "$repo/demo/generate_sample_data.sql" | cut -c1-12)/stores14092-days8-seed1
    if [[ ! -s "$dir/store_status.csv" ]]; then
        as_postgres "$PG_BIN/createdb" -h "$tmp" -p "$port" -U postgres gen
        psql_db gen -c 'CREATE EXTENSION store_monitoring'
        psql_db gen -v stores=14092 -v days=8 -v seed=1 -f - <"$repo/demo/generate_sample_data.sql"
        mkdir -p "$dir"
        for f in business_hours store_timezone store_status; do
            psql_db gen -c "\\copy store_monitoring.$f TO pstdout WITH (FORMAT csv, HEADER true)" >"$dir/$f.csv"
        done
    fi
    polls=$dir/store_status.csv hours=$dir/business_hours.csv zones=$dir/store_timezone.csv
    source_note="demo/generate_sample_data.sql, 14,092 stores, 8 days"
fi
polls_file=$polls # $polls becomes their count below
copy_in() { # copy_in DB FILE TARGET
    if [[ "$2" == *.xz ]]; then xz -dc -- "$2"; else cat -- "$2"; fi |
        psql_db "$1" -c "\\copy $3 FROM pstdin WITH (FORMAT csv, HEADER true)"
}

for db in single coord shard1 shard2; do
    as_postgres "$PG_BIN/createdb" -h "$tmp" -p "$port" -U postgres "$db"
    psql_db "$db" -c 'CREATE EXTENSION store_monitoring'
done
t0=$(ms_now)
copy_in single "$hours" "store_monitoring.business_hours(store_id, day_of_week, start_time_local, end_time_local)"
copy_in single "$zones" "store_monitoring.store_timezone(store_id, timezone_str)"
copy_in single "$polls" "store_monitoring.store_status(store_id, status, timestamp_utc)"
echo "  single: loaded in $(($(ms_now) - t0)) ms"

psql_db coord <<SQL
CREATE EXTENSION postgres_fdw;
CREATE SERVER shard1 FOREIGN DATA WRAPPER postgres_fdw
    OPTIONS (host '$tmp', port '$port', dbname 'shard1', batch_size '1000');
CREATE SERVER shard2 FOREIGN DATA WRAPPER postgres_fdw
    OPTIONS (host '$tmp', port '$port', dbname 'shard2', batch_size '1000');
CREATE USER MAPPING FOR postgres SERVER shard1;
CREATE USER MAPPING FOR postgres SERVER shard2;
SELECT store_monitoring.add_shard('shard1'), store_monitoring.add_shard('shard2') \\g /dev/null
CREATE TABLE public.store_status (store_id text COLLATE "C" NOT NULL,
    status store_monitoring.poll_status NOT NULL, timestamp_utc timestamptz NOT NULL)
    PARTITION BY HASH (store_id);
CREATE TABLE public.business_hours (store_id text COLLATE "C" NOT NULL,
    day_of_week smallint NOT NULL, start_time_local time NOT NULL, end_time_local time NOT NULL)
    PARTITION BY HASH (store_id);
CREATE TABLE public.store_timezone (store_id text COLLATE "C" NOT NULL, timezone_str text NOT NULL)
    PARTITION BY HASH (store_id);
DO \$\$
DECLARE t text; s int;
BEGIN
    FOREACH t IN ARRAY ARRAY['store_status', 'business_hours', 'store_timezone'] LOOP
        FOR s IN 1..2 LOOP
            EXECUTE format('CREATE FOREIGN TABLE public.%I PARTITION OF public.%I
                FOR VALUES WITH (MODULUS 2, REMAINDER %s) SERVER %I
                OPTIONS (schema_name %L, table_name %L)',
                t || '_shard' || s, t, s - 1, 'shard' || s, 'store_monitoring', t);
        END LOOP;
    END LOOP;
END
\$\$;
SQL
t0=$(ms_now)
# Staged, then one INSERT ... SELECT per table: postgres_fdw sends its rows
# to the shards in batches of batch_size (COPY into a foreign partition
# would send them one by one on PostgreSQL 15).
psql_db coord -c 'CREATE UNLOGGED TABLE staging_hours (LIKE public.business_hours)' \
    -c 'CREATE UNLOGGED TABLE staging_zones (LIKE public.store_timezone)' \
    -c 'CREATE UNLOGGED TABLE staging_polls (LIKE public.store_status)'
copy_in coord "$hours" "staging_hours(store_id, day_of_week, start_time_local, end_time_local)"
copy_in coord "$zones" "staging_zones(store_id, timezone_str)"
copy_in coord "$polls" "staging_polls(store_id, status, timestamp_utc)"
psql_db coord -c 'INSERT INTO public.business_hours SELECT * FROM staging_hours' \
    -c 'INSERT INTO public.store_timezone SELECT * FROM staging_zones' \
    -c 'INSERT INTO public.store_status SELECT * FROM staging_polls' \
    -c 'DROP TABLE staging_hours, staging_zones, staging_polls'
echo "  coordinator: loaded through the partitioned tables in $(($(ms_now) - t0)) ms"
vacuum_all() {
    for db in single shard1 shard2; do
        psql_db "$db" -c 'VACUUM ANALYZE store_monitoring.store_status, store_monitoring.business_hours,
                          store_monitoring.store_timezone' -c CHECKPOINT
    done
}
vacuum_all
read -r stores polls < <(psql_db single -At -F ' ' -c "
    SELECT (SELECT count(*) FROM (SELECT store_id FROM store_monitoring.store_status
            UNION SELECT store_id FROM store_monitoring.business_hours
            UNION SELECT store_id FROM store_monitoring.store_timezone) s),
           (SELECT count(*) FROM store_monitoring.store_status)")
echo "  $stores stores, $polls polls ($source_note)"

# report DB -> "client_ms worker_ms id" (T = latest, default settings)
report() {
    psql_db "$1" -At -F ' ' <<'SQL'
SELECT pg_catalog.clock_timestamp() AS t0 \gset
SELECT store_monitoring.trigger_report() AS id \gset
SELECT store_monitoring.wait_report(:'id', interval '1 hour') AS st \gset
SELECT round(extract(epoch FROM pg_catalog.clock_timestamp() - :'t0'::timestamptz) * 1000, 1),
       round(extract(epoch FROM finished_at - started_at) * 1000, 1), report_id, status
FROM _store_monitoring_internal.report WHERE report_id = :'id';
SQL
}
# ms from the end of the last shard report to the end of coordinator report $1
coordinator_own_ms() {
    local shard_end
    shard_end=$(for s in shard1 shard2; do
        id=$(psql_db coord -At -c "SELECT shard_report_id FROM _store_monitoring_internal.shard_report
                                   WHERE report_id = '$1' AND server = '$s'")
        psql_db "$s" -At -c "SELECT extract(epoch FROM finished_at) FROM _store_monitoring_internal.report
                             WHERE report_id = '$id'"
    done | sort -g | tail -1)
    psql_db coord -At -c "SELECT round((extract(epoch FROM finished_at) - $shard_end) * 1000, 1)
                          FROM _store_monitoring_internal.report WHERE report_id = '$1'"
}
csv_of() { psql_db "$1" -At -c "SELECT csv FROM _store_monitoring_internal.report WHERE report_id = '$2'" | sha256sum; }

# The loading measure (--load): every way loads the same polls into emptied
# store_status tables, and must leave the same rows on each shard.
load_table=""
if ((load)); then
    step "loading the polls, $load_runs runs of every way"
    # fingerprint DB FROM-AND-WHERE -> "count checksum" (order-independent)
    fingerprint() {
        psql_db "$1" -At -F ' ' -c "SELECT count(*), coalesce(sum(hashtextextended(
            store_id || ' ' || status::text || ' ' || extract(epoch FROM timestamp_utc)::text, 0)), 0)
            FROM $2"
    }
    on_shard() { # on_shard N: the rows of shard N's partition, as the coordinator routes them
        echo "WHERE satisfies_hash_partition('public.store_status'::regclass, 2, $(($1 - 1)), store_id)"
    }
    expect_all=$(fingerprint single store_monitoring.store_status)
    read -r _ _ ref_id status < <(report single)
    [[ $status == Complete ]] || { echo "load: reference report $status" >&2; exit 1; }
    ref_csv=$(csv_of single "$ref_id")
    psql_db coord -c 'CREATE UNLOGGED TABLE load_polls (LIKE public.store_status)'
    expect_shard=()
    empty_shards() {
        for s in shard1 shard2; do psql_db "$s" -c 'TRUNCATE store_monitoring.store_status' -c CHECKPOINT; done
        psql_db coord -c CHECKPOINT
    }
    # check_fleet WAY: each shard holds exactly its rows, and a coordinator
    # report over the fleet completes with the single node's CSV.
    check_fleet() {
        for s in 1 2; do
            got=$(fingerprint "shard$s" store_monitoring.store_status)
            [[ "$got" == "${expect_shard[$s]}" ]] ||
                { echo "load, $1: shard$s holds $got, expected ${expect_shard[$s]}" >&2; exit 1; }
        done
        read -r _ _ cid cstatus < <(report coord)
        [[ $cstatus == Complete && "$(csv_of coord "$cid")" == "$ref_csv" ]] ||
            { echo "load, $1: coordinator report $cstatus, or its CSV differs from the single node's" >&2; exit 1; }
    }
    set_batch_size() {
        psql_db coord -c "ALTER SERVER shard1 OPTIONS (SET batch_size '$1')" \
            -c "ALTER SERVER shard2 OPTIONS (SET batch_size '$1')"
    }
    ways=(local copy_coord insert_1 insert_100 insert_1000 insert_10000 direct)
    declare -A load_ms=() this=()
    stage_ms=()
    for ((i = 1; i <= load_runs; i++)); do
        # (baseline) COPY into one node's own table
        psql_db single -c 'TRUNCATE store_monitoring.store_status' -c CHECKPOINT
        t0=$(ms_now)
        copy_in single "$polls_file" "store_monitoring.store_status(store_id, status, timestamp_utc)"
        this[local]=$(($(ms_now) - t0))
        [[ "$(fingerprint single store_monitoring.store_status)" == "$expect_all" ]] ||
            { echo "load, local: the single node's polls differ" >&2; exit 1; }
        read -r _ _ sid status < <(report single)
        [[ $status == Complete && "$(csv_of single "$sid")" == "$ref_csv" ]] ||
            { echo "load, local: report $status, or its CSV differs" >&2; exit 1; }

        # (a) \copy into the coordinator's partitioned table: row by row to the shards
        empty_shards
        t0=$(ms_now)
        copy_in coord "$polls_file" "public.store_status(store_id, status, timestamp_utc)"
        this[copy_coord]=$(($(ms_now) - t0))
        if ((i == 1)); then
            for s in 1 2; do expect_shard[s]=$(fingerprint "shard$s" store_monitoring.store_status); done
            read -r c1 _ <<<"${expect_shard[1]}"
            read -r c2 _ <<<"${expect_shard[2]}"
            read -r call _ <<<"$expect_all"
            ((c1 + c2 == call)) || { echo "load: shards hold $c1 + $c2 polls, not $call" >&2; exit 1; }
        fi
        check_fleet '\copy into the coordinator'

        # the staging table, filled once per run: the shards' rows are its rows
        psql_db coord -c 'TRUNCATE load_polls' -c CHECKPOINT
        t0=$(ms_now)
        copy_in coord "$polls_file" "load_polls(store_id, status, timestamp_utc)"
        stage_ms[i]=$(($(ms_now) - t0))
        [[ "$(fingerprint coord load_polls)" == "$expect_all" ]] ||
            { echo "load: the staging table's polls differ" >&2; exit 1; }
        for s in 1 2; do
            [[ "$(fingerprint coord "load_polls $(on_shard $s)")" == "${expect_shard[$s]}" ]] ||
                { echo "load: the coordinator routed other rows to shard$s than it selects" >&2; exit 1; }
        done

        # (b) INSERT ... SELECT from the staging table, batch_size per server
        for b in 1 100 1000 10000; do
            set_batch_size "$b"
            empty_shards
            t0=$(ms_now)
            psql_db coord -c 'INSERT INTO public.store_status SELECT * FROM load_polls'
            this[insert_$b]=$(($(ms_now) - t0 + stage_ms[i]))
            check_fleet "INSERT ... SELECT, batch_size $b"
        done
        set_batch_size 1000 # as the README sets it

        # (c) each shard's rows straight into its own table, both shards at once
        empty_shards
        t0=$(ms_now)
        pids=()
        for s in 1 2; do
            psql_db coord -c "\\copy (SELECT store_id, status, timestamp_utc FROM load_polls $(on_shard $s)) TO pstdout" |
                psql_db "shard$s" -c '\copy store_monitoring.store_status(store_id, status, timestamp_utc) FROM pstdin' &
            pids+=($!)
        done
        for p in "${pids[@]}"; do wait "$p"; done
        this[direct]=$(($(ms_now) - t0 + stage_ms[i]))
        check_fleet 'COPY into each shard'

        line="  load run $i (ms, from the file):"
        for w in "${ways[@]}"; do
            line+=" $w ${this[$w]}"
            load_ms[$w]+="${load_ms[$w]:+ }${this[$w]}"
        done
        echo "$line (staging ${stage_ms[$i]}); rows and reports equal"
    done
    psql_db coord -c 'DROP TABLE load_polls'
    read -r load_polls_n _ <<<"$expect_all"
    # shellcheck disable=SC2016 # backquotes for Markdown
    declare -A way_label=(
        [local]='one node: COPY into its `store_status` (baseline)'
        [copy_coord]='coordinator: `\copy` into the partitioned `store_status`'
        [insert_1]='coordinator: staging COPY, then `INSERT ... SELECT`, `batch_size` 1 (the default)'
        [insert_100]='the same, `batch_size` 100'
        [insert_1000]='the same, `batch_size` 1000'
        [insert_10000]='the same, `batch_size` 10000'
        [direct]='staging COPY on the coordinator, then `\copy (SELECT ... WHERE satisfies_hash_partition(...))` into each shard, both at once'
    )
    load_table="| way | seconds | polls/s | × baseline |
|---|--:|--:|--:|"
    # shellcheck disable=SC2086
    base=$(median ${load_ms[local]})
    for w in "${ways[@]}"; do
        # shellcheck disable=SC2086 # the runs' numbers, one word each
        m=$(median ${load_ms[$w]})
        load_table+=$'\n'"| ${way_label[$w]} | $(awk -v m="$m" 'BEGIN { printf "%.1f", m / 1000 }') | $(awk -v m="$m" -v n="$load_polls_n" 'BEGIN { printf "%.0f", n * 1000 / m }') | $(awk -v m="$m" -v b="$base" 'BEGIN { printf "%.2f", m / b }') |"
    done
    load_runs_text=""
    for w in "${ways[@]}"; do load_runs_text+="$w ${load_ms[$w]}; "; done
    load_runs_text+="staging COPY ${stage_ms[*]}"
    echo
    echo "$load_table"
    vacuum_all
fi

step "warm-up (not measured)"
read -r _ _ sid status < <(report single)
read -r _ _ cid cstatus < <(report coord)
[[ $status == Complete && $cstatus == Complete ]] || { echo "warm-up: $status / $cstatus" >&2; tail -20 "$tmp/server.log" >&2; exit 1; }

single_ms=() coord_ms=() own_ms=() single_worker=() coord_worker=() coord_kb=()
for ((i = 1; i <= runs; i++)); do
    read -r ms wms sid status < <(report single)
    single_ms+=("$ms") single_worker+=("$wms")
    read -r ms wms cid cstatus < <(report coord)
    coord_ms+=("$ms") coord_worker+=("$wms")
    own_ms+=("$(coordinator_own_ms "$cid")")
    # The coordinator worker's peak private memory (fetch, merge and write;
    # test/t/036_shards_merge_memory.pl gives it per store).
    coord_kb+=("$(psql_db coord -At -c "SELECT worker_memory_kb FROM _store_monitoring_internal.report
                                        WHERE report_id = '$cid'")")
    [[ $status == Complete && $cstatus == Complete ]] || { echo "run $i: $status / $cstatus" >&2; exit 1; }
    [[ "$(csv_of single "$sid")" == "$(csv_of coord "$cid")" ]] ||
        { echo "run $i: the coordinator's CSV differs from the single node's" >&2; exit 1; }
    echo "  run $i: single ${single_ms[-1]} ms, coordinator ${coord_ms[-1]} ms (own ${own_ms[-1]} ms), CSVs equal"
done
own=$(median "${own_ms[@]}")
per_store_us=$(awk -v ms="$own" -v n="$stores" 'BEGIN { printf "%.2f", ms * 1000 / n }')
result=$(cat <<EOF
| setup | stores | polls | report ms (client) | worker ms | coordinator's own ms | own µs per store | coordinator worker kB |
|---|--:|--:|--:|--:|--:|--:|--:|
| one node | $stores | $polls | $(median "${single_ms[@]}") | $(median "${single_worker[@]}") | | | |
| coordinator + 2 shards | $stores | $polls | $(median "${coord_ms[@]}") | $(median "${coord_worker[@]}") | $own | $per_store_us | $(median "${coord_kb[@]}") |
EOF
)
echo
echo "$result"
out=$repo/bench/results-shards-$(date -u +%Y-%m-%d-%H%M%S).md
{
    echo "# shards benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?')"
    echo
    echo "Data: $source_note. Medians of $runs runs; CSVs equal in every run; load average at the end below."
    echo
    echo "$result"
    echo
    echo "Runs (ms): single ${single_ms[*]}; coordinator ${coord_ms[*]}; coordinator's own ${own_ms[*]}"
    if ((load)); then
        echo
        echo "## Loading the $load_polls_n polls"
        echo
        echo "Each way into emptied \`store_status\` tables, from the CSV file (the staged ways include the staging COPY), medians of $load_runs runs; every way left the same rows on each shard (count and checksum) and a coordinator report with the single node's CSV. Both shards and the coordinator share this machine's $(nproc) cores."
        echo
        echo "$load_table"
        echo
        echo "Runs (ms): $load_runs_text"
    fi
    echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores"
} >"$out"
echo "written to $out"
