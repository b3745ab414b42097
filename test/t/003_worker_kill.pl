# A worker killed mid-report (SIGKILL: the postmaster crash-restarts) leaves
# its report Running; the next get_report/wait_report resumes it, and it
# completes with the numbers of an undisturbed report. After
# store_monitoring.max_attempts interrupted attempts the report is Failed.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

use FindBin;
use lib "$FindBin::RealBin/../perl";
use StoreMonitoringTest;

my $node = new_node('kill_worker');
load_data($node, 300);

my $ref = trigger($node);
is(wait_report($node, $ref), 'Complete', 'undisturbed reference report completes');
my $ref_csv = report_csv($node, $ref);

# Triggers a report, waits for its worker to be in phase 'computing' (inside
# the debug delay), SIGKILLs it and waits for the crash restart. Returns id.
sub trigger_and_kill_in_delay
{
	my ($label) = @_;
	my $id = trigger($node);
	my $pid = wait_for_computing($node, $id, 1);
	ok(defined $pid, "$label: the worker claimed the report (phase computing)")
	  or die 'no worker reached phase computing';
	kill_worker_and_wait_restart($node, $pid);
	return ($id, $pid);
}

# --- kill during the delay after the claim ----------------------------------
set_conf($node, 'store_monitoring.debug_worker_delay' => 600_000);

# The worker is visible as such while it works.
my $id = trigger($node);
my $pid = wait_for_computing($node, $id, 1);
ok(defined $pid, 'worker claimed the report') or die;
like(slurp_file("/proc/$pid/cmdline"), qr/store_monitoring worker/,
	'process title names the store_monitoring worker');
is( $node->safe_psql('postgres', qq{
SELECT count(*) FROM pg_catalog.pg_locks
WHERE pid = $pid AND locktype = 'advisory' AND granted}) > 0 ? 'yes' : 'no',
	'yes',
	'the worker holds an advisory lock while it owns the report');
my $offset = -s $node->logfile;
kill_worker_and_wait_restart($node, $pid);
like(slurp_file($node->logfile, $offset), qr/was terminated by signal 9/,
	'the server logged the killed worker');

my $row = report_row($node, $id);
is($row->{status}, 'Running', 'after the crash restart the report is still Running');
is($row->{attempts}, '1', '... after one attempt');
is(scalar(worker_pids($node)), 0, '... and no worker runs for it');

# Without the delay, get_report starts a worker that re-claims the report.
set_conf($node, 'store_monitoring.debug_worker_delay' => 0);
is( $node->safe_psql('postgres', "SELECT status FROM store_monitoring.get_report('$id')"),
	'Running', 'get_report of the orphaned report says Running (and resumes it)');
ok( poll_until($node,
		"SELECT status FROM _store_monitoring_internal.report WHERE report_id = '$id'", 'Complete'),
	'the report resumed by get_report completes');
is(wait_report($node, $id), 'Complete', 'wait_report says Complete');
$row = report_row($node, $id);
is($row->{attempts}, '2', 'it took a second attempt');
is($row->{error}, '', 'no error');
is(report_csv($node, $id), $ref_csv, 'CSV equals the undisturbed report');

# --- the same, resumed by wait_report alone --------------------------------
set_conf($node, 'store_monitoring.debug_worker_delay' => 600_000);
($id) = trigger_and_kill_in_delay('wait_report resume');
set_conf($node, 'store_monitoring.debug_worker_delay' => 0);
is(report_row($node, $id)->{status}, 'Running', 'killed report is Running');
is(wait_report($node, $id), 'Complete', 'wait_report resumes it to Complete');
is(report_csv($node, $id), $ref_csv, 'CSV equals the undisturbed report');

# --- pg_terminate_backend (SIGTERM, no crash restart) ----------------------
set_conf($node, 'store_monitoring.debug_worker_delay' => 600_000);
$id = trigger($node);
$pid = wait_for_computing($node, $id, 1);
ok(defined $pid, 'terminate: the worker claimed the report') or die;
is($node->safe_psql('postgres', "SELECT pg_catalog.pg_terminate_backend($pid, 60000)"),
	't', 'terminate: pg_terminate_backend ends the worker');
set_conf($node, 'store_monitoring.debug_worker_delay' => 0);
is(report_row($node, $id)->{status}, 'Running', 'terminate: the report is still Running');
is(wait_report($node, $id), 'Complete', 'terminate: wait_report resumes it to Complete');
is(report_row($node, $id)->{attempts}, '2', 'terminate: it took a second attempt');
is(report_csv($node, $id), $ref_csv, 'terminate: CSV equals the undisturbed report');

# --- several orphans at once: one resume call recovers all -----------------
set_conf($node, 'store_monitoring.debug_worker_delay' => 600_000);
my @orphans = map { trigger($node) } 1 .. 3;
my $orphan_list = join(',', map { "'$_'" } @orphans);
# max_workers = 2: two of the three are claimed, the third waits.
ok( poll_until($node, qq{
SELECT count(*) FROM _store_monitoring_internal.report r
JOIN pg_catalog.pg_stat_activity a ON a.pid = r.worker_pid
WHERE r.report_id IN ($orphan_list) AND r.phase = 'computing'
  AND a.backend_type = 'store_monitoring worker'}, '2'),
	'two of three reports are claimed by live workers') or die;
my @pids = split /\n/, $node->safe_psql('postgres', qq{
SELECT worker_pid FROM _store_monitoring_internal.report
WHERE report_id IN ($orphan_list) AND phase = 'computing'});
kill_worker_and_wait_restart($node, $pids[0]);
set_conf($node, 'store_monitoring.debug_worker_delay' => 0);
is( $node->safe_psql('postgres', "SELECT count(*) FROM _store_monitoring_internal.report WHERE status = 'Running'"),
	'3', 'all three reports are Running after the crash');
is(wait_report($node, $orphans[2]), 'Complete', 'wait_report on one of them completes it');
ok( poll_until($node, qq{
SELECT count(*) FROM _store_monitoring_internal.report
WHERE report_id IN ('$orphans[0]', '$orphans[1]', '$orphans[2]')
  AND status = 'Complete'
  AND _store_monitoring_internal._report_csv(report_id) = _store_monitoring_internal._report_csv('$ref')},
		'3'),
	'the workers started by that resume complete all three, with the reference CSV');

# --- kill while computing for real, on a larger data set -------------------
# No delay: the kill lands while the worker reads the inputs or computes,
# if the report takes longer than it takes us to see and kill it.
# True once the postmaster logs that process $pid died of SIGKILL (and so
# restarts the cluster); false when it did not within 10 s: the process had
# exited on its own already.
sub killed_by_signal
{
	my ($node, $pid, $offset) = @_;
	for (1 .. 100)
	{
		my $log = substr(slurp_file($node->logfile), $offset);
		return 1 if $log =~ /\(PID $pid\) was terminated by signal 9/;
		usleep(100_000);
	}
	return 0;
}

my $big = new_node('kill_worker_big');
load_data($big, 4000, hours => 200);
my $big_ref = trigger($big);
is(wait_report($big, $big_ref), 'Complete', 'large data set: reference report completes');
my $big_csv = report_csv($big, $big_ref);
my $interrupted = 0;
for my $round (1 .. 3)
{
	my $session = $big->background_psql('postgres');
	my $bid = $session->query_safe("SELECT store_monitoring.trigger_report('$AS_OF')");
	# Once a worker has claimed it, kill at once (round 1), or a little later
	# (rounds 2 and 3).
	my $bpid = $session->query_safe(claimed_worker_pid_sql($bid));
	usleep(($round - 1) * 150_000);
	# The worker may end the report, and exit, just before the signal lands:
	# only a kill the postmaster saw (it then crash-restarts) interrupted it.
	my $state = 'worker gone before the kill';
	my $offset = -s $big->logfile;
	if (kill('KILL', $bpid) && killed_by_signal($big, $bpid, $offset))
	{
		$big->wait_for_log(qr/database system is ready to accept connections/, $offset);
		poll_until($big, 'SELECT 1', '1') or die "server did not come back";
		$state = report_row($big, $bid)->{status};
	}
	# psql of the crashed session is gone too; reap it.
	eval { $session->quit };
	if ($state eq 'Running')
	{
		$interrupted++;
		is(report_row($big, $bid)->{attempts}, '1', "round $round: killed mid-computation, after one attempt");
	}
	else
	{
		note "round $round: the report was $state when the kill landed: not interrupted";
	}
	is(wait_report($big, $bid), 'Complete', "round $round: the report ends Complete");
	is(report_csv($big, $bid), $big_csv, "round $round: CSV equals the undisturbed report");
}
note "large data set: $interrupted of 3 kills interrupted a computing report";
$big->stop;

# --- max_attempts interrupted attempts: Failed ------------------------------
is( $node->safe_psql('postgres',
		"SELECT store_monitoring.check_time_zone('UTC'); SHOW store_monitoring.max_attempts"),
	"t\n3",
	'max_attempts defaults to 3');
set_conf($node, 'store_monitoring.debug_worker_delay' => 600_000);
$id = trigger($node);
for my $attempt (1 .. 3)
{
	# Attempts after the first are started by get_report (the resume).
	$node->safe_psql('postgres', "SELECT status FROM store_monitoring.get_report('$id')")
	  if $attempt > 1;
	$pid = wait_for_computing($node, $id, $attempt);
	ok(defined $pid, "attempt $attempt: claimed") or die;
	kill_worker_and_wait_restart($node, $pid);
	is(report_row($node, $id)->{status}, 'Running', "attempt $attempt killed: still Running");
}
# Without the delay a fourth attempt would complete: the report must fail
# instead.
set_conf($node, 'store_monitoring.debug_worker_delay' => 0);
is(wait_report($node, $id), 'Failed', 'after 3 interrupted attempts wait_report says Failed');
my $got = $node->safe_psql('postgres',
	"SELECT status || '|' || coalesce(error, '<null>') || '|' || CASE WHEN csv IS NULL THEN 't' ELSE 'f' END FROM store_monitoring.get_report('$id')");
my ($status, $error, $no_csv) = split /\|/, $got, 3;
is($status, 'Failed', 'get_report: Failed');
like($error, qr/interrupt/i, "the error mentions the interruptions: $error");
like($error, qr/3/, 'the error gives the number of attempts');
is($no_csv, 't', 'a failed report has no CSV');
$row = report_row($node, $id);
is($row->{attempts}, '3', 'the report records 3 attempts');
isnt($row->{finished_at}, '', 'finished_at is set');
is($node->safe_psql('postgres', "SELECT count(*) FROM _store_monitoring_internal.report_output WHERE report_id = '$id'"),
	'0', 'a failed report has no stored results');
# The reference report and the others are untouched by all this.
is( $node->safe_psql('postgres',
		"SELECT count(*) FROM _store_monitoring_internal.report WHERE status = 'Running'"),
	'0', 'no report is left Running');

$node->stop;
done_testing();
