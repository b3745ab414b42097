# Scheduled reports with pg_cron: a job triggers a labelled report every
# minute (pg_cron 1.4's finest schedule), the reports complete one after the
# other, latest_report() names the newest, and store_monitoring.report_retention
# makes the workers delete the older finished ones.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use StoreMonitoringTest;

my $node = new_node(
	'cron',
	conf => [
		"shared_preload_libraries = 'pg_cron'",
		"cron.database_name = 'postgres'",
		# Jobs run in background workers: no connection over TCP needed.
		'cron.use_background_workers = on',
		'max_worker_processes = 20',
	]);
load_data($node, 20);
$node->safe_psql('postgres', 'CREATE EXTENSION pg_cron');
$node->safe_psql('postgres', q{
SELECT cron.schedule('store-monitoring-every-minute', '* * * * *',
                     $$SELECT store_monitoring.trigger_report(label => 'every-minute')$$)});

# Up to two minutes until two runs have completed.
ok( poll_until($node, q{
SELECT count(*) >= 2 FROM store_monitoring.list_reports(status => 'Complete', label => 'every-minute')},
		't', timeout => 200),
	'two scheduled reports complete')
  or diag $node->safe_psql('postgres', 'SELECT * FROM cron.job_run_details');
is( $node->safe_psql('postgres', q{
SELECT store_monitoring.latest_report('every-minute') = (
  SELECT report_id FROM store_monitoring.list_reports(status => 'Complete',
                                                      label => 'every-minute', "limit" => 1))}),
	't', 'latest_report() names the newest scheduled report');
my $before = $node->safe_psql('postgres', "SELECT store_monitoring.latest_report('every-minute')");
like(
	$node->safe_psql('postgres', q{
SELECT string_agg(DISTINCT status, ',') FROM cron.job_run_details}),
	qr/succeeded/, 'pg_cron records the runs as succeeded');

# Retention: after the next report, its worker deletes every finished report
# that finished more than a second earlier, so only the newest remains.
set_conf($node, 'store_monitoring.report_retention' => '1 second');
ok( poll_until(
		$node, qq{
SELECT count(*) = 1 AND bool_and(report_id <> '$before')
FROM store_monitoring.list_reports(label => 'every-minute')
WHERE status <> 'Running'}, 't', timeout => 200),
	'retention keeps only the newest finished report');
is( $node->safe_psql('postgres', q{
SELECT count(*) FROM _store_monitoring_internal.report_output o
WHERE NOT EXISTS (SELECT FROM _store_monitoring_internal.report r WHERE r.report_id = o.report_id)}),
	'0', 'deleted reports leave no results behind');
is($node->safe_psql('postgres', "SELECT store_monitoring.latest_report('every-minute') <> '$before'"),
	't', 'latest_report() moved on to the newer report');

$node->safe_psql('postgres', "SELECT cron.unschedule('store-monitoring-every-minute')");
$node->stop;
done_testing();
