# A role's code that releases the worker's own session locks: in a view the
# worker reads as the role, pg_advisory_unlock_all() drops every
# session-level advisory lock of the backend, the worker's slot and claim
# locks included (their private tag space only keeps SQL from naming them).
# Another worker could then take the slot or claim the same report and
# compute it a second time. The worker keeps them through the read (a
# transaction-level hold no SQL function releases), takes them again, and
# fails the report with an error that says why; nothing of it is stored.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use StoreMonitoringTest;

my $node = new_node('worker_locks', conf => ['store_monitoring.max_workers = 2']);
$node->safe_psql(
	'postgres', q{
CREATE ROLE regress_wl_mallory LOGIN;
CREATE ROLE regress_wl_alice LOGIN;
CREATE SCHEMA regress_wl_mallory AUTHORIZATION regress_wl_mallory;
CREATE SCHEMA regress_wl_alice AUTHORIZATION regress_wl_alice;
});
probe_sources($node, 'postgres', $_) for ('regress_wl_mallory', 'regress_wl_alice');
# mallory's read drops every session lock of the worker, then waits (at
# most two minutes) until the test lets it go.
$node->safe_psql(
	'postgres', q{
SET ROLE regress_wl_mallory;
CREATE OR REPLACE FUNCTION regress_wl_mallory.probe() RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE deadline timestamptz := pg_catalog.clock_timestamp() + interval '2 minutes';
BEGIN
  PERFORM pg_catalog.pg_advisory_unlock_all();
  WHILE NOT EXISTS (SELECT 1 FROM regress_wl_mallory.go)
        AND pg_catalog.clock_timestamp() < deadline LOOP
    PERFORM pg_catalog.pg_sleep(0.05);
  END LOOP;
  RETURN true;
END $$;
});

sub trigger_as
{
	my ($role) = @_;
	return $node->safe_psql('postgres',
		"SET ROLE $role; SELECT store_monitoring.trigger_report('$StoreMonitoringTest::AS_OF')");
}

sub report_field
{
	my ($id, $field) = @_;
	return $node->safe_psql('postgres',
		"SELECT $field FROM _store_monitoring_internal.report WHERE report_id = '$id'");
}

my $offset = -s $node->logfile;
my $mallory = trigger_as('regress_wl_mallory');
my $pid = wait_for_computing($node, $mallory, 1);
ok(defined $pid, "mallory's report is being computed");
ok( poll_until(
		$node, "SELECT wait_event FROM pg_catalog.pg_stat_activity WHERE pid = $pid",
		'PgSleep'),
	"mallory's read has released the session's advisory locks and waits");

my $alice = trigger_as('regress_wl_alice');
is(wait_report($node, $alice), 'Complete',
	"alice's report completes while mallory's read holds a worker");
is(report_field($alice, 'attempts'), '1', "alice's report was claimed once");
is(report_field($mallory, "attempts || ' ' || worker_pid"),
	"1 $pid", "no other worker claimed mallory's report while her read ran");
is( $node->safe_psql(
		'postgres', q{
SELECT count(*) FROM (SELECT objid FROM pg_catalog.pg_locks
  WHERE locktype = 'advisory' AND classid = 1397576449 AND granted
  GROUP BY objid HAVING count(DISTINCT pid) > 1) s}),
	'0',
	'no two workers hold one worker slot');

$node->safe_psql('postgres', 'INSERT INTO regress_wl_mallory.go VALUES (1)');
is(wait_report($node, $mallory), 'Failed', "mallory's report fails");
like(
	report_field($mallory, 'error'),
	qr/the report's sources released the worker's locks \(pg_advisory_unlock_all\)/,
	'its error says that its sources released the worker\'s locks');
is( $node->safe_psql(
		'postgres',
		"SELECT count(*) FROM _store_monitoring_internal.report_output WHERE report_id = '$mallory'"
	),
	'0',
	'nothing of it is stored');
is(report_field($mallory, 'attempts'), '1', 'it was computed by one worker only');

# The same in the read that resolves `latest` (the default T), before the
# report's own read.
my $latest = $node->safe_psql('postgres',
	'SET ROLE regress_wl_mallory; SELECT store_monitoring.trigger_report()');
is(wait_report($node, $latest), 'Failed', "mallory's report for the latest poll fails");
like(
	report_field($latest, 'error'),
	qr/the report's sources released the worker's locks \(pg_advisory_unlock_all\)/,
	'with the same error, from the read that resolves latest');
is(report_field($latest, 'attempts'), '1', 'it was claimed once');

# The workers go on with their locks: another report completes.
my $next = trigger_as('regress_wl_alice');
is(wait_report($node, $next), 'Complete', 'the next report completes');
unlike(
	slurp_file($node->logfile, $offset),
	qr/lost its lock|you don't own a lock/,
	'no worker lost or released a lock it did not hold');

# The read's lock_timeout (half a second) ends with the read: the worker's
# own statements after it wait as long as they must, as before its first
# read. A session holds a finished report's row, which report_retention
# deletes after each report: the deletion waits for it and is done once it
# lets go, with no WARNING (it once timed out after half a second).
$node->safe_psql('postgres', "ALTER DATABASE postgres SET store_monitoring.report_retention = '1s'");
sleep 2;    # $next finished over a second ago
my $held_offset = -s $node->logfile;
my $holder = start_psql($node, qq{
BEGIN;
SELECT count(*) FROM (SELECT FROM _store_monitoring_internal.report
                      WHERE report_id = '$next' FOR UPDATE) held;
SELECT pg_sleep(3);
COMMIT;
});
ok(poll_until($node, q{SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(3);'}, '1'),
	'a session holds the row of a report past report_retention');
my $after = trigger_as('regress_wl_alice');
is(wait_report($node, $after), 'Complete', 'a report completes meanwhile');
finish_psql($holder);
ok(poll_until($node, qq{SELECT count(*) FROM _store_monitoring_internal.report WHERE report_id = '$next'}, '0'),
	'its worker deleted the held report once the session let go');
unlike(slurp_file($node->logfile, $held_offset), qr/could not apply report_retention/,
	'... having waited for it, not timed out');
$node->safe_psql('postgres', 'ALTER DATABASE postgres RESET store_monitoring.report_retention');

done_testing();
