# The worker's memory grows with the stores by a bounded number of bytes per
# store (a 1M-store report stays under 256 MB). Without timing:
# worker_memory_kb (the worker's peak private memory) of a report on N
# stores, less that of a report on one store (the process's own memory),
# divided by N, stays under a bound per store, for both reads of the polls:
#   - store order (store_monitoring.range_read_memory = 0): the polls are not
#     held, so the bound covers the held hours, zones and stored result;
#   - range, heap order (the default, within range_read_memory): the polls
#     of the evidence range are held too (PollGroups: 8 bytes each in
#     128-byte blocks of 15 per store).
# The bounds sit between what the compact tables and stored form take and
# what the former std::string-and-vector-per-store inputs plus rows-and-CSV
# result took (bench/README.md, "Memory of a 1M-store report").
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use StoreMonitoringTest;

my $stores = 100000;
my $node = new_node('memory', conf => ['log_min_messages = debug1', 'autovacuum = off']);

# Bytes per store a report's worker may hold beyond a one-store report's. The
# former inputs and result took about 600 (store order) and 950 (range)
# here; the compact ones about 110 and 450.
my $order_bound = 300;
my $range_bound = 650;

# What a report's worker held at most (kB), its store count, and which read
# it used.
sub report_memory
{
	my ($what) = @_;
	my $offset = -s $node->logfile;
	my $id = trigger($node);
	is(wait_report($node, $id), 'Complete', "$what: the report completes");
	my ($kb, $count) = split /\|/, $node->safe_psql('postgres',
		"SELECT worker_memory_kb, store_count FROM _store_monitoring_internal.report WHERE report_id = '$id'");
	my $log = log_excerpt($node, $offset, qr/store_monitoring report \Q$id\E: (hours and zones)/);
	my $read = $log =~ /polls read in store order/ ? 'store order' : $log =~ /polls in range read/ ? 'range' : 'unknown';
	return ($kb, $count, $read);
}

load_data($node, 1, hours => 3);
$node->safe_psql('postgres', 'VACUUM ANALYZE store_monitoring.store_status');
my ($base) = report_memory('one store');
cmp_ok($base, '>', 0, "one store: worker_memory_kb recorded ($base kB)");

$node->safe_psql('postgres', q{
TRUNCATE store_monitoring.store_status, store_monitoring.business_hours, store_monitoring.store_timezone});
# Few polls per store: the stores, not the polls, should show.
load_data($node, $stores, hours => 3);

# The range read (300,000 polls fit range_read_memory), polls of the range held.
my ($range_kb, $count, $range_read) = report_memory("$stores stores, read by range");
is($range_read, 'range', 'the range fits range_read_memory: read by range');
my $range_per_store = ($range_kb - $base) * 1024 / $count;
cmp_ok($range_per_store, '<', $range_bound,
	sprintf('range read: %.0f bytes per store (%d kB for %d stores, %d kB for one)',
		$range_per_store, $range_kb, $count, $base));

$node->safe_psql('postgres', 'VACUUM ANALYZE store_monitoring.store_status');
set_conf($node, 'store_monitoring.range_read_memory' => '0');
my ($order_kb, $order_count, $order_read) = report_memory("$stores stores, store order");
is($order_read, 'store order', 'range_read_memory = 0: read in store order');
my $order_per_store = ($order_kb - $base) * 1024 / $count;
cmp_ok($order_per_store, '<', $order_bound,
	sprintf('store-order read: %.0f bytes per store (%d kB for %d stores, %d kB for one)',
		$order_per_store, $order_kb, $count, $base));

# --- range_read_memory holds while reading, whatever the estimate ------------
# 300 stores with 8,000 polls each in the evidence range: some 20 MB grouped,
# against a budget of 1 MB, from sources whose estimate says it fits: a plain
# role's view of a function the planner believes returns 10 rows, then the
# default table whose statistics predate the polls. The read outgrows the
# budget, is given up and made again in store order: the same CSV as a
# store-order read, and the worker's peak exceeds that of a store-order read
# by no more than the budget (and some slack), not by the range's size.
$node->safe_psql('postgres', q{
TRUNCATE store_monitoring.store_status, store_monitoring.business_hours, store_monitoring.store_timezone});
load_data($node, 300, hours => 3);
my $bulk_polls = q{
    SELECT pg_catalog.lpad(i::text, 4, '0'),
           (CASE WHEN j % 5 = 0 THEN 'inactive' ELSE 'active' END)::store_monitoring.poll_status,
           timestamptz '2023-01-25 12:00+00' - j * interval '80 seconds'
    FROM pg_catalog.generate_series(1, 300) i, pg_catalog.generate_series(1, 8000) j};
$node->safe_psql('postgres', qq{
CREATE ROLE bulk LOGIN;
GRANT SELECT ON store_monitoring.store_status, store_monitoring.business_hours,
                store_monitoring.store_timezone TO bulk;
CREATE SCHEMA bulk AUTHORIZATION bulk;
SET ROLE bulk;
CREATE FUNCTION bulk.polls() RETURNS SETOF store_monitoring.store_status LANGUAGE sql ROWS 10
    AS \$\$ $bulk_polls \$\$;
CREATE VIEW bulk.polls AS SELECT * FROM bulk.polls();
SELECT store_monitoring.set_sources(polls => 'bulk.polls');
});

# A report as `role` (undef: the superuser): its CSV, peak memory (kB), read,
# and whether the range read was given up.
sub budget_report
{
	my ($role) = @_;
	my $offset = -s $node->logfile;
	my $id = $node->safe_psql('postgres',
		($role ? "SET ROLE $role; " : '') . "SELECT store_monitoring.trigger_report('$AS_OF')");
	is(wait_report($node, $id), 'Complete', ($role // 'superuser') . ': the report completes');
	my $kb = $node->safe_psql('postgres',
		"SELECT worker_memory_kb FROM _store_monitoring_internal.report WHERE report_id = '$id'");
	my $log = log_excerpt($node, $offset, qr/store_monitoring report \Q$id\E: /);
	my $read = $log =~ /polls read in store order/ ? 'store order' : $log =~ /polls in range read/ ? 'range' : 'unknown';
	my $given_up = $log =~ /outgrew store_monitoring\.range_read_memory/ ? 1 : 0;
	return (report_csv($node, $id), $kb, $read, $given_up);
}

my ($bulk_order_csv, $bulk_order_kb) = budget_report('bulk');    # range_read_memory = 0 still
set_conf($node, 'store_monitoring.range_read_memory' => '1024');
my ($csv, $kb, $read, $given_up) = budget_report('bulk');
ok($given_up, "a user's view: the range read outgrows range_read_memory and is given up");
is($read, 'store order', '... and made again in store order');
is($csv, $bulk_order_csv, '... with the CSV of a store-order read');
cmp_ok($kb, '<', $bulk_order_kb + 3 * 1024,
	"... holding no more than the budget beyond the store-order read ($kb kB against $bulk_order_kb kB)");

# The default table: statistics of polls a month older, then the polls.
$node->safe_psql('postgres', qq{
TRUNCATE store_monitoring.store_status;
INSERT INTO store_monitoring.store_status
    SELECT store_id, status, timestamp_utc - interval '30 days' FROM ($bulk_polls) p(store_id, status, timestamp_utc)
    WHERE timestamp_utc > '2023-01-25' ;
ANALYZE store_monitoring.store_status;
INSERT INTO store_monitoring.store_status $bulk_polls;
VACUUM store_monitoring.store_status;
});
set_conf($node, 'store_monitoring.range_read_memory' => '0');
my ($stale_order_csv, $stale_order_kb) = budget_report(undef);
set_conf($node, 'store_monitoring.range_read_memory' => '1024');
($csv, $kb, $read, $given_up) = budget_report(undef);
ok($given_up, 'stale statistics: the range read outgrows range_read_memory and is given up');
is($read, 'store order', '... and made again in store order');
is($csv, $stale_order_csv, '... with the CSV of a store-order read');
cmp_ok($kb, '<', $stale_order_kb + 3 * 1024,
	"... holding no more than the budget beyond the store-order read ($kb kB against $stale_order_kb kB)");

$node->stop;
done_testing();
