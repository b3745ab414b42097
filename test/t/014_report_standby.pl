# Hot standby: reports are read there, never computed. trigger_report()
# says reports are computed on the primary; get_report(), wait_report(),
# report_rows() and list_reports() work read-only; a Running report (whose
# worker's locks on the primary are invisible on the standby) makes no
# get_report() register a background worker there, which would never start
# but keep its slot until parallel queries on the standby got no workers.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use StoreMonitoringTest;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf(
	'postgresql.conf', q{
max_parallel_workers_per_gather = 0
max_worker_processes = 8
max_parallel_workers = 8
log_min_messages = info
});
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION store_monitoring');
load_data($primary, 200, hours => 30);
my $done = trigger($primary);
is(wait_report($primary, $done), 'Complete', 'a report completes on the primary');
my $done_csv = report_csv($primary, $done);

# A report whose worker sleeps on the primary: Running on the standby.
set_conf($primary,
	'store_monitoring.debug_pause_point' => 'claimed',
	'store_monitoring.debug_worker_delay' => 600_000);
my $running = trigger($primary);
my $pid = wait_for_computing($primary, $running, 1);
ok(defined $pid, 'a second report is computing on the primary') or die;

$primary->backup('backup');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'backup', has_streaming => 1);
$standby->start;
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', 'SELECT pg_catalog.pg_is_in_recovery()'), 't', 'the standby is in recovery');

my ($ret, $out, $err) = $standby->psql('postgres',
	"SELECT store_monitoring.trigger_report('$AS_OF')");
isnt($ret, 0, 'trigger_report() fails on the standby');
like($err, qr/ERROR:  reports are computed on the primary/, '... saying reports are computed on the primary');

is( $standby->safe_psql('postgres', "SELECT status FROM store_monitoring.get_report('$done')"),
	'Complete', 'get_report() of a complete report on the standby: Complete');
is( $standby->safe_psql('postgres', "SELECT csv FROM store_monitoring.get_report('$done')"),
	$done_csv, '... with its CSV');
is( $standby->safe_psql('postgres', "SELECT count(*) FROM store_monitoring.report_rows('$done')"),
	store_count($primary), 'report_rows() on the standby: one row per store');
is( $standby->safe_psql('postgres',
		"SELECT string_agg(status || '/' || phase, ',' ORDER BY requested_at) FROM store_monitoring.list_reports()"),
	'Complete/done,Running/computing', 'list_reports() on the standby');

for my $call (1 .. 12)
{
	is( $standby->safe_psql('postgres', "SELECT status FROM store_monitoring.get_report('$running')"),
		'Running', "get_report() call $call of the running report on the standby: Running")
	  if $call == 1 || $call == 12;
	$standby->safe_psql('postgres', "SELECT status FROM store_monitoring.get_report('$running')")
	  unless $call == 1 || $call == 12;
}
is( $standby->safe_psql('postgres',
		"SELECT store_monitoring.wait_report('$running', interval '200 milliseconds')"),
	'Running', 'wait_report() with a short timeout on the standby: Running');

# Twelve calls above would have registered twelve never-starting workers in
# the standby's eight slots; parallel query still gets its workers.
my $plan = $standby->safe_psql(
	'postgres', q{
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT count(*) FROM store_monitoring.store_status;
});
like($plan, qr/Workers Launched: [1-9]/, 'parallel query on the standby still launches workers')
  or diag $plan;
is( $standby->safe_psql('postgres', q{
SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE backend_type LIKE 'store_monitoring%'}),
	'0', 'no store_monitoring process runs on the standby');

# The primary finishes the report (its sleeping worker is terminated and a
# new one takes over); the standby's wait_report() sees it complete.
set_conf($primary, 'store_monitoring.debug_worker_delay' => 0);
$primary->safe_psql('postgres', "SELECT pg_catalog.pg_terminate_backend($pid)");
is(wait_report($primary, $running), 'Complete', 'the primary completes the report');
is(wait_report($standby, $running), 'Complete', "the standby's wait_report() sees it complete");
is( $standby->safe_psql('postgres', "SELECT csv FROM store_monitoring.get_report('$running')"),
	$done_csv, '... with the same CSV');

$standby->stop;
$primary->stop;
done_testing();
