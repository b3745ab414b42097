# Review attacks on the worker's identity and on what a role's read leaves
# in the worker's session (TAP: they need a database owned by a plain role
# and a worker that lives across two roles' reports).
#
# 1. A database owner runs ALTER DATABASE ... SET role = itself (or any
#    role: the value is only checked with a NOTICE). The settings apply to
#    the report workers, which connect as the bootstrap superuser, so their
#    own statements (claims, status writes) run as that role: every role's
#    report in the database stays Running for ever. The worker pins
#    search_path, default_transaction_read_only and the isolation level
#    against such settings, but not role.
# 1b. The same with ALTER DATABASE ... SET session_authorization (accepted
#    from the database owner; the worker, authenticated as a superuser, is
#    allowed to take it): the worker's session user becomes that role.
# 2. A role's view takes a session-level advisory lock while the worker
#    reads it as that role. OwnerRead promises that nothing the owner's
#    code does outlives the read; the lock stays with the worker (a
#    superuser process) while it computes other roles' reports, and can
#    block another role's application that uses that key.
# 3. A role holds ACCESS EXCLUSIVE on its own source and triggers one report
#    per worker: trigger_report() defers the check, each worker waits for
#    the lock (as the superuser, before the read) until report_timeout (an
#    hour by default), and another role's report waits in the queue all
#    that time. Nothing caps the workers one role's reports may hold.
#    (Fixed: a worker gives back a report whose read meets a lock held by
#    another transaction, and claims others meanwhile; so also for a lock
#    on the business hours, and one a function in the read takes after
#    setting lock_timeout = 0. A report that gives way for report_timeout
#    fails, naming the lock.)
# 4. A role's view raises an error whose message is megabytes of
#    incompressible text: each Failed report stores it whole in
#    report.error, which max_stored_per_role does not count (it counts
#    data and csv), and Failed reports are not capped by
#    max_queued_per_role either: the role fills the disk past its limit.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use StoreMonitoringTest;

my $node = new_node('review_identity', preload => 1);
$node->safe_psql(
	'postgres', q{
CREATE ROLE regress_rv_dbo LOGIN;
CREATE ROLE regress_rv_mallory LOGIN;
CREATE ROLE regress_rv_alice LOGIN;
CREATE DATABASE regress_rv OWNER regress_rv_dbo;
});
$node->safe_psql(
	'regress_rv', q{
CREATE EXTENSION store_monitoring;
CREATE SCHEMA regress_rv_mallory AUTHORIZATION regress_rv_mallory;
CREATE SCHEMA regress_rv_alice AUTHORIZATION regress_rv_alice;
});

# Each role's own three sources; its polls through a view over probe().
probe_sources($node, 'regress_rv', $_) for ('regress_rv_mallory', 'regress_rv_alice');

sub trigger_as
{
	my ($role) = @_;
	return $node->safe_psql('regress_rv',
		"SET ROLE $role; SELECT store_monitoring.trigger_report('$StoreMonitoringTest::AS_OF')");
}

# --- 1. ALTER DATABASE ... SET role -------------------------------------------
my $offset = -s $node->logfile;
$node->safe_psql('regress_rv', 'ALTER DATABASE regress_rv SET role = regress_rv_dbo',
	extra_params => [ '-U', 'regress_rv_dbo' ]);
# As mallory herself: the setting applies to a superuser's sessions too.
my $id = $node->safe_psql('regress_rv',
	"SELECT store_monitoring.trigger_report('$StoreMonitoringTest::AS_OF')",
	extra_params => [ '-U', 'regress_rv_mallory' ]);
my ($ret, $status, $err) = $node->psql('regress_rv',
	"SELECT store_monitoring.wait_report('$id', interval '60 seconds')",
	extra_params => [ '-U', 'regress_rv_mallory' ]);
is($status, 'Complete',
	"a report completes when the database owner set role for the database's sessions");
unlike(slurp_file($node->logfile, $offset),
	qr/could not claim a report: permission denied/,
	'the worker never claims as the role the database owner chose');
$node->safe_psql('postgres', 'ALTER DATABASE regress_rv RESET role');
# A worker still running with the setting exits when the queue is empty.
wait_report($node, $id, db => 'regress_rv', timeout => 60);
ok(wait_no_workers($node), 'the workers have exited');

# --- 1b. ALTER DATABASE ... SET session_authorization --------------------------
$offset = -s $node->logfile;
$node->safe_psql('regress_rv',
	'ALTER DATABASE regress_rv SET session_authorization = regress_rv_dbo',
	extra_params => [ '-U', 'regress_rv_dbo' ]);
$id = $node->safe_psql('regress_rv',
	"SELECT store_monitoring.trigger_report('$StoreMonitoringTest::AS_OF')",
	extra_params => [ '-U', 'regress_rv_mallory' ]);
($ret, $status, $err) = $node->psql('regress_rv',
	"SELECT store_monitoring.wait_report('$id', interval '60 seconds')",
	extra_params => [ '-U', 'regress_rv_mallory' ]);
is($status, 'Complete',
	'a report completes when the database owner set session_authorization for the database');
unlike(slurp_file($node->logfile, $offset),
	qr/could not claim a report: permission denied/,
	'the worker never claims as the session user the database owner chose');
$node->safe_psql('postgres', 'ALTER DATABASE regress_rv RESET session_authorization');
wait_report($node, $id, db => 'regress_rv', timeout => 60);
ok(wait_no_workers($node), 'the workers have exited (1b)');

# --- 2. a session-level advisory lock taken in the read ---------------------------
set_conf($node, 'store_monitoring.max_workers' => 1);
$node->safe_psql(
	'regress_rv', q{
SET ROLE regress_rv_mallory;
CREATE OR REPLACE FUNCTION regress_rv_mallory.probe() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_catalog.pg_advisory_lock(4242); RETURN true; END $$;
SET ROLE regress_rv_alice;
-- Waits (at most two minutes) until the test lets it go: the worker stays
-- in alice's read after mallory's report ended.
CREATE OR REPLACE FUNCTION regress_rv_alice.probe() RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE deadline timestamptz := pg_catalog.clock_timestamp() + interval '2 minutes';
BEGIN
  WHILE NOT EXISTS (SELECT 1 FROM regress_rv_alice.go)
        AND pg_catalog.clock_timestamp() < deadline LOOP
    PERFORM pg_catalog.pg_sleep(0.05);
  END LOOP;
  RETURN true;
END $$;
});
# In one transaction, so that one worker (max_workers = 1) finds both and
# computes mallory's first (the earlier key among equal request times).
my ($mallory_id, $alice_id) = split /\n/, $node->safe_psql(
	'regress_rv', qq{
BEGIN;
SET LOCAL ROLE regress_rv_mallory;
SELECT store_monitoring.trigger_report('$StoreMonitoringTest::AS_OF');
SET LOCAL ROLE regress_rv_alice;
SELECT store_monitoring.trigger_report('$StoreMonitoringTest::AS_OF');
COMMIT;});
my $pid = wait_for_computing($node, $alice_id, 1, db => 'regress_rv');
ok(defined $pid, "alice's report is being computed");
is( $node->safe_psql('regress_rv',
		"SELECT status || ' ' || (worker_pid = $pid) FROM _store_monitoring_internal.report WHERE report_id = '$mallory_id'"),
	'Complete true',
	"mallory's report completed first, in the same worker");
is( $node->safe_psql(
		'regress_rv', qq{
SELECT count(*) FROM pg_catalog.pg_locks
WHERE locktype = 'advisory' AND objid = 4242 AND pid = $pid}),
	'0',
	"the advisory lock mallory's view took is not held by the worker after her read");
$node->safe_psql('regress_rv', 'INSERT INTO regress_rv_alice.go VALUES (1)');
is(wait_report($node, $alice_id, db => 'regress_rv'), 'Complete', "alice's report completes");


# --- 3. one role's locked source holds every worker --------------------------------
set_conf($node, 'store_monitoring.max_workers' => 2);

# A session of mallory's that holds $relation in ACCESS EXCLUSIVE mode
# until it is terminated (terminate_locks below).
sub hold_lock
{
	my ($relation) = @_;
	my $session = start_psql(
		$node, qq{
BEGIN;
LOCK $relation IN ACCESS EXCLUSIVE MODE;
SELECT pg_catalog.pg_sleep(600);
}, db => 'regress_rv', user => 'regress_rv_mallory', timeout => 900);
	ok( poll_until(
			$node, qq{
SELECT count(*) FROM pg_catalog.pg_locks
WHERE relation = '$relation'::regclass AND mode = 'AccessExclusiveLock' AND granted},
			'1', db => 'regress_rv'),
		"mallory holds $relation locked");
	return $session;
}

sub terminate_locks
{
	my ($relation) = @_;
	$node->safe_psql(
		'regress_rv', qq{
SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_locks
WHERE relation = '$relation'::regclass AND mode = 'AccessExclusiveLock' AND granted});
}

# mallory's reports gave way: Running, waiting for their retry, with an
# error that names the lock, and none counted as an interrupted run.
sub gave_way
{
	my ($name, @ids) = @_;
	my $list = join ', ', map { "'$_'" } @ids;
	ok( poll_until(
			$node, qq{
SELECT count(*) FROM _store_monitoring_internal.report
WHERE report_id IN ($list) AND status = 'Running' AND lock_wait_since IS NOT NULL
  AND attempts <= 1 AND strpos(error, '$name') > 0},
			scalar(@ids), db => 'regress_rv'),
		"mallory's reports give way, their error naming $name");
	note $node->safe_psql('regress_rv',
		"SELECT error FROM _store_monitoring_internal.report WHERE report_id = '$ids[0]'");
}

my $locker = hold_lock('regress_rv_mallory.polls');
my @blocked = map { trigger_as('regress_rv_mallory') } 1 .. 2;
my $victim = trigger_as('regress_rv_alice');
# The worker never waits for the lock: mallory's view reads her locked table,
# whose lock her reads' statements meet (a lock timeout in the read).
is(wait_report($node, $victim, db => 'regress_rv'),
	'Complete', "alice's report completes while mallory holds her source locked");
gave_way('regress_rv_mallory.polls', @blocked);
terminate_locks('regress_rv_mallory.polls');
is(wait_report($node, $_, db => 'regress_rv', timeout => 120), 'Complete',
	'once the lock is released, every waiting report completes')
  for (@blocked, $victim);
finish_psql($locker);

# 3b. The business hours, a source the worker locks before the read.
$locker = hold_lock('regress_rv_mallory.hours');
@blocked = map { trigger_as('regress_rv_mallory') } 1 .. 2;
$victim = trigger_as('regress_rv_alice');
is(wait_report($node, $victim, db => 'regress_rv'),
	'Complete', "alice's report completes while mallory holds her business hours locked");
gave_way('regress_rv_mallory.hours', @blocked);
terminate_locks('regress_rv_mallory.hours');
is(wait_report($node, $_, db => 'regress_rv', timeout => 120), 'Complete',
	'once the business hours are released, the reports complete')
  for @blocked;
finish_psql($locker);

# 3c. A lock taken inside the read by mallory's own function, which also
# tries to lift the worker's lock wait limit.
$node->safe_psql(
	'regress_rv', q{
SET ROLE regress_rv_mallory;
CREATE OR REPLACE FUNCTION regress_rv_mallory.probe() RETURNS boolean LANGUAGE plpgsql
SET lock_timeout = 0 AS $$
BEGIN
  SET lock_timeout = 0;
  PERFORM pg_catalog.set_config('lock_timeout', '0', true);
  LOCK regress_rv_mallory.go IN ACCESS EXCLUSIVE MODE;
  RETURN true;
END $$;
});
$locker = hold_lock('regress_rv_mallory.go');
@blocked = map { trigger_as('regress_rv_mallory') } 1 .. 2;
$victim = trigger_as('regress_rv_alice');
is(wait_report($node, $victim, db => 'regress_rv'),
	'Complete', "alice's report completes while mallory's function waits for a lock");
gave_way('regress_rv_mallory.go', @blocked);

# 3c'. An advisory lock the read waits for.
$node->safe_psql(
	'regress_rv', q{
SET ROLE regress_rv_mallory;
CREATE OR REPLACE FUNCTION regress_rv_mallory.probe() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_catalog.pg_advisory_xact_lock(7777); RETURN true; END $$;
});
my $advisory = start_psql(
	$node, q{
SELECT pg_catalog.pg_advisory_lock(7777);
SELECT pg_catalog.pg_sleep(600);
}, db => 'regress_rv', user => 'regress_rv_mallory', timeout => 900);
ok( poll_until(
		$node,
		"SELECT count(*) FROM pg_catalog.pg_locks WHERE locktype = 'advisory' AND objid = 7777 AND granted",
		'1', db => 'regress_rv'),
	'mallory holds an advisory lock');
my @advised = map { trigger_as('regress_rv_mallory') } 1 .. 2;
$victim = trigger_as('regress_rv_alice');
is(wait_report($node, $victim, db => 'regress_rv'),
	'Complete', "alice's report completes while mallory's function waits for an advisory lock");
gave_way('an advisory lock', @advised);
$node->safe_psql('regress_rv',
	"SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_locks WHERE locktype = 'advisory' AND objid = 7777 AND granted");
finish_psql($advisory);
is(wait_report($node, $_, db => 'regress_rv', timeout => 120), 'Complete',
	'once the advisory lock is released, the reports complete')
  for @advised;
$node->safe_psql(
	'regress_rv', q{
SET ROLE regress_rv_mallory;
CREATE OR REPLACE FUNCTION regress_rv_mallory.probe() RETURNS boolean LANGUAGE plpgsql
SET lock_timeout = 0 AS $$
BEGIN
  SET lock_timeout = 0;
  LOCK regress_rv_mallory.go IN ACCESS EXCLUSIVE MODE;
  RETURN true;
END $$;
});

# 3d. A report that has given way for report_timeout fails, naming the lock.
set_conf($node, 'store_monitoring.report_timeout' => 2000);
my $late = trigger_as('regress_rv_mallory');
is(wait_report($node, $late, db => 'regress_rv'), 'Failed',
	'a report that gives way for longer than report_timeout fails');
like(
	$node->safe_psql('regress_rv',
		"SELECT error FROM _store_monitoring_internal.report WHERE report_id = '$late'"),
	qr/gave way to locks on its sources for longer than store_monitoring\.report_timeout .*regress_rv_mallory\.go/,
	'its error says so and names the locked relation');
set_conf($node, 'store_monitoring.report_timeout' => 3600000);
terminate_locks('regress_rv_mallory.go');
finish_psql($locker);
$node->safe_psql(
	'regress_rv', q{
SET ROLE regress_rv_mallory;
CREATE OR REPLACE FUNCTION regress_rv_mallory.probe() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN RETURN true; END $$;
});
wait_report($node, $_, db => 'regress_rv', timeout => 120) for @blocked;

# --- 4. errors as big as a role likes -------------------------------------------
set_conf($node, 'store_monitoring.max_stored_per_role' => 1024);
$node->safe_psql(
	'regress_rv', q{
SET ROLE regress_rv_mallory;
DELETE FROM regress_rv_mallory.go;
CREATE OR REPLACE FUNCTION regress_rv_mallory.probe() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '%', (SELECT pg_catalog.string_agg(pg_catalog.md5(g::text), '')
                        FROM pg_catalog.generate_series(1, 40000) g);
END $$;
});
my @failed = map { trigger_as('regress_rv_mallory') } 1 .. 3;
is(wait_report($node, $_, db => 'regress_rv'), 'Failed', 'the report with a huge error fails')
  for @failed;
my $held = $node->safe_psql(
	'regress_rv', q{
SELECT sum(coalesce(pg_catalog.pg_column_size(r.error), 0) + coalesce(pg_catalog.octet_length(r.csv), 0)
           + coalesce(pg_catalog.octet_length(o.data), 0))
FROM _store_monitoring_internal.report r LEFT JOIN _store_monitoring_internal.report_output o USING (report_id)
WHERE r.owner = 'regress_rv_mallory'::regrole});
cmp_ok($held, '<=', 1024 * 1024,
	"what mallory's reports hold, errors included, stays within max_stored_per_role");

# --- 5. a role's read asks about its own Running report ---------------------------
# list_reports() shows the progress of a report being computed by reading the
# worker's shared segment; from inside that worker's read, it is the worker's
# own segment, which PostgreSQL refused to map twice (an internal error that
# failed the report).
$node->safe_psql(
	'regress_rv', q{
SET ROLE regress_rv_mallory;
CREATE OR REPLACE FUNCTION regress_rv_mallory.probe() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM store_monitoring.list_reports(status => 'Running');
  RETURN true;
END $$;
});
my $self = trigger_as('regress_rv_mallory');
is(wait_report($node, $self, db => 'regress_rv'), 'Complete',
	'a report whose read lists its own Running report completes');

done_testing();
