#!/usr/bin/env bash
# store_monitoring demo: installs what is missing, builds and installs the
# extension, starts a throwaway PostgreSQL 15 cluster, loads data, triggers a
# report, waits for it and prints it.
#
#   demo/run.sh          generated sample data (demo/generate_sample_data.sql:
#                        3,000 stores, 8 days of hourly polls)
#   demo/run.sh DIR      the public CSV files in DIR (plain or .xz):
#                          menu_hours.csv, timezones.csv, store_status.csv
#                        (also under the problem's original names). Without a
#                        poll file, DIR/make_polls.py writes a stand-in when
#                        python3 exists (about 40 s).
#
# Environment: DEMO_STORES, DEMO_DAYS, DEMO_SEED size the generated data.
#
# Fresh Debian 12, as root or as a user with sudo. The cluster lives in a
# temporary directory, listens only on a Unix socket in that directory and is
# removed on exit; no system service is touched. Exits non-zero unless the
# report ends Complete.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
data_dir=${1:-}
if [[ -n "$data_dir" ]]; then
    [[ -d "$data_dir" ]] || { echo "demo/run.sh: $data_dir is not a directory" >&2; exit 2; }
    data_dir=$(cd "$data_dir" && pwd)
fi

step() { printf '\n==> %s\n' "$*"; }
ms_now() { echo $(($(date +%s%N) / 1000000)); }
demo_start=$(ms_now)

if ((EUID == 0)); then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
else
    as_root=()
fi

step "dependencies (tools/install_deps.sh)"
"$repo/tools/install_deps.sh"
echo "ok"

pgbin=/usr/lib/postgresql/15/bin
pg_config=$pgbin/pg_config

step "build and install the extension"
make -s -C "$repo" -j2 PG_CONFIG="$pg_config"
"${as_root[@]}" make -s -C "$repo" install PG_CONFIG="$pg_config"
echo "installed into $("$pg_config" --pkglibdir)"

step "throwaway cluster"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/store_monitoring_demo.XXXXXX")
# As root, the cluster runs as the postgres user (initdb refuses root).
if ((EUID == 0)); then
    chown postgres: "$tmp"
    as_pg=(runuser -u postgres --)
else
    as_pg=()
fi
chmod 700 "$tmp"
cluster_started=0
cleanup() {
    local rc=$?
    if ((cluster_started)); then
        "${as_pg[@]}" "$pgbin/pg_ctl" -D "$tmp/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$tmp"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# Commands that run as postgres must not inherit an unreadable working directory.
cd "$tmp"

# A port nobody listens on (the server listens only on a socket in $tmp, but
# keep the port distinct anyway so that nothing can be confused with it).
port=
for ((try = 0; try < 200; try++)); do
    candidate=$((20000 + (RANDOM * 32768 + RANDOM + try) % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then
        port=$candidate
        break
    fi
done
[[ -n "$port" ]] || { echo "demo/run.sh: no free port found" >&2; exit 1; }

"${as_pg[@]}" "$pgbin/initdb" -D "$tmp/data" -U postgres -A trust -E UTF8 --locale=C \
    --no-sync >"$tmp/initdb.log" 2>&1 || { cat "$tmp/initdb.log" >&2; exit 1; }
cluster_started=1
"${as_pg[@]}" "$pgbin/pg_ctl" -D "$tmp/data" -l "$tmp/server.log" -w -s \
    -o "-c listen_addresses='' -k $tmp -p $port -c fsync=off" start ||
    { cat "$tmp/server.log" >&2; exit 1; }
echo "PostgreSQL 15 in $tmp (socket $tmp/.s.PGSQL.$port)"

psql_() {
    "${as_pg[@]}" "$pgbin/psql" -X -q -v ON_ERROR_STOP=1 -h "$tmp" -p "$port" -U postgres \
        -d store_monitoring_demo "$@"
}
"${as_pg[@]}" "$pgbin/createdb" -h "$tmp" -p "$port" -U postgres store_monitoring_demo

step "CREATE EXTENSION store_monitoring"
psql_ -c 'CREATE EXTENSION store_monitoring;'
psql_ -At -c "SELECT 'store_monitoring ' || extversion FROM pg_extension WHERE extname = 'store_monitoring'"

# find_input KIND NAME...: the first of DIR/NAME or DIR/NAME.xz that exists
find_input() {
    local name
    for name in "$@"; do
        if [[ -f "$data_dir/$name" ]]; then echo "$data_dir/$name"; return 0; fi
        if [[ -f "$data_dir/$name.xz" ]]; then echo "$data_dir/$name.xz"; return 0; fi
    done
    return 1
}
# load FILE TABLE(COLUMNS): \copy a CSV file with a header, decompressing .xz
load() {
    local file=$1 target=$2 started
    started=$(ms_now)
    if [[ "$file" == *.xz ]]; then
        xz -dc -- "$file"
    else
        cat -- "$file"
    fi | psql_ -c "\\copy $target FROM pstdin WITH (FORMAT csv, HEADER true)"
    echo "  $(basename -- "$file") -> ${target%%(*} ($(($(ms_now) - started)) ms)"
}

if [[ -z "$data_dir" ]]; then
    step "generated sample data (demo/generate_sample_data.sql)"
    psql_ -v stores="${DEMO_STORES:-3000}" -v days="${DEMO_DAYS:-8}" -v seed="${DEMO_SEED:-1}" \
        -f - <"$repo/demo/generate_sample_data.sql"
else
    step "public CSV files from $data_dir"
    hours_file=$(find_input menu_hours.csv "Menu hours.csv" bussinesshours.csv business_hours.csv) ||
        { echo "demo/run.sh: no menu_hours.csv(.xz) in $data_dir" >&2; exit 1; }
    tz_file=$(find_input timezones.csv bq-results-20230125-202210-1674678181880.csv store_timezone.csv) ||
        { echo "demo/run.sh: no timezones.csv(.xz) in $data_dir" >&2; exit 1; }
    if ! polls_file=$(find_input store_status.csv "store status.csv" Store_Status.csv status.csv); then
        if [[ -f "$data_dir/make_polls.py" ]] && command -v python3 >/dev/null 2>&1; then
            echo "no poll file (store_status.csv) in $data_dir: writing a stand-in with make_polls.py (~40 s)"
            started=$(ms_now)
            python3 "$data_dir/make_polls.py" --out "$tmp/store_status.csv"
            ((EUID == 0)) && chown postgres: "$tmp/store_status.csv"
            echo "  make_polls.py took $(($(ms_now) - started)) ms"
            polls_file=$tmp/store_status.csv
        elif polls_file=$(find_input store_status_head_sample.csv); then
            echo "WARNING: no poll file in $data_dir and no make_polls.py/python3:" \
                "loading the 7,015-row head sample (every row active, not the full data)" >&2
        else
            echo "demo/run.sh: no store_status.csv(.xz) in $data_dir" >&2
            exit 1
        fi
    fi
    load "$hours_file" "store_monitoring.business_hours(store_id, day_of_week, start_time_local, end_time_local)"
    load "$tz_file" "store_monitoring.store_timezone(store_id, timezone_str)"
    load "$polls_file" "store_monitoring.store_status(store_id, status, timestamp_utc)"
fi
# The report needs no VACUUM (it reads its evidence range in heap order);
# ANALYZE gives the planner the estimate that store_monitoring.range_read_memory
# compares, and the VACUUM sets the new rows' hint bits now, so that the timing
# below is that of a report, not of the first read after a bulk load.
psql_ -c 'VACUUM ANALYZE store_monitoring.store_status, store_monitoring.business_hours, store_monitoring.store_timezone'

step "loaded"
psql_ -P footer=off <<'SQL'
SELECT (SELECT count(*) FROM store_monitoring.store_status) AS polls,
       (SELECT count(DISTINCT store_id) FROM store_monitoring.store_status) AS polled_stores,
       (SELECT round(100.0 * count(*) FILTER (WHERE status = 'inactive') / greatest(count(*), 1), 1)
          FROM store_monitoring.store_status) AS inactive_pct,
       (SELECT count(*) FROM store_monitoring.business_hours) AS business_hours_rows,
       (SELECT count(DISTINCT store_id) FROM store_monitoring.business_hours) AS stores_with_hours,
       (SELECT count(*) FROM store_monitoring.store_timezone) AS timezone_rows,
       (SELECT count(*) FROM (SELECT store_id FROM store_monitoring.store_status
                              UNION SELECT store_id FROM store_monitoring.business_hours
                              UNION SELECT store_id FROM store_monitoring.store_timezone) s) AS known_stores,
       (SELECT max(timestamp_utc) FROM store_monitoring.store_status) AS latest_poll;
SQL

step "report"
result=$(psql_ -At -F ' ' <<'SQL'
SET TimeZone = 'UTC';
SELECT store_monitoring.trigger_report() AS id, pg_catalog.clock_timestamp() AS t0 \gset
SELECT store_monitoring.wait_report(:'id', interval '30 minutes') AS status \gset
SELECT :'id', :'status',
       round(extract(epoch FROM pg_catalog.clock_timestamp() - :'t0'::timestamptz) * 1000);
SQL
)
read -r report_id report_status elapsed_ms <<<"$result"
echo "report $report_id: $report_status after $elapsed_ms ms (trigger_report() to wait_report() = Complete)"

if [[ "$report_status" != "Complete" ]]; then
    echo "demo/run.sh: the report did not complete:" >&2
    psql_ -x -c "SELECT status, as_of, error FROM store_monitoring.get_report('$report_id')" >&2 || true
    echo "--- server log (last 30 lines) ---" >&2
    tail -n 30 "$tmp/server.log" >&2 || true
    exit 1
fi

psql_ -At -c "SELECT 'as of ' || as_of || ' (T)' FROM store_monitoring.get_report('$report_id')"
echo
echo "first 10 lines of the CSV:"
psql_ -At -c "SELECT array_to_string((string_to_array(csv, E'\\n'))[1:10], E'\\n')
               FROM store_monitoring.get_report('$report_id')"
echo
stores=$(psql_ -At -c "SELECT count(*) FROM store_monitoring.report_rows('$report_id')")
echo "stores in the report: $stores"
echo "report time: $elapsed_ms ms"
echo "demo total: $(($(ms_now) - demo_start)) ms"
