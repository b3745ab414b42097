# The range read split across processes (src/pg/read/parallel_range_read.cpp)
# gives the report the serial read gives, byte for byte: on the default
# table with parallel workers, with no worker slot free, and not split; on
# a user's plain table, split too; a table with row-level security, one its
# reader may read some columns of only, and a view that parallel mode would
# refuse (nextval) are read by the report's process alone, with the same
# report. The log shows which
# read ran, with how many participants and how many polls each read. A
# report canceled during a long read ends while it reads.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use StoreMonitoringTest;

# min_parallel_table_scan_size = 0: parallel workers for a table of any size
# (this one has about 1,600 blocks: four chunks of 512).
my $node = new_node(
	'read_parallel',
	conf => [
		'log_min_messages = debug1', 'max_parallel_workers_per_gather = 2',
		'min_parallel_table_scan_size = 0', 'max_parallel_workers = 8'
	]);
load_data($node, 1000, hours => 200);
$node->safe_psql('postgres', 'VACUUM ANALYZE store_monitoring.store_status');

my $read_line = qr/(\d+) polls in range read [0-9.]+ ms \(([a-z0-9 ]+), (\d+) parallel workers launched, polls per participant, this process first: ([0-9, ]+);[^\n]*store ids \(([a-z ]+)\)/;

# Triggers a report; returns its CSV and what the log says of its read:
# polls, how (split or not), workers launched, polls per participant, who
# read the store ids.
sub report_and_read
{
	my $offset = -s $node->logfile;
	my $id = trigger($node);
	is(wait_report($node, $id), 'Complete', 'the report completes');
	$node->wait_for_log($read_line, $offset);
	my ($polls, $how, $launched, $per, $ids) = slurp_file($node->logfile, $offset) =~ $read_line;
	return (report_csv($node, $id), $polls, $how, $launched, [ split /, /, $per ], $ids);
}

sub sum { my $total = 0; $total += $_ for @_; return $total; }

my ($split_csv, $polls, $how, $launched, $per, $ids) = report_and_read();
like($how, qr/^split in [2-9] block chunks$/, "the default table's range is split in chunks ($how)");
cmp_ok($launched, '>=', 1, "parallel workers take part ($launched launched)");
is(scalar @$per, $launched + 1, 'the log counts the polls of every participant');
is(sum(@$per), $polls, '... which add up to the polls read');
is($ids, 'with the chunks', 'the chunks give the store ids (every row of every block is read)');
cmp_ok($polls, '>', 100_000, "the range holds most polls ($polls)");

set_conf($node, 'max_parallel_workers' => '0');
(my $csv, undef, $how, $launched, $per, $ids) = report_and_read();
like($how, qr/^split/, 'no worker slot free: still split in chunks ...');
is($launched, 0, '... with no worker launched');
is($ids, 'with the chunks', '... the store ids with them');
is($csv, $split_csv, '... with the same report, byte for byte');
set_conf($node, 'max_parallel_workers' => '8');

set_conf($node, 'max_parallel_workers_per_gather' => '0');
(my $serial_csv, undef, $how, $launched, undef, $ids) = report_and_read();
is($how, 'not split', 'max_parallel_workers_per_gather = 0: the range is read by one process');
is("$launched|$ids", '1|parallel worker', '... beside a worker for the store ids');
is($serial_csv, $split_csv, 'the split and the serial read give the same report, byte for byte');
set_conf($node, 'max_parallel_workers_per_gather' => '2');

# A user's own table, and a view over it that parallel mode refuses.
$node->safe_psql('postgres', q{
CREATE TABLE public.my_polls AS SELECT * FROM store_monitoring.store_status;
ANALYZE public.my_polls;
CREATE SEQUENCE public.read_counter;
CREATE VIEW public.counted_polls AS
    SELECT * FROM public.my_polls WHERE pg_catalog.nextval('public.read_counter') > 0;
SELECT store_monitoring.set_sources(polls => 'public.my_polls');
});
($csv, undef, $how, $launched, undef, $ids) = report_and_read();
like("$how|$ids", qr/^split in [2-9] block chunks\|with the chunks$/,
	"a user's plain table is split in chunks too");
cmp_ok($launched, '>=', 1, '... with parallel workers');
is($csv, $split_csv, '... with the same report, byte for byte');

# Row-level security (a policy may call anything): read by the report's
# process alone. The policy lets every row through: the same report.
$node->safe_psql('postgres', q{
CREATE ROLE reader LOGIN;
GRANT SELECT ON public.my_polls, store_monitoring.business_hours,
    store_monitoring.store_timezone TO reader;
ALTER TABLE public.my_polls ENABLE ROW LEVEL SECURITY;
CREATE POLICY every_row ON public.my_polls FOR SELECT TO reader USING (true);
SET ROLE reader;
SELECT store_monitoring.set_sources(polls => 'public.my_polls');
});
my $rls_offset = -s $node->logfile;
my $rls_id = $node->safe_psql('postgres',
	"SET ROLE reader; SELECT store_monitoring.trigger_report('$AS_OF')");
is(wait_report($node, $rls_id), 'Complete', 'a report over a table with row-level security completes');
$node->wait_for_log($read_line, $rls_offset);
($how, $launched, $ids) = (slurp_file($node->logfile, $rls_offset) =~ $read_line)[1, 2, 4];
is("$how|$launched|$ids", 'not split|0|read here', "... read by the report's process alone");
is(report_csv($node, $rls_id), $split_csv, '... with the same report, byte for byte');
$node->safe_psql('postgres', 'ALTER TABLE public.my_polls DISABLE ROW LEVEL SECURITY');

# A role that may read the three columns only, not ctid: not split either.
$node->safe_psql('postgres', q{
CREATE ROLE columns_only LOGIN;
GRANT SELECT (store_id, timestamp_utc, status) ON public.my_polls TO columns_only;
GRANT SELECT ON store_monitoring.business_hours, store_monitoring.store_timezone TO columns_only;
SET ROLE columns_only;
SELECT store_monitoring.set_sources(polls => 'public.my_polls');
});
my $columns_offset = -s $node->logfile;
my $columns_id = $node->safe_psql('postgres',
	"SET ROLE columns_only; SELECT store_monitoring.trigger_report('$AS_OF')");
is(wait_report($node, $columns_id), 'Complete', 'a report of a role with column privileges only completes');
$node->wait_for_log($read_line, $columns_offset);
($how, $launched, $ids) = (slurp_file($node->logfile, $columns_offset) =~ $read_line)[1, 2, 4];
is("$how|$launched|$ids", 'not split|0|read here', "... read by the report's process alone");
is(report_csv($node, $columns_id), $split_csv, '... with the same report, byte for byte');

$node->safe_psql('postgres', q{SELECT store_monitoring.set_sources(polls => 'public.counted_polls')});
($csv, undef, $how, $launched, undef, $ids) = report_and_read();
is("$how|$launched|$ids", 'not split|0|read here',
	'a view calling nextval (parallel unsafe) is read by the report\'s process');
is($csv, $split_csv, '... with the same report, byte for byte');
cmp_ok($node->safe_psql('postgres', q{SELECT last_value FROM public.read_counter}),
	'>', 0, '... and nextval ran');

# One range_read_memory budget across every participant, while they read:
# 100,000 stores of one poll each, added after the statistics were taken,
# are not in the estimate (about 2.4 MB against a 6 MB budget, so the read
# is split), but take over 12 MB of blocks in all, spread over the
# participants. Every one stops and the report reads in store order, with
# the report a store-order read gives.
$node->safe_psql('postgres', qq{
SELECT store_monitoring.set_sources();
ALTER TABLE store_monitoring.store_status SET (autovacuum_enabled = off);
INSERT INTO store_monitoring.store_status
SELECT 'one-' || i, 'active', timestamptz '$AS_OF' - interval '1 hour'
FROM generate_series(1, 100000) i;
});
set_conf($node, 'store_monitoring.range_read_memory' => '0');
my $offset = -s $node->logfile;
my $id = trigger($node);
is(wait_report($node, $id), 'Complete', 'range_read_memory = 0: read in store order');
my $store_order_csv = report_csv($node, $id);
set_conf($node, 'store_monitoring.range_read_memory' => '6144');
$offset = -s $node->logfile;
$id = trigger($node);
is(wait_report($node, $id), 'Complete', 'a 6 MB budget: the report completes');
$node->wait_for_log(qr/outgrew store_monitoring.range_read_memory \(6144 kB\) while read/, $offset);
like(slurp_file($node->logfile, $offset), qr/split across up to 3 processes: read the range\n/,
	'the estimate fit, the split range read began ...');
unlike(slurp_file($node->logfile, $offset), qr/polls in range read/,
	'... and stopped: no range read completed');
is(report_csv($node, $id), $store_order_csv, '... then read in store order, with the same report');
set_conf($node, 'store_monitoring.range_read_memory' => '65536');

# A cancel during a long read: a view that sleeps a millisecond per row
# (about 190,000 rows, several minutes) ends Failed, canceled, while read.
# (The worker's deadline watcher cancels the statement; the read's own look
# at the cancel flag every 4096 rows stops it as well.)
$node->safe_psql('postgres', q{
CREATE FUNCTION public.slow_row() RETURNS boolean LANGUAGE plpgsql PARALLEL UNSAFE
    AS $$ BEGIN PERFORM pg_catalog.pg_sleep(0.001); RETURN true; END $$;
CREATE VIEW public.slow_polls AS SELECT * FROM public.my_polls WHERE public.slow_row();
SELECT store_monitoring.set_sources(polls => 'public.slow_polls');
});
$id = trigger($node);
ok( poll_until($node,
		"SELECT wait_event FROM pg_catalog.pg_stat_activity WHERE query LIKE '%report $id'",
		'PgSleep', interval_us => 20_000),
	'the worker is reading the slow view');
$node->safe_psql('postgres', "SELECT store_monitoring.cancel_report('$id')");
is(wait_report($node, $id), 'Failed', 'the canceled report ends during its read');
is($node->safe_psql('postgres',
		"SELECT error FROM store_monitoring.list_reports() WHERE report_id = '$id'"),
	'canceled by postgres', '... canceled');

$node->stop;
done_testing();
