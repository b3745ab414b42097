#!/usr/bin/env bash
# store_monitoring shards benchmark: one node against a
# coordinator with two shards, on the public data set, in one throwaway
# cluster (four databases: single, coord, shard1, shard2; the coordinator
# reaches its shards through postgres_fdw servers on the Unix socket).
#
#   bench/shards.sh [--runs N]
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

runs=5
while (($#)); do
    case $1 in
        --runs) runs=${2:?--runs needs a value}; shift 2 ;;
        --runs=*) runs=${1#*=}; shift ;;
        -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench/shards.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "bench/shards.sh: --runs must be a positive integer" >&2; exit 2; }

cache=${BENCH_CACHE:-/var/tmp/store_monitoring_bench}
shared=${SHARED_DATA:-$repo/../shared/data}
[[ -d "$shared" ]] && shared=$(cd "$shared" && pwd)
ms_now() { echo $(($(date +%s%N) / 1000000)); }
step() { printf '\n==> %s\n' "$*"; }

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
for db in single shard1 shard2; do
    psql_db "$db" -c 'VACUUM ANALYZE store_monitoring.store_status, store_monitoring.business_hours,
                      store_monitoring.store_timezone' -c CHECKPOINT
done
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
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
    if (NR % 2) printf "%.1f\n", v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
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
    echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores"
} >"$out"
echo "written to $out"
