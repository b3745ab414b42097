// bench/run.sh's DuckDB runner: the store_monitoring report computed by
// DuckDB (its Node API, @duckdb/node-api, pinned in package-lock.json), from
// the same three tables, with the semantics of ../../bench/plain_sql_report.sql
// (interpolation = nearest). bench/run.sh checks its rows against the
// extension's report_rows().
//
// Serve mode (what bench/run.sh uses, as a coprocess): one DuckDB instance,
// 2 threads, in memory; commands on stdin, one tab-separated line each, one
// reply line on stdout each (messages go to stderr):
//   load DS DIR AS_OF H   load DIR/{store_status,business_hours,store_timezone}.csv
//                         (CSV with a header, as PostgreSQL's COPY writes them)
//                         into schema DS, then run DS's report once, untimed
//                         -> "loaded DS STORES LOAD_MS WARM_MS"
//   run DS ROUND FILE     one timed report of DS (the query until all its rows
//                         are in this client), then its rows written to FILE
//                         as CSV without a header (not timed)
//                         -> "RESULT DS duckdb ROUND MS ROWS"
//   version               -> "version DUCKDB NODE_API NODE", e.g.
//                         "version v1.5.6 1.5.6-r.1 v20.20.2"
// EOF on stdin ends it.
//
// Alone, for a look by hand:
//   node report.mjs DIR AS_OF [H] [RUNS] [OUT.csv]
import { DuckDBInstance } from '@duckdb/node-api';
import { createInterface } from 'node:readline';
import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const HOUR_US = 3600n * 1000000n;

// Every DuckDB setting that matters here, explicit: 2 threads (the machine's
// cores, as many as the report can use), no extension loaded from anywhere but
// the binary (ICU, for time zones, is linked in statically).
const instance = await DuckDBInstance.create(':memory:', {
    threads: '2',
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
});
const conn = await instance.connect();
await conn.run("SET threads = 2; SET TimeZone = 'UTC'");
const datasets = new Map();

const ident = (s) => {
    if (!/^[a-z][a-z0-9_]*$/.test(s)) throw new Error(`bad data set name ${JSON.stringify(s)}`);
    return `ds_${s}`;
};
const sqlString = (s) => `'${String(s).replaceAll("'", "''")}'`;

async function load(ds, dir, asOf, h) {
    const schema = ident(ds);
    const started = performance.now();
    const csv = (name) => sqlString(`${dir}/${name}.csv`);
    await conn.run(`
        DROP SCHEMA IF EXISTS ${schema} CASCADE;
        CREATE SCHEMA ${schema};
        CREATE TYPE ${schema}.poll_status AS ENUM ('active', 'inactive');
        CREATE TABLE ${schema}.store_status (store_id VARCHAR NOT NULL,
            status ${schema}.poll_status NOT NULL, timestamp_utc TIMESTAMPTZ NOT NULL);
        CREATE TABLE ${schema}.business_hours (store_id VARCHAR NOT NULL, day_of_week SMALLINT NOT NULL,
            start_time_local TIME NOT NULL, end_time_local TIME NOT NULL);
        CREATE TABLE ${schema}.store_timezone (store_id VARCHAR NOT NULL PRIMARY KEY,
            timezone_str VARCHAR NOT NULL);
        COPY ${schema}.store_status FROM ${csv('store_status')} (FORMAT csv, HEADER true);
        COPY ${schema}.business_hours FROM ${csv('business_hours')} (FORMAT csv, HEADER true);
        COPY ${schema}.store_timezone FROM ${csv('store_timezone')} (FORMAT csv, HEADER true);
        CHECKPOINT;`);
    const loadMs = performance.now() - started;
    // T and H as microseconds, the evidence range's start, and the local
    // dates whose shifts can reach into it (as the plain SQL takes them).
    const p = (
        await conn.runAndReadAll(
            `SELECT epoch_us(t) AS t_us, epoch_us(TIMESTAMP '1970-01-01' + h) AS h_us,
                    (t - h - INTERVAL 168 HOURS)::VARCHAR AS lo,
                    ((t - h - INTERVAL 168 HOURS)::TIMESTAMP::DATE - 2)::VARCHAR AS date_lo,
                    (t::TIMESTAMP::DATE + 1)::VARCHAR AS date_hi
             FROM (SELECT CAST($1 AS TIMESTAMPTZ) AS t, CAST($2 AS INTERVAL) AS h)`,
            [asOf, h],
        )
    ).getRowObjects()[0];
    const sql = reportSql(schema, {
        t: BigInt(p.t_us),
        h: BigInt(p.h_us),
        tText: asOf,
        lo: String(p.lo),
        dateLo: String(p.date_lo),
        dateHi: String(p.date_hi),
    });
    datasets.set(ds, sql);
    const warmStarted = performance.now();
    const rows = (await conn.runAndReadAll(sql)).currentRowCount;
    return { rows, loadMs, warmMs: performance.now() - warmStarted };
}

// The report in DuckDB SQL. Instants are microseconds since the epoch
// (BIGINT), so every length is exact; local times become instants with ICU's
// timezone(zone, timestamp), which resolves skipped and repeated local times
// as PostgreSQL's AT TIME ZONE does (see plain_sql_report.sql's header: the
// same departures from the spec around daylight-saving changes).
function reportSql(s, { t, h, tText, lo, dateLo, dateHi }) {
    const loUs = t - 168n * HOUR_US - h;
    const win = [
        ['h', t - HOUR_US],
        ['d', t - 24n * HOUR_US],
        ['w', t - 168n * HOUR_US],
    ];
    const overlap = (from, to, start) => `greatest(0, least(${to}, ${t}) - greatest(${from}, ${start}))`;
    return `
WITH
-- Every store known to any of the three tables.
stores AS (
    SELECT store_id FROM ${s}.store_status
    UNION SELECT store_id FROM ${s}.business_hours
    UNION SELECT store_id FROM ${s}.store_timezone
),
-- Local calendar dates whose shifts can reach into [T - 168 h - H, T].
local_dates AS (
    SELECT d::DATE AS d, isodow(d::DATE) - 1 AS day_of_week  -- 0 = Monday
    FROM generate_series(DATE '${dateLo}', DATE '${dateHi}', INTERVAL 1 DAY) g(d)
),
-- Every business-hours row on every matching local date, in local time.
local_shifts AS (
    SELECT bh.store_id, coalesce(tz.timezone_str, 'America/Chicago') AS tz,
           ld.d + bh.start_time_local AS opens_local,
           CASE WHEN bh.end_time_local >= TIME '23:59:00' THEN (ld.d + 1)::TIMESTAMP  -- until midnight
                WHEN bh.end_time_local > bh.start_time_local THEN ld.d + bh.end_time_local
                ELSE (ld.d + 1) + bh.end_time_local                                  -- overnight
           END AS closes_local
    FROM ${s}.business_hours bh
    LEFT JOIN ${s}.store_timezone tz ON tz.store_id = bh.store_id
    JOIN local_dates ld ON ld.day_of_week = bh.day_of_week
),
-- Each distinct local time of each zone as an instant, converted once: with
-- a zone that changes from row to row, timezone() costs about 1.5 us a row
-- (ICU looks the zone up each time), which on 270,000 shift ends was 1.2 s
-- of a 1.8 s query; there are about 10,000 distinct ones.
instants AS (
    SELECT tz, lt, epoch_us(timezone(tz, lt)) AS us
    FROM (SELECT tz, opens_local AS lt FROM local_shifts UNION SELECT tz, closes_local FROM local_shifts)
),
shifts AS (
    SELECT ls.store_id, o.us AS opens, c.us AS closes
    FROM local_shifts ls
    JOIN instants o ON o.tz = ls.tz AND o.lt = ls.opens_local
    JOIN instants c ON c.tz = ls.tz AND c.lt = ls.closes_local
),
-- Open time as disjoint intervals [opens, closes): each store's shifts with
-- overlaps merged (gaps and islands); a store without any business-hours row
-- is open all the time, so one interval over the whole evidence range.
open_iv AS (
    SELECT store_id, min(opens) AS opens, max(closes) AS closes
    FROM (
        SELECT store_id, opens, closes,
               sum(starts_island::INTEGER) OVER (PARTITION BY store_id ORDER BY opens, closes
                                                 ROWS UNBOUNDED PRECEDING) AS island
        FROM (
            SELECT store_id, opens, closes,
                   coalesce(opens > max(closes) OVER (PARTITION BY store_id ORDER BY opens, closes
                                                      ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING),
                            true) AS starts_island
            FROM shifts WHERE opens < closes
        )
    )
    GROUP BY store_id, island
    UNION ALL
    SELECT store_id, ${loUs} AS opens, ${t + 1n} AS closes
    FROM stores ANTI JOIN ${s}.business_hours bh ON bh.store_id = stores.store_id
),
-- The polls of the evidence range.
polls AS (
    SELECT store_id, epoch_us(timestamp_utc) AS ts, status
    FROM ${s}.store_status
    WHERE timestamp_utc >= TIMESTAMPTZ '${lo}' AND timestamp_utc <= TIMESTAMPTZ '${tText}'
),
-- Evidence: those taken while the store was open (inside one of its
-- disjoint open intervals; a band join, which took 0.29 s here against 0.51 s
-- for an ASOF JOIN on the interval that opens last before the poll); one per
-- instant, inactive wins.
evidence AS (
    SELECT p.store_id, p.ts, bool_and(p.status = 'active') AS active
    FROM polls p JOIN open_iv o ON o.store_id = p.store_id AND p.ts >= o.opens AND p.ts < o.closes
    GROUP BY p.store_id, p.ts
),
-- Nearest poll within H: each evidence poll holds from the midpoint with its
-- predecessor to the midpoint with its successor, at most H either side.
active_segments AS (
    SELECT store_id, seg_from, seg_to
    FROM (
        SELECT store_id, active,
               greatest(ts - ${h}, (lag(ts) OVER w + ts) // 2) AS seg_from,
               least(ts + ${h}, (ts + lead(ts) OVER w) // 2) AS seg_to
        FROM evidence
        WINDOW w AS (PARTITION BY store_id ORDER BY ts)
    )
    WHERE active AND seg_from < seg_to AND seg_to > ${win[2][1]} AND seg_from < ${t}
),
-- Microseconds of active open time in each window.
up AS (
    SELECT a.store_id,
           ${win.map(([n, start]) => `sum(${overlap('greatest(a.seg_from, o.opens)', 'least(a.seg_to, o.closes)', start)}) AS up_${n}`).join(',\n           ')}
    FROM active_segments a
    JOIN open_iv o ON o.store_id = a.store_id AND o.opens < a.seg_to AND a.seg_from < o.closes
    GROUP BY a.store_id
),
-- Microseconds of open time in each window.
open_w AS (
    SELECT store_id,
           ${win.map(([n, start]) => `sum(${overlap('opens', 'closes', start)}) AS open_${n}`).join(',\n           ')}
    FROM open_iv WHERE closes > ${win[2][1]} AND opens < ${t}
    GROUP BY store_id
)
SELECT st.store_id,
       coalesce(up_h, 0) / 60e6 AS uptime_last_hour,
       coalesce(up_d, 0) / 3600e6 AS uptime_last_day,
       coalesce(up_w, 0) / 3600e6 AS uptime_last_week,
       (coalesce(open_h, 0) - coalesce(up_h, 0)) / 60e6 AS downtime_last_hour,
       (coalesce(open_d, 0) - coalesce(up_d, 0)) / 3600e6 AS downtime_last_day,
       (coalesce(open_w, 0) - coalesce(up_w, 0)) / 3600e6 AS downtime_last_week
FROM stores st
LEFT JOIN open_w USING (store_id)
LEFT JOIN up USING (store_id)
ORDER BY st.store_id`;
}

const csvField = (v) => {
    const s = String(v);
    return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
};

async function run(ds, file) {
    const sql = datasets.get(ds);
    if (sql === undefined) throw new Error(`data set ${ds} is not loaded`);
    const started = performance.now();
    const reader = await conn.runAndReadAll(sql);
    const ms = performance.now() - started;
    // Numbers print as the shortest text that reads back to the same double.
    const lines = reader.getRows().map((row) => row.map(csvField).join(','));
    writeFileSync(file, lines.length ? lines.join('\n') + '\n' : '');
    return { ms, rows: lines.length };
}

async function versions() {
    const duckdb = (await conn.runAndReadAll('SELECT version()')).getRows()[0][0];
    const api = JSON.parse(
        readFileSync(new URL('./node_modules/@duckdb/node-api/package.json', import.meta.url), 'utf8'),
    ).version;
    return `${duckdb} ${api} ${process.version}`;
}

const median = (xs) => {
    const v = [...xs].sort((a, b) => a - b);
    return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};

if (process.argv[2] === '--serve') {
    const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
    for await (const line of lines) {
        const [cmd, ...args] = line.split('\t');
        let reply;
        try {
            if (cmd === 'load' && args.length === 4) {
                const r = await load(...args);
                reply = `loaded ${args[0]} ${r.rows} ${r.loadMs.toFixed(1)} ${r.warmMs.toFixed(1)}`;
            } else if (cmd === 'version' && args.length === 0) {
                reply = `version ${await versions()}`;
            } else if (cmd === 'run' && args.length === 3) {
                const r = await run(args[0], args[2]);
                reply = `RESULT ${args[0]} duckdb ${args[1]} ${r.ms.toFixed(1)} ${r.rows}`;
            } else {
                throw new Error(`unknown command ${JSON.stringify(line)}`);
            }
        } catch (e) {
            console.error(`bench/duckdb/report.mjs: ${e.message}`);
            reply = `error ${cmd}`;
        }
        process.stdout.write(reply + '\n');
    }
} else {
    const [dir, asOf, h = '2 hours', runs = '3', out = '/dev/null'] = process.argv.slice(2);
    if (!dir || !asOf) {
        console.error('usage: node report.mjs --serve | node report.mjs DIR AS_OF [H] [RUNS] [OUT.csv]');
        process.exit(2);
    }
    const r = await load('manual', dir, asOf, h);
    console.log(`loaded ${r.rows} stores in ${r.loadMs.toFixed(1)} ms; warm-up run ${r.warmMs.toFixed(1)} ms`);
    const times = [];
    for (let i = 1; i <= Number(runs); i++) {
        const { ms, rows } = await run('manual', out);
        times.push(ms);
        console.log(`run ${i}: ${ms.toFixed(1)} ms, ${rows} rows`);
    }
    const [duckdb, api] = (await versions()).split(' ');
    console.log(`median: ${median(times).toFixed(1)} ms (DuckDB ${duckdb}, @duckdb/node-api ${api}, threads = 2)`);
}
conn.closeSync();
instance.closeSync();
