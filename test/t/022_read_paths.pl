# The two ways a report reads the default polls table give the same report:
# only the evidence range, in heap order (within
# store_monitoring.range_read_memory), or store by store through the covering
# index (when the range's polls would need more). The choice follows the
# setting and the estimated size of the range, and a store whose polls are all
# older than the range gets its row either way.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use StoreMonitoringTest;

my $node = new_node('read_paths', conf => ['log_min_messages = debug1']);
# 300 stores, 1,000 hours of polls (about six weeks, the range is 170 hours):
# about 49,000 polls in the range, grouped in about 460 kB.
load_data($node, 300, hours => 1000);
$node->safe_psql('postgres', q{
INSERT INTO store_monitoring.store_status
VALUES ('old-only', 'active', timestamptz '2022-12-20 10:00+00');
VACUUM ANALYZE store_monitoring.store_status;
});

# Triggers a report and returns its CSV and the read the worker chose.
sub report_and_read
{
	my $offset = -s $node->logfile;
	my $id = trigger($node);
	is(wait_report($node, $id), 'Complete', 'the report completes');
	$node->wait_for_log(qr/polls in the evidence range .*: read [a-z ]+/, $offset);
	my ($line, $read) = slurp_file($node->logfile, $offset) =~ /(polls in the evidence range [^\n]*: (read [a-z ]+))/;
	return (report_csv($node, $id), $read, $line);
}

my ($range_csv, $read, $line) = report_and_read();
is($read, 'read the range', 'by default (64MB) the range is read');
like($line, qr/\(planner's estimate\) of 30[0-9] stores/,
	'the estimate counts the stores from the statistics of store_id');
like($range_csv, qr/^old-only,/m, 'a store with only older polls gets its row');

# The range read takes the store ids from a parallel worker, or, without
# one to spare, reads them in the report's own process: each way runs, and
# both give the same report.
sub store_ids_read_by
{
	my ($offset) = @_;
	my $pattern = qr/store ids \((parallel worker|read here)\)/;
	$node->wait_for_log($pattern, $offset);
	my ($by) = slurp_file($node->logfile, $offset) =~ $pattern;
	return $by;
}
my $ids_offset = -s $node->logfile;
my ($parallel_csv) = report_and_read();
is(store_ids_read_by($ids_offset), 'parallel worker', 'the store ids are read by a parallel worker');
set_conf($node, 'max_parallel_workers' => '0');
$ids_offset = -s $node->logfile;
my ($fallback_csv) = report_and_read();
is(store_ids_read_by($ids_offset), 'read here',
	'without a parallel worker the report reads the store ids itself');
is($fallback_csv, $parallel_csv, 'both give the same report, byte for byte');
is($parallel_csv, $range_csv, '... and the same as the first report');
set_conf($node, 'max_parallel_workers' => '8');

set_conf($node, 'store_monitoring.range_read_memory' => '0');
(my $store_order_csv, $read) = report_and_read();
is($read, 'read in store order', 'range_read_memory = 0 reads store by store');
is($store_order_csv, $range_csv, 'both reads give the same report, byte for byte');

# The estimate: about 460 kB of grouped polls (settings in kB).
set_conf($node, 'store_monitoring.range_read_memory' => '128');
(my $csv, $read) = report_and_read();
is($read, 'read in store order', 'a budget below the range estimate reads store by store');
is($csv, $range_csv, '... with the same report');
set_conf($node, 'store_monitoring.range_read_memory' => '2048');
($csv, $read) = report_and_read();
is($read, 'read the range', 'a budget above it reads the range');
is($csv, $range_csv, '... with the same report');

# Without statistics (a load not yet analyzed) every row of the table counts:
# about 290,000 polls, 2.4 MB, over the same 2 MB budget.
$node->safe_psql('postgres', q{
DELETE FROM pg_catalog.pg_statistic WHERE starelid = 'store_monitoring.store_status'::regclass});
my $offset = -s $node->logfile;
($csv, $read) = report_and_read();
is($read, 'read in store order', 'without statistics every row counts against the budget');
like(slurp_file($node->logfile, $offset), qr/no statistics: every row/, '... as the log says');
is($csv, $range_csv, '... with the same report');

$node->stop;
done_testing();
