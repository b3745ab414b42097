# Fault injection: a report worker SIGKILLed at each point of its work, and at
# random moments, ends Complete with the numbers of an undisturbed report once
# recovery runs; a trigger whose transaction does not commit leaves neither a
# report nor a worker; DROP EXTENSION and DROP DATABASE ... WITH (FORCE)
# while a report runs neither crash the server nor leave a worker behind.
# (stop -m immediate mid-report is 004_worker_restart.pl's.)
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

use FindBin;
use lib "$FindBin::RealBin/../perl";
use StoreMonitoringTest;

# debug1: the postmaster logs every background worker it starts.
my $node = new_node('faults',
	conf => [ 'log_min_messages = debug1', 'max_prepared_transactions = 2' ]);
my $started_re = qr/starting background worker process "[^"]*store_monitoring/;
# What a crash (or a crash restart) leaves in the log. Our own SIGKILLs do
# too, so this is looked for only where we kill nothing.
my $crash_re = qr/terminated by signal|terminated by exception|reinitializing|PANIC|TRAP:/;

load_data($node, 3000);
my $stores = store_count($node);
my $ref = trigger($node);
is(wait_report($node, $ref), 'Complete', 'undisturbed reference report completes');
my $ref_csv = report_csv($node, $ref);

sub result_rows
{
	my ($id, $db) = @_;
	return $node->safe_psql($db // 'postgres',
		"SELECT CASE WHEN EXISTS (SELECT FROM _store_monitoring_internal.report_output"
		  . " WHERE report_id = '$id') THEN (SELECT count(*)"
		  . " FROM store_monitoring.report_rows('$id')) ELSE 0 END");
}

# --- 20 kills, 5 at each pause point ---------------------------------------
# Each run: the worker sleeps at the point, we lift the delay (a crash restart
# keeps the postmaster's settings: the recovered worker must not sleep again;
# the sleeping one read its delay when it began to sleep), SIGKILL it, wait
# for the crash restart, and let wait_report recover the report.
my @points = qw(claimed reading writing committing);
my $complete = 0;
for my $run (1 .. 20)
{
	my $point = $points[ ($run - 1) % 4 ];
	my $label = "run $run (killed at '$point')";
	set_conf($node,
		'store_monitoring.debug_pause_point' => $point,
		'store_monitoring.debug_worker_delay' => 600_000);
	my $id = trigger($node);
	my $pid = wait_for_pause_point($node, $id, $point);
	ok(defined $pid, "$label: the worker sleeps at the pause point")
	  or die 'the worker did not reach the pause point: '
	  . log_excerpt($node, 0, 'store_monitoring|ERROR|WARNING');
	set_conf($node, 'store_monitoring.debug_worker_delay' => 0);
	kill_worker_and_wait_restart($node, $pid);

	# Nobody sees half a report: a killed report is Running without rows.
	my $row = report_row($node, $id);
	is("$row->{status}/$row->{attempts}/" . result_rows($id),
		'Running/1/0', "$label: after the crash the report is Running, attempt 1, no rows");

	my $status = wait_report($node, $id);
	$row = report_row($node, $id);
	my $csv = report_csv($node, $id);
	is("$status/$row->{attempts}/$row->{error}", 'Complete/2/',
		"$label: recovery completes it on a second attempt, no error");
	ok($csv eq $ref_csv && result_rows($id) == $stores,
		"$label: CSV equals the reference, one result row per store");
	$complete++ if $status eq 'Complete' && $csv eq $ref_csv;
}
is($complete, 20, '20 of 20 killed reports ended Complete with the reference numbers');
is( $node->safe_psql('postgres',
		"SELECT count(*) FROM _store_monitoring_internal.report WHERE status <> 'Complete'"),
	'0', 'no report is left Running or Failed');
ok(wait_no_workers($node), 'no worker remains');

# --- kills at random moments, no pause, larger data set --------------------
$node->safe_psql('postgres', 'CREATE DATABASE big');
$node->safe_psql('big', 'CREATE EXTENSION store_monitoring');
load_data($node, 10000, db => 'big', hours => 170);
my $big_ref = trigger($node, db => 'big');
is(wait_report($node, $big_ref, db => 'big'), 'Complete', 'large data set: reference report completes');
my $big_csv = report_csv($node, $big_ref, 'big');
# How long the undisturbed computation took (µs): the kills land in it.
my $big_us = $node->safe_psql('big', qq{
SELECT (extract(epoch FROM finished_at - started_at) * 1e6)::bigint
FROM _store_monitoring_internal.report WHERE report_id = '$big_ref'});
my $seed = $ENV{SM_FAULT_SEED} // time();
srand($seed);
note "random kills: seed $seed (SM_FAULT_SEED), undisturbed report took $big_us us";
my ($interrupted, $random_complete) = (0, 0);

# SIGKILLs $pid unless it has already exited. If it was killed, waits for
# the crash restart and returns true; if it had ended on its own first
# (normal exit, logged at debug1), returns false.
sub kill_if_running
{
	my ($pid) = @_;
	my $offset = -s $node->logfile;
	return 0 unless kill('KILL', $pid);
	my $deadline = time() + $PostgreSQL::Test::Utils::timeout_default;
	while (time() < $deadline)
	{
		my $log = slurp_file($node->logfile, $offset);
		return 0 if $log =~ /\(PID $pid\) exited with exit code 0/;
		if ($log =~ /\(PID $pid\) was terminated by signal 9/)
		{
			$node->wait_for_log(qr/database system is ready to accept connections/, $offset);
			poll_until($node, 'SELECT 1', '1') or die 'server did not come back';
			return 1;
		}
		usleep(50_000);
	}
	die "neither a crash nor a normal exit of $pid was logged";
}
for my $round (1 .. 4)
{
	my $session = $node->background_psql('big');
	my $id = $session->query_safe("SELECT store_monitoring.trigger_report('$AS_OF')");
	my $pid = $session->query_safe(claimed_worker_pid_sql($id));
	my $after_us = int(rand($big_us));
	usleep($after_us);
	my $state =
	  kill_if_running($pid)
	  ? report_row($node, $id, 'big')->{status}
	  : 'worker gone before the kill';
	eval { $session->quit };    # its backend died in the crash restart
	note "round $round: killed ${after_us} us after the claim; the report was $state";
	if ($state eq 'Running')
	{
		$interrupted++;
		is(result_rows($id, 'big'), '0', "round $round: the interrupted report has no rows");
	}
	my $status = wait_report($node, $id, db => 'big');
	is($status, 'Complete', "round $round: the report ends Complete");
	my $same = report_csv($node, $id, 'big') eq $big_csv;
	ok($same, "round $round: CSV equals the undisturbed report");
	$random_complete++ if $status eq 'Complete' && $same;
}
note "random kills: $interrupted of 4 interrupted a Running report";
is($random_complete, 4, 'every randomly killed report ended Complete with the reference numbers');

# --- a trigger whose transaction does not commit ---------------------------
ok(wait_no_workers($node), 'rollbacks: no worker runs to begin with');
my $reports = $node->safe_psql('postgres', 'SELECT count(*) FROM _store_monitoring_internal.report');

# Looks for about a second whether a worker shows up, and in the log whether
# one was started since $offset; checks there is no row for $id.
sub nothing_left
{
	my ($label, $id, $offset) = @_;
	like($id, qr/^\S{16}$/, "$label: the trigger returned an id");
	my $sampler = $node->background_psql('postgres');
	my $seen = 0;
	for (1 .. 10)
	{
		$seen += $sampler->query_safe(q{
SELECT count(*) FROM pg_catalog.pg_stat_activity
WHERE backend_type = 'store_monitoring worker'});
		usleep(100_000);
	}
	$sampler->quit;
	is($seen, 0, "$label: no store_monitoring worker in pg_stat_activity for a second");
	unlike(slurp_file($node->logfile, $offset), $started_re, "$label: no worker was started");
	is( $node->safe_psql('postgres',
			"SELECT count(*) FROM _store_monitoring_internal.report WHERE report_id = '$id'"),
		'0', "$label: no report row");
	return;
}

# ROLLBACK.
my $offset = -s $node->logfile;
my $id = $node->safe_psql('postgres', qq{
BEGIN;
SELECT store_monitoring.trigger_report('$AS_OF') AS id \\gset
ROLLBACK;
SELECT :'id';});
nothing_left('ROLLBACK', $id, $offset);

# An error later in the transaction: COMMIT rolls back.
$offset = -s $node->logfile;
my ($ret, $out, $err) = $node->psql('postgres', qq{
BEGIN;
SELECT store_monitoring.trigger_report('$AS_OF') AS id \\gset
SELECT 1 / 0;
COMMIT;
SELECT :'id';}, on_error_stop => 0);
like($err, qr/division by zero/, 'error in the transaction: the statement after the trigger fails');
nothing_left('error, then COMMIT', $out, $offset);

# The triggering session is terminated before it commits.
$offset = -s $node->logfile;
my $session = $node->background_psql('postgres');
$session->query_safe('BEGIN');
$id = $session->query_safe("SELECT store_monitoring.trigger_report('$AS_OF')");
my $backend = $session->query_safe('SELECT pg_catalog.pg_backend_pid()');
is($node->safe_psql('postgres', "SELECT pg_catalog.pg_terminate_backend($backend, 60000)"),
	't', 'terminated session: pg_terminate_backend ends the triggering backend');
eval { $session->quit };
nothing_left('terminated session', $id, $offset);

# The triggering backend is SIGKILLed before it commits: crash restart.
$session = $node->background_psql('postgres');
$session->query_safe('BEGIN');
$id = $session->query_safe("SELECT store_monitoring.trigger_report('$AS_OF')");
$backend = $session->query_safe('SELECT pg_catalog.pg_backend_pid()');
$offset = -s $node->logfile;
kill_worker_and_wait_restart($node, $backend);
eval { $session->quit };
nothing_left('killed triggering backend', $id, $offset);

# Two-phase commit: PREPARE, then ROLLBACK PREPARED.
$offset = -s $node->logfile;
$id = $node->safe_psql('postgres', qq{
BEGIN;
SELECT store_monitoring.trigger_report('$AS_OF') AS id \\gset
PREPARE TRANSACTION 'sm_rollback';
ROLLBACK PREPARED 'sm_rollback';
SELECT :'id';});
nothing_left('ROLLBACK PREPARED', $id, $offset);
is($node->safe_psql('postgres', 'SELECT count(*) FROM _store_monitoring_internal.report'),
	$reports, 'no rolled-back trigger left a report');

# PREPARE, then COMMIT PREPARED: the report exists, and recovery runs it.
$id = $node->safe_psql('postgres', qq{
BEGIN;
SELECT store_monitoring.trigger_report('$AS_OF') AS id \\gset
PREPARE TRANSACTION 'sm_commit';
COMMIT PREPARED 'sm_commit';
SELECT :'id';});
is(wait_report($node, $id), 'Complete', 'COMMIT PREPARED: wait_report completes the report');
is(report_csv($node, $id), $ref_csv, 'COMMIT PREPARED: CSV equals the reference');

# --- DROP EXTENSION while a report runs ------------------------------------
# CASCADE: the inputs hold rows, and a drop without it is refused (see
# drop_extension.sql).
# Short delays: after the DROP the worker has to wake up and end by itself.
# At 'claimed' and 'reading' the worker holds no lock on the extension's
# tables, so the DROP goes through and the worker then finds them gone; at
# 'writing' and 'committing' it holds locks on them, so the DROP waits for
# the report to commit.
my $small_csv;
for my $point (@points)
{
	my $label = "DROP EXTENSION at '$point'";
	ok(wait_no_workers($node), "$label: no worker runs before");
	set_conf($node,
		'store_monitoring.debug_pause_point' => $point,
		'store_monitoring.debug_worker_delay' => 3000);
	$id = trigger($node);
	my $pid = wait_for_pause_point($node, $id, $point);
	ok(defined $pid, "$label: the worker sleeps at the pause point") or die;
	$offset = -s $node->logfile;
	my ($ret, undef, $err) = $node->psql('postgres', 'DROP EXTENSION store_monitoring CASCADE');
	is($ret, 0, "$label: DROP EXTENSION succeeds") or diag $err;
	ok(wait_no_workers($node), "$label: the worker ends, none remains");
	unlike(slurp_file($node->logfile, $offset), $crash_re, "$label: no crash")
	  or diag log_excerpt($node, $offset, $crash_re);
	is( $node->safe_psql('postgres',
			"SELECT count(*) FROM pg_catalog.pg_extension WHERE extname = 'store_monitoring'"),
		'0', "$label: the extension is gone");

	# And it comes back.
	$node->safe_psql('postgres', 'CREATE EXTENSION store_monitoring');
	load_data($node, 300);
	set_conf($node, 'store_monitoring.debug_worker_delay' => 0);
	my $new = trigger($node);
	is(wait_report($node, $new), 'Complete', "$label: after CREATE EXTENSION a new report completes");
	$small_csv //= report_csv($node, $new);
	is(report_csv($node, $new), $small_csv, "$label: with the numbers of the same data");
}

# DROP and CREATE EXTENSION again while the worker still sleeps at 'claimed':
# it wakes up in the new extension, with a report that no longer exists.
set_conf($node,
	'store_monitoring.debug_pause_point' => 'claimed',
	'store_monitoring.debug_worker_delay' => 3000);
my $gone = trigger($node);
my $pid = wait_for_pause_point($node, $gone, 'claimed');
ok(defined $pid, 'DROP + CREATE: the worker sleeps at the pause point') or die;
$offset = -s $node->logfile;
$node->safe_psql('postgres',
	'DROP EXTENSION store_monitoring CASCADE; CREATE EXTENSION store_monitoring');
load_data($node, 300);
set_conf($node, 'store_monitoring.debug_worker_delay' => 0);
$id = trigger($node);
is(wait_report($node, $id), 'Complete', 'DROP + CREATE: a report of the new extension completes');
is(report_csv($node, $id), $small_csv, 'DROP + CREATE: with the numbers of its data');
ok(wait_no_workers($node), 'DROP + CREATE: the old worker ends, none remains');
unlike(slurp_file($node->logfile, $offset), $crash_re, 'DROP + CREATE: no crash');
# The woken worker must not write the rows of its dropped report into the
# new extension's tables (they would belong to no report).
is( $node->safe_psql('postgres', q{
SELECT count(*) FROM _store_monitoring_internal.report_output rr
WHERE NOT EXISTS (SELECT 1 FROM _store_monitoring_internal.report r WHERE r.report_id = rr.report_id)}),
	'0',
	'DROP + CREATE: no result rows without a report')
  or diag 'result rows of the dropped report ' . $gone . ': '
  . result_rows($gone);

# --- DROP DATABASE ... WITH (FORCE) while a report runs in it --------------
$node->safe_psql('postgres', 'CREATE DATABASE small');
$node->safe_psql('small', 'CREATE EXTENSION store_monitoring');
load_data($node, 300, db => 'small');
for my $case ([ 'big', 'committing' ], [ 'small', 'claimed' ])
{
	my ($db, $point) = @$case;
	my $label = "DROP DATABASE $db at '$point'";
	# A long delay: only the DROP can end this worker.
	set_conf($node,
		'store_monitoring.debug_pause_point' => $point,
		'store_monitoring.debug_worker_delay' => 600_000);
	$id = trigger($node, db => $db);
	my $pid = wait_for_pause_point($node, $id, $point, db => $db);
	ok(defined $pid, "$label: the worker sleeps at the pause point") or die;
	$offset = -s $node->logfile;
	my ($ret, undef, $err) = $node->psql('postgres', "DROP DATABASE $db WITH (FORCE)");
	is($ret, 0, "$label: DROP DATABASE succeeds") or diag $err;
	is( $node->safe_psql('postgres',
			"SELECT count(*) FROM pg_catalog.pg_database WHERE datname = '$db'"),
		'0', "$label: the database is gone");
	ok(wait_no_workers($node), "$label: no worker remains");
	ok(!kill(0, $pid), "$label: the worker process has exited");
	unlike(slurp_file($node->logfile, $offset), $crash_re, "$label: no crash")
	  or diag log_excerpt($node, $offset, $crash_re);
}
set_conf($node, 'store_monitoring.debug_worker_delay' => 0);
$id = trigger($node);
is(wait_report($node, $id), 'Complete', 'after the dropped databases the server still completes reports');
is(report_csv($node, $id), $small_csv, '... with the right numbers');

$node->stop;
done_testing();
