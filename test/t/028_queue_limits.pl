# One role cannot starve or crowd out the others (TAP):
#   1. a role with a long queue of reports does not hold back another role's
#      report: the workers claim the roles' reports in turn;
#   2. what one role's reports may store is bounded
#      (store_monitoring.max_stored_per_role): a report whose results would
#      take it beyond ends Failed while running, and trigger_report() refuses
#      once the role has reached it;
#   3. what one role may queue is bounded
#      (store_monitoring.max_queued_per_role, here lowered for one role with
#      ALTER ROLE ... SET): concurrent triggers of that role in open
#      transactions count each other, so they cannot both pass the cap;
#   4. waiting_for tells a queued report's owner whether a worker is free and
#      how many of its own reports are queued before it, nothing more.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use StoreMonitoringTest;

my $node = new_node('queue_limits');
load_data($node, 200, hours => 30);
$node->safe_psql('postgres', q{
CREATE ROLE regress_busy LOGIN;
CREATE ROLE regress_small LOGIN;
GRANT SELECT ON store_monitoring.store_status, store_monitoring.business_hours,
                store_monitoring.store_timezone TO regress_busy, regress_small;
});

sub as_role
{
	my ($role, $sql) = @_;
	return $node->psql('postgres', $sql, extra_params => [ '-U', $role ]);
}

sub ids_of
{
	my ($role, $sql) = @_;
	my ($ret, $out, $err) = as_role($role, $sql);
	die "$role: $err" if $ret != 0;
	return split /\n/, $out;
}

# --- 1. claims in turn across roles ---------------------------------------------
# Every report pauses 3 seconds after its claim: 2 workers, 8 reports queued
# by one role in one statement, then one report of another role, queued
# while the workers still hold the first two (a shorter pause let a loaded
# machine finish one before the other role's trigger came).
set_conf($node,
	'store_monitoring.debug_pause_point' => 'claimed',
	'store_monitoring.debug_worker_delay' => 3000);
my @busy = ids_of('regress_busy',
	"SELECT store_monitoring.trigger_report('$AS_OF') FROM generate_series(1, 8)");
is(scalar @busy, 8, 'the busy role queues 8 reports');
my ($small) = ids_of('regress_small', "SELECT store_monitoring.trigger_report('$AS_OF')");
is(wait_report($node, $small), 'Complete', "the other role's report completes");
is(wait_report($node, $_), 'Complete', "busy report $_ completes") for @busy;
my $ahead = $node->safe_psql('postgres', qq{
SELECT count(*) FROM _store_monitoring_internal.report
WHERE report_id IN ('@{[ join "', '", @busy ]}')
  AND finished_at <= (SELECT started_at FROM _store_monitoring_internal.report
                      WHERE report_id = '$small')});
# Finished before it started, not started before it: the two workers free up
# together (each paused as long), and the one that takes the busy role's
# next report may stamp its start a moment before the other stamps the
# other role's.
cmp_ok($ahead, '<=', 2,
	"at most one report per worker (max_workers = 2) of the busy role's backlog ran before the other role's"
);

# --- 2. stored results per role ---------------------------------------------------
set_conf($node, 'store_monitoring.debug_worker_delay' => 0);
my $bytes = $node->safe_psql('postgres',
	"SELECT pg_catalog.octet_length(data) FROM _store_monitoring_internal.report_output WHERE report_id = '$small'"
);
cmp_ok($bytes, '>', 4096, "one report's results take several kB");
# Room for one more half report: the next one must not fit.
my $limit_kb = int($bytes * 1.5 / 1024);
set_conf($node, 'store_monitoring.max_stored_per_role' => $limit_kb);
my ($second) = ids_of('regress_small', "SELECT store_monitoring.trigger_report('$AS_OF')");
is(wait_report($node, $second), 'Failed',
	'a report whose results would exceed max_stored_per_role ends Failed');
like(
	$node->safe_psql('postgres',
		"SELECT error FROM _store_monitoring_internal.report WHERE report_id = '$second'"),
	qr/^the report's results were not stored: .*store_monitoring\.max_stored_per_role \($limit_kb kB\)/,
	'its error names the setting');
is( $node->safe_psql('postgres',
		"SELECT count(*) FROM _store_monitoring_internal.report_output WHERE report_id = '$second'"),
	'0',
	'nothing of it is stored');

set_conf($node, 'store_monitoring.max_stored_per_role' => int($bytes / 1024));
my ($ret, $out, $err) =
  as_role('regress_small', "SELECT store_monitoring.trigger_report('$AS_OF')");
isnt($ret, 0, 'trigger_report refuses a role whose results have reached max_stored_per_role');
like($err, qr/cannot trigger a report: the reports of role "regress_small" hold \d+ kB of results, reaching store_monitoring\.max_stored_per_role/,
	'with an error naming the setting');
like($err, qr/delete_report\(\), purge_reports\(\)/, 'and a hint saying what frees room');
set_conf($node, 'store_monitoring.max_stored_per_role' => 0);
($ret, $out, $err) = as_role('regress_small', "SELECT store_monitoring.trigger_report('$AS_OF')");
is($ret, 0, 'with the limit off (0) it may trigger again') or diag $err;
is(wait_report($node, $out), 'Complete', 'and its report completes');

# --- 3. queued reports per role ---------------------------------------------------
# Reports stay Running (their workers sleep) while the cap is tried.
set_conf($node, 'store_monitoring.debug_worker_delay' => 600_000);
$node->safe_psql('postgres',
	'ALTER ROLE regress_busy SET store_monitoring.max_queued_per_role = 3');
($ret, $out, $err) = as_role('regress_busy',
	"SELECT store_monitoring.check_time_zone('UTC');\n"
	  . 'SET store_monitoring.max_queued_per_role = 1000');
isnt($ret, 0, 'the role cannot raise its own cap');
like($err, qr/permission denied to set parameter "store_monitoring\.max_queued_per_role"/,
	'(a superuser setting)');

my $queue_class = 0x534D5103;
my $first = start_psql(
	$node, qq{
SET application_name = 'first_trigger';
BEGIN;
SELECT count(store_monitoring.trigger_report('$AS_OF')) FROM generate_series(1, 3);
SELECT pg_catalog.pg_sleep(2);
COMMIT;
}, user => 'regress_busy');
ok( poll_until($node, qq{
SELECT count(*) FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a USING (pid)
WHERE a.application_name = 'first_trigger' AND l.locktype = 'advisory'
  AND l.classid = $queue_class AND l.granted}, '1'),
	'a first session of the role has triggered 3 reports, not committed yet');
# REPEATABLE READ, its snapshot taken before the first session commits: the
# count must still see what the first committed.
($ret, $out, $err) = as_role('regress_busy', qq{
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT count(*) FROM pg_catalog.pg_class WHERE false;
SELECT store_monitoring.trigger_report('$AS_OF');
COMMIT;});
my ($first_ret, $first_out, $first_err) = finish_psql($first);
is($first_ret, 0, 'the first session commits its 3 reports') or diag $first_err;
isnt($ret, 0,
	'a concurrent trigger of the same role (REPEATABLE READ) beyond max_queued_per_role fails');
like($err,
	qr/cannot trigger a report: role "regress_busy" has 3 reports Running, the most store_monitoring\.max_queued_per_role \(3\) allows/,
	'with an error naming the setting');
is( $node->safe_psql('postgres', q{
SELECT count(*) FROM _store_monitoring_internal.report
WHERE owner = 'regress_busy'::regrole AND status = 'Running'}),
	'3',
	'the role has exactly its cap of reports Running');
($ret, $out, $err) = as_role('regress_small',
	"SELECT store_monitoring.trigger_report('$AS_OF') FROM generate_series(1, 3)");
is($ret, 0, 'another role still triggers reports') or diag $err;

# Both workers sleep on the busy role's reports: the other role's three wait.
# waiting_for says a worker is needed and how many of the caller's own
# reports are queued before each, nothing about the busy role's queue.
my $queued = (split /\n/, $out)[-1];
is( (as_role('regress_small',
		"SELECT waiting_for FROM store_monitoring.list_reports() WHERE report_id = '$queued'"))[1],
	'a worker: all 2 report workers of this database (store_monitoring.max_workers) are busy; '
	  . '2 earlier reports of its owner are queued before it (the workers serve the roles in turn)',
	'waiting_for of the newest: all workers busy, 2 of its own reports before it');

done_testing();
