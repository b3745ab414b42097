# The preloaded launcher with few background-worker slots and many
# databases: it checks the databases one at a time, in turn, starts report
# workers only where a Running report has none, and leaves a slot free; so
# every database's orphaned report is recovered, however the slots are
# short. (It used to start a worker in every database at once: the
# registrations past the free slots failed, always for the same databases.)
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use StoreMonitoringTest;

# Four slots: the launcher takes one; no logical replication launcher.
my $node = new_node(
	'launcher',
	preload => 1,
	conf => [
		'max_worker_processes = 4',
		'max_logical_replication_workers = 0',
		'max_parallel_workers = 0',
		'max_prepared_transactions = 10',
		'store_monitoring.recovery_interval = 1',
		# the postmaster logs every background worker it starts
		'log_min_messages = debug1',
	]);

my @work = map { "regress_work_$_" } 1 .. 6;
$node->safe_psql('postgres', "CREATE DATABASE $_") for @work, 'regress_idle', 'regress_plain';
my %oid = map {
	$_ => $node->safe_psql('postgres', "SELECT oid FROM pg_catalog.pg_database WHERE datname = '$_'")
} @work, 'regress_idle', 'regress_plain', 'postgres';

# An orphaned report in each work database: PREPARE TRANSACTION starts no
# worker (the report commits later, maybe elsewhere), COMMIT PREPARED neither.
my %report;
for my $db (@work)
{
	$node->safe_psql($db, 'CREATE EXTENSION store_monitoring');
	load_data($node, 100, hours => 30, db => $db);
	$report{$db} = $node->safe_psql(
		$db, qq{
BEGIN;
SELECT store_monitoring.trigger_report('$AS_OF');
PREPARE TRANSACTION 'regress_$db';
});
	$node->safe_psql($db, "COMMIT PREPARED 'regress_$db'");
}
# A database with the extension but no report, and one without it.
$node->safe_psql('regress_idle', 'CREATE EXTENSION store_monitoring');

my $offset = 0;
for my $db (@work)
{
	ok( poll_until($node,
			"SELECT status FROM _store_monitoring_internal.report WHERE report_id = '$report{$db}'",
			'Complete', db => $db),
		"$db: the launcher recovers its orphaned report");
}

# The launcher visits the databases in turn, once a second: the reports above
# may all be recovered before its turn reaches the databases without work,
# so wait (up to the framework's timeout) until each has been checked.
for my $db ('regress_idle', 'regress_plain', 'postgres')
{
	ok( eval {
			$node->wait_for_log(
				qr/starting background worker process "store_monitoring recovery check for database $oid{$db}"/,
				$offset);
			1;
		},
		"$db: checked by the launcher");
}

my $log = slurp_file($node->logfile, $offset);
for my $db (@work)
{
	my $started = () = $log =~ /starting background worker process "store_monitoring worker for database $oid{$db}"/g;
	cmp_ok($started, '>=', 1, "$db: a report worker was started there");
}
for my $db ('regress_idle', 'regress_plain', 'postgres')
{
	my $started = () = $log =~ /starting background worker process "store_monitoring worker for database $oid{$db}"/g;
	is($started, 0, "$db: no report worker started there (no work)");
}
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_catalog.pg_stat_activity
WHERE backend_type = 'store_monitoring launcher'}), '1', 'the launcher is still running');

$node->stop;
done_testing();
