# The store-order read split across processes in key ranges of store_id
# (src/pg/read/parallel_store_order_read.cpp) gives the report the serial
# store-order read gives, byte for byte, also with stores known only from
# business hours or a time-zone row on either side of every cut. The cuts
# come from the statistics of store_id: without them, or with no parallel
# worker for the table, one process reads. The log shows which read ran and
# how many stores each participant computed. A bad row in a range ends the
# report with the serial read's error for it.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use StoreMonitoringTest;

# range_read_memory = 0: every report reads in store order.
my $node = new_node(
	'read_parallel_store_order',
	conf => [
		'log_min_messages = debug1', 'max_parallel_workers_per_gather = 2',
		'min_parallel_table_scan_size = 0', 'max_parallel_workers = 8',
		'autovacuum = off', 'store_monitoring.range_read_memory = 0'
	]);
load_data($node, 1000, hours => 200);

# Stores with no poll right below and right at or above every histogram
# bound: each lands in the range that holds it (a cut at a bound b sends
# b to the upper range; left(b, -1) sorts just below it).
$node->safe_psql('postgres', q{
CREATE TEMP TABLE bounds AS
SELECT DISTINCT b FROM pg_catalog.pg_stats,
    unnest(histogram_bounds::text::text[]) b
WHERE schemaname = 'store_monitoring' AND tablename = 'store_status' AND attname = 'store_id';
INSERT INTO store_monitoring.business_hours
SELECT left(b, -1) || 'h', 2, time '08:00', time '20:00' FROM bounds
UNION SELECT left(b, -1), 3, time '09:00', time '17:00' FROM bounds;
INSERT INTO store_monitoring.store_timezone
SELECT b || '-z', 'Asia/Tokyo' FROM bounds UNION SELECT left(b, -1) || 'z', 'UTC' FROM bounds;
ANALYZE store_monitoring.business_hours, store_monitoring.store_timezone;
});
is($node->safe_psql('postgres', q{
SELECT count(*) FROM store_monitoring.store_status s
WHERE s.store_id LIKE '%h' OR s.store_id LIKE '%z' OR length(s.store_id) <> 5}),
	'0', 'the stores added have no polls');
cmp_ok($node->safe_psql('postgres', q{
SELECT count(*) FROM store_monitoring.business_hours h
WHERE NOT EXISTS (SELECT FROM store_monitoring.store_status s WHERE s.store_id = h.store_id)}),
	'>', 100, '... stores of business hours only, at every bound');

my $split_line = qr/read in store order split in (\d+) key ranges, (\d+) parallel workers launched, stores per participant, this process first: ([0-9, ]+); polls per participant: ([0-9, ]+); (\d+) stores/;
my $serial_line = qr/polls read in store order [0-9.]+ ms \(not split: ([^)]+)\)/;

# Triggers a report; returns its CSV and the log's text of its read.
sub report_and_log
{
	my ($line) = @_;
	my $offset = -s $node->logfile;
	my $id = trigger($node);
	is(wait_report($node, $id), 'Complete', 'the report completes');
	$node->wait_for_log(qr/$split_line|$serial_line/, $offset);
	return (report_csv($node, $id), slurp_file($node->logfile, $offset));
}

sub sum { my $total = 0; $total += $_ for @_; return $total; }

my $stores = store_count($node);
my ($split_csv, $log) = report_and_log();
my ($ranges, $launched, $per_stores, $per_polls, $total) = $log =~ $split_line
  or fail('the split store-order read ran');
is($ranges, 3, 'statistics: the store-order read is cut in 3 key ranges (1 + 2 workers)');
cmp_ok($launched, '>=', 1, "parallel workers take part ($launched launched)");
my @stores = split /, /, $per_stores;
is(scalar @stores, $launched + 1, 'the log counts the stores of every participant');
is(sum(@stores), $stores, '... which add up to every store known to any input');
is($total, $stores, '... as the report holds');
is(scalar(() = $split_csv =~ /\n/g), $stores + 1, 'the CSV has its header and a line per store');

# The ranges' statement keeps the covering index's index-only scan.
like($node->safe_psql('postgres', q{
EXPLAIN SELECT s.store_id, s.timestamp_utc, s.status FROM store_monitoring.store_status s
WHERE s.store_id COLLATE pg_catalog."C" >= '00300' AND s.store_id COLLATE pg_catalog."C" < '00600'
ORDER BY s.store_id COLLATE pg_catalog."C", s.timestamp_utc}),
	qr/Index Only Scan using/, 'a key range is an index-only scan of the covering index');

set_conf($node, 'max_parallel_workers' => '0');
(my $csv, $log) = report_and_log();
is(($log =~ $serial_line)[0], 'no parallel worker slot free',
	'no worker slot free: one process reads, as before');
is($csv, $split_csv, '... with the same report, byte for byte');
set_conf($node, 'max_parallel_workers' => '8');

set_conf($node, 'max_parallel_workers_per_gather' => '0');
($csv, $log) = report_and_log();
like($log, $serial_line, 'max_parallel_workers_per_gather = 0: one process reads');
is(($log =~ $serial_line)[0], 'no parallel worker for the table', '... and says why');
is($csv, $split_csv, 'the split and the serial read give the same report, byte for byte');
set_conf($node, 'max_parallel_workers_per_gather' => '2');

$node->safe_psql('postgres',
	q{DELETE FROM pg_catalog.pg_statistic WHERE starelid = 'store_monitoring.store_status'::regclass});
($csv, $log) = report_and_log();
is(($log =~ $serial_line)[0], 'no statistics of store_id to cut it in key ranges',
	'no statistics: one process reads');
is($csv, $split_csv, '... with the same report, byte for byte');
$node->safe_psql('postgres', 'ANALYZE store_monitoring.store_status');

# Progress counts the stores of every participant: held computed and not
# committed (the pause at "writing"), the split report shows all of them.
set_conf($node,
	'store_monitoring.debug_pause_point' => 'writing',
	'store_monitoring.debug_worker_delay' => 600_000);
my $offset = -s $node->logfile;
my $paused = trigger($node);
ok(defined wait_for_pause_point($node, $paused, 'writing'), 'a split report computed, paused');
like(slurp_file($node->logfile, $offset), qr/read in store order split in 3 key ranges/,
	'... by the split read');
is($node->safe_psql('postgres',
		"SELECT concat_ws('|', stores_done, stores_total) FROM store_monitoring.list_reports() "
		  . "WHERE report_id = '$paused'"),
	"$stores|$stores", '... its progress: every store of every range done');
$node->safe_psql('postgres', "SELECT store_monitoring.cancel_report('$paused')");
ok(poll_until($node,
		"SELECT status FROM store_monitoring.list_reports() WHERE report_id = '$paused'",
		'Failed'), '... and canceled');
set_conf($node, 'store_monitoring.debug_worker_delay' => 0);

# A bad row in the last range (a worker's, unless the report's process
# claims it): the default table refuses it, so its check is dropped.
$node->safe_psql('postgres', q{
ALTER TABLE store_monitoring.business_hours DROP CONSTRAINT day_of_week_is_0_monday_to_6_sunday;
INSERT INTO store_monitoring.business_hours VALUES ('00998', 9, '08:00', '20:00');
});
$offset = -s $node->logfile;
my $id = trigger($node);
is(wait_report($node, $id), 'Failed', 'a bad row in a range: the report fails');
$node->wait_for_log(qr/day_of_week "9"/, $offset);
$log = slurp_file($node->logfile, $offset);
like($log, qr/reading in store order in 3 key ranges/, '... in the split read');
my ($bad_pid) = $log =~ /\[(\d+)\] ERROR:  bad row in/;
like($log, qr/background worker "parallel worker" \(PID $bad_pid\) exited with exit code 1/,
	'... found by a parallel worker');
is($node->safe_psql('postgres',
		"SELECT error FROM store_monitoring.list_reports() WHERE report_id = '$id'"),
	q{bad row in store_monitoring.business_hours for store "00998": day_of_week "9" is not 0 (Monday) to 6 (Sunday); store_monitoring.check_sources() lists every bad row},
	'... naming the row, as the serial read does');
set_conf($node, 'max_parallel_workers_per_gather' => '0');
$id = trigger($node);
is(wait_report($node, $id), 'Failed', 'the serial read fails too ...');
is($node->safe_psql('postgres',
		"SELECT error FROM store_monitoring.list_reports() WHERE report_id = '$id'"),
	q{bad row in store_monitoring.business_hours for store "00998": day_of_week "9" is not 0 (Monday) to 6 (Sunday); store_monitoring.check_sources() lists every bad row},
	'... with the same error');

$node->stop;
done_testing();
