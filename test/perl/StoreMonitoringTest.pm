# Shared helpers of store_monitoring's TAP tests (test/t/*.pl).
#
# Every wait here is bounded (PostgreSQL::Test::Utils::timeout_default,
# 180 s unless PG_TEST_TIMEOUT_DEFAULT says otherwise) and every helper
# reports what it saw when it gives up, so a broken promise fails the test
# instead of hanging it. Tests assert outcomes, never durations.
package StoreMonitoringTest;

use strict;
use warnings;

use Exporter 'import';
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

our @EXPORT = qw(
  $AS_OF
  new_node
  load_data
  store_count
  shard_setup_sql
  probe_sources
  trigger
  wait_report
  report_row
  report_csv
  poll_value
  poll_until
  set_conf
  wait_for_computing
  claimed_worker_pid_sql
  kill_worker_and_wait_restart
  worker_pids
  wait_no_workers
  log_excerpt
);

# The instant every test report is computed for. The generated polls reach
# up to 49 minutes past it, so each report also has to ignore its future.
our $AS_OF = '2023-01-25 12:00:00+00';

my $timeout = $PostgreSQL::Test::Utils::timeout_default;

# A started node with the extension created in database 'postgres'.
#   conf    => [lines for postgresql.conf]
#   preload => 1: shared_preload_libraries = 'store_monitoring'
sub new_node
{
	my ($name, %opt) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	my @conf = (
		# The TAP default is off; killed workers must crash-restart the server.
		'restart_after_crash = on',
		'max_connections = 60',
		# Parallel query would compete with the report workers for slots.
		'max_parallel_workers_per_gather = 0',
		'log_min_messages = info',
	);
	push @conf, "shared_preload_libraries = 'store_monitoring'" if $opt{preload};
	push @conf, @{ $opt{conf} } if $opt{conf};
	$node->append_conf('postgresql.conf', join("\n", @conf));
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION store_monitoring');
	return $node;
}

# Generates a deterministic, varied data set with generate_series:
# $n stores '0001'.. with hourly polls over 8 days around $AS_OF (some gaps,
# ~20 % inactive, some polls in the report's future), several time zones
# (every 10th store has no time-zone row: America/Chicago), business hours
# of several shapes (every 7th store has none: open 24x7; overnight shifts,
# split shifts, 'until close of day', closed on Sundays), plus a few stores
# known only from business hours or only from a time-zone row.
#   hours => poll hours per store (default 200)
#   db    => database (default 'postgres')
#   schema => schema of the three input tables (default 'store_monitoring';
#            012_shards_report.pl loads through partitioned tables in 'public')
sub load_data
{
	my ($node, $n, %opt) = @_;
	my $hours = $opt{hours} // 200;
	my $db = $opt{db} // 'postgres';
	my $s = $opt{schema} // 'store_monitoring';
	$node->safe_psql(
		$db, qq{
SET synchronous_commit = off;
INSERT INTO $s.store_timezone (store_id, timezone_str)
SELECT lpad(s::text, 5, '0'),
       (ARRAY['America/New_York', 'America/Chicago', 'America/Denver',
              'America/Los_Angeles', 'Europe/Berlin', 'Asia/Kolkata', 'UTC',
              'Australia/Sydney'])[1 + s % 8]
FROM generate_series(1, $n) s
WHERE s % 10 <> 0;

INSERT INTO $s.business_hours
       (store_id, day_of_week, start_time_local, end_time_local)
SELECT lpad(s::text, 5, '0'), d,
       (ARRAY['09:00', '22:00', '10:00', '00:00', '06:30'])[1 + s % 5]::time,
       (ARRAY['17:00', '02:00', '23:59:59', '00:00', '14:15'])[1 + s % 5]::time
FROM generate_series(1, $n) s, generate_series(0, 6) d
WHERE s % 7 <> 0 AND NOT (s % 3 = 0 AND d = 6);

-- split shifts: a second row in the evening
INSERT INTO $s.business_hours
       (store_id, day_of_week, start_time_local, end_time_local)
SELECT lpad(s::text, 5, '0'), d, '18:00', '21:30'
FROM generate_series(1, $n) s, generate_series(0, 6) d
WHERE s % 7 <> 0 AND s % 5 IN (0, 4);

INSERT INTO $s.store_status (store_id, status, timestamp_utc)
SELECT lpad(s::text, 5, '0'),
       CASE WHEN (s * 7919 + h * 104729 + (s / 17) * h) % 10 < 2
            THEN 'inactive' ELSE 'active' END::store_monitoring.poll_status,
       timestamptz '$AS_OF' - interval '1 hour' * h
         + interval '1 minute' * ((s * 31 + h * 17) % 50)
         + interval '1 second' * ((s * 13 + h) % 60)
FROM generate_series(1, $n) s, generate_series(0, $hours - 1) h
WHERE (s * 13 + h * 7) % 23 <> 0;

-- stores known only from business hours (no polls: all downtime) ...
INSERT INTO $s.business_hours
SELECT 'bh-only-' || i, i % 7, '08:00', '20:00' FROM generate_series(1, 3) i;
-- ... or only from a time-zone row (24x7, no polls)
INSERT INTO $s.store_timezone
SELECT 'tz-only-' || i, 'Asia/Tokyo' FROM generate_series(1, 2) i;
ANALYZE $s.store_status, $s.business_hours, $s.store_timezone;
});
	return;
}

# Number of stores known to any input table: the rows a report must have.
sub store_count
{
	my ($node, $db) = @_;
	return $node->safe_psql($db // 'postgres', q{
SELECT count(*) FROM (
  SELECT store_id FROM store_monitoring.store_status
  UNION SELECT store_id FROM store_monitoring.business_hours
  UNION SELECT store_id FROM store_monitoring.store_timezone) s});
}

# SQL that makes a database the coordinator of the nodes in %$shards (name =>
# node): the postgres_fdw extension, a server per shard (with the extra
# server options given), a user mapping for the current user, add_shard().
sub shard_setup_sql
{
	my ($shards, %options) = @_;
	my $extra = join '', map { ", $_ '$options{$_}'" } sort keys %options;
	my $sql = "CREATE EXTENSION postgres_fdw;\n";
	for my $name (sort keys %$shards)
	{
		my ($host, $port) = ($shards->{$name}->host, $shards->{$name}->port);
		$sql .= qq{
CREATE SERVER $name FOREIGN DATA WRAPPER postgres_fdw
    OPTIONS (host '$host', port '$port', dbname 'postgres'$extra);
CREATE USER MAPPING FOR CURRENT_USER SERVER $name;
SELECT store_monitoring.add_shard('$name');
};
	}
	return $sql;
}

# A role's own three sources in its schema of the same name, its polls
# through a view that calls its function probe() (a test replaces probe()
# with the attack it needs), one store 's1' with a poll at 11:30 UTC, and an
# empty table go for the attacks to wait on.
sub probe_sources
{
	my ($node, $db, $role) = @_;
	$node->safe_psql(
		$db, qq{
SET ROLE $role;
SET search_path = $role;
CREATE TABLE polls (store_id text, timestamp_utc timestamptz, status text);
CREATE TABLE hours (store_id text, day_of_week int, start_time_local time,
                    end_time_local time);
CREATE TABLE zones (store_id text, timezone_str text);
CREATE TABLE go (x int);
INSERT INTO polls VALUES ('s1', '2023-01-25 11:30+00', 'active');
INSERT INTO zones VALUES ('s1', 'UTC');
CREATE FUNCTION probe() RETURNS boolean LANGUAGE plpgsql AS \$\$ BEGIN RETURN true; END \$\$;
CREATE VIEW polls_v AS SELECT * FROM $role.polls WHERE $role.probe();
SELECT store_monitoring.set_sources('$role.polls_v', '$role.hours', '$role.zones');
});
	return;
}

# trigger_report(as_of) in its own transaction; returns the report id.
sub trigger
{
	my ($node, %opt) = @_;
	my $db = $opt{db} // 'postgres';
	my $arg = exists $opt{as_of} && !defined $opt{as_of} ? '' : "'" . ($opt{as_of} // $AS_OF) . "'";
	my $id = $node->safe_psql($db, "SELECT store_monitoring.trigger_report($arg)");
	die "trigger_report returned no id" unless length $id;
	return $id;
}

# wait_report(id) with a bounded timeout; returns the status it returned.
sub wait_report
{
	my ($node, $id, %opt) = @_;
	my $db = $opt{db} // 'postgres';
	my $t = $opt{timeout} // $timeout;
	my ($ret, $out, $err) = $node->psql($db,
		"SELECT store_monitoring.wait_report('$id', interval '$t seconds')",
		timeout => $t + 60);
	diag "wait_report('$id') failed: $err" if $ret != 0;
	return $out;
}

# The report's row (read as superuser, so directly from the table and
# without get_report's side effects), as a hash without csv.
sub report_row
{
	my ($node, $id, $db) = @_;
	return $node->query_hash(
		$db // 'postgres',
		"SELECT __COLUMNS__ FROM _store_monitoring_internal.report WHERE report_id = '$id'",
		qw(status phase attempts worker_pid store_count as_of error
		  started_at finished_at));
}

sub report_csv
{
	my ($node, $id, $db) = @_;
	return $node->safe_psql($db // 'postgres',
		"SELECT _store_monitoring_internal._report_csv('$id')");
}

# Runs $sql in a new session until it prints something without an error,
# and returns that output (chomped); undef with a diagnostic after the
# timeout. Sessions that fail (server restarting) are retried.
sub poll_value
{
	my ($node, $sql, %opt) = @_;
	my $db = $opt{db} // 'postgres';
	my $t = $opt{timeout} // $timeout;
	my ($out, $err) = ('', '');
	my $deadline = time() + $t;
	while (time() < $deadline)
	{
		my $ret;
		($ret, $out, $err) = $node->psql($db, $sql, timeout => $t);
		return $out if $ret == 0 && $out ne '';
		usleep($opt{interval_us} // 50_000);
	}
	diag "poll_value timed out after ${t}s: $sql\nlast output: $out\nlast error: $err";
	return undef;
}

# Like poll_query_until but with our timeout and retry rules: true once
# $sql prints $expected.
sub poll_until
{
	my ($node, $sql, $expected, %opt) = @_;
	my $db = $opt{db} // 'postgres';
	my $t = $opt{timeout} // $timeout;
	my ($out, $err) = ('', '');
	my $deadline = time() + $t;
	while (time() < $deadline)
	{
		my $ret;
		($ret, $out, $err) = $node->psql($db, $sql, timeout => $t);
		return 1 if $ret == 0 && $out eq $expected;
		usleep($opt{interval_us} // 100_000);
	}
	diag "poll_until timed out after ${t}s: $sql\nexpected: $expected\nlast output: $out\nlast error: $err";
	return 0;
}

# Appends settings to postgresql.conf, reloads, and waits until new sessions
# (hence new workers, forked by the postmaster after its reload) see them.
# %settings: name => value in the setting's base unit, as pg_settings shows.
sub set_conf
{
	my ($node, %settings) = @_;
	$node->append_conf('postgresql.conf',
		join("\n", map { "$_ = '$settings{$_}'" } sort keys %settings));
	$node->reload;
	for my $name (sort keys %settings)
	{
		# The first statement loads the module, which defines its settings.
		poll_until($node,
			"SELECT store_monitoring.check_time_zone('UTC');\n"
			  . "SELECT setting FROM pg_catalog.pg_settings WHERE name = '$name';",
			"t\n$settings{$name}")
		  or die "setting $name = $settings{$name} did not take effect";
	}
	return;
}

# Waits until report $id is Running in phase 'computing' on attempt
# $attempt, claimed by a live 'store_monitoring worker' backend; returns
# that backend's pid (undef after the timeout).
sub wait_for_computing
{
	my ($node, $id, $attempt, %opt) = @_;
	return poll_value(
		$node, qq{
SELECT r.worker_pid FROM _store_monitoring_internal.report r
JOIN pg_catalog.pg_stat_activity a ON a.pid = r.worker_pid
WHERE r.report_id = '$id' AND r.status = 'Running' AND r.phase = 'computing'
  AND r.attempts = $attempt AND a.backend_type = 'store_monitoring worker'},
		%opt);
}

# SQL that spins in the server until a worker has claimed report $id (or
# it has finished), then returns the report's worker_pid: run it in a
# background session right after the trigger to act on the worker as soon
# as it has the report, sooner than polling from the client could.
sub claimed_worker_pid_sql
{
	my ($id) = @_;
	return qq{
DO \$\$ BEGIN
  LOOP
    EXIT WHEN EXISTS (SELECT 1 FROM _store_monitoring_internal.report
                      WHERE report_id = '$id' AND (phase <> 'queued' OR status <> 'Running'));
    PERFORM pg_catalog.pg_sleep(0.001);
  END LOOP;
END \$\$;
SELECT worker_pid FROM _store_monitoring_internal.report WHERE report_id = '$id';};
}

# SIGKILLs a worker and waits until the postmaster has crash-restarted and
# accepts connections again.
sub kill_worker_and_wait_restart
{
	my ($node, $pid) = @_;
	my $offset = -s $node->logfile;
	kill('KILL', $pid) or die "could not kill $pid: $!";
	$node->wait_for_log(qr/all server processes terminated; reinitializing/, $offset);
	$node->wait_for_log(qr/database system is ready to accept connections/, $offset);
	poll_until($node, 'SELECT 1', '1') or die "server did not come back";
	return;
}

sub worker_pids
{
	my ($node, $db) = @_;
	my $out = $node->safe_psql($db // 'postgres', q{
SELECT pid FROM pg_catalog.pg_stat_activity
WHERE backend_type = 'store_monitoring worker' ORDER BY pid});
	return grep { length } split /\n/, $out;
}

# Waits until no report worker runs (they exit once the queue is empty).
sub wait_no_workers
{
	my ($node, $db) = @_;
	return poll_until($node, q{
SELECT count(*) FROM pg_catalog.pg_stat_activity
WHERE backend_type = 'store_monitoring worker'}, '0', db => $db);
}

# The server log from $offset, for diagnostics of failures.
sub log_excerpt
{
	my ($node, $offset, $pattern) = @_;
	my $log = slurp_file($node->logfile, $offset // 0);
	my @lines = split /\n/, $log;
	@lines = grep { /$pattern/ } @lines if $pattern;
	@lines = @lines[-60 .. -1] if @lines > 60;
	return join("\n", @lines);
}

# --- Helpers of the fault-injection and load tests (006, 008) ---------------
use IPC::Run ();

push @EXPORT, qw(wait_for_pause_point start_psql psql_running finish_psql);

# What a worker sleeping in the debug pause (store_monitoring.debug_pause_point)
# looks like from outside, as a condition on its pg_stat_activity row "a":
#   claimed     between transactions: no snapshot, no locks on the inputs
#   reading     in the computing transaction, snapshot taken, inputs unread
#   writing     inputs read (still locked), no result row written
#   committing  result rows written and the report updated, not committed
my $holds = sub {
	my ($relation, $mode) = @_;
	return "EXISTS (SELECT 1 FROM pg_catalog.pg_locks l WHERE l.pid = a.pid AND l.granted"
	  . " AND l.relation = '$relation'::pg_catalog.regclass AND l.mode = '$mode')";
};
my $inputs = 'store_monitoring.store_status';
my $results = '_store_monitoring_internal.report_output';
my %pause_state = (
	claimed => 'a.backend_xmin IS NULL AND NOT ' . $holds->($inputs, 'AccessShareLock'),
	reading => 'a.backend_xmin IS NOT NULL AND NOT ' . $holds->($inputs, 'AccessShareLock'),
	writing => $holds->($inputs, 'AccessShareLock') . ' AND NOT '
	  . $holds->($results, 'RowExclusiveLock'),
	committing => $holds->($results, 'RowExclusiveLock') . ' AND '
	  . $holds->('_store_monitoring_internal.report', 'RowExclusiveLock'),
);

# Waits until the worker of report $id (attempt $opt{attempt}, default 1)
# sleeps in the debug pause at $point (wait event Extension, in the state
# above); returns its pid, undef after the timeout.
#   db => database (default 'postgres')
sub wait_for_pause_point
{
	my ($node, $id, $point, %opt) = @_;
	die "unknown pause point $point" unless $pause_state{$point};
	my $attempt = $opt{attempt} // 1;
	return poll_value(
		$node, qq{
SELECT a.pid FROM _store_monitoring_internal.report r
JOIN pg_catalog.pg_stat_activity a ON a.pid = r.worker_pid
WHERE r.report_id = '$id' AND r.status = 'Running' AND r.phase = 'computing'
  AND r.attempts = $attempt AND a.backend_type = 'store_monitoring worker'
  AND a.wait_event_type = 'Extension' AND a.wait_event = 'Extension'
  AND $pause_state{$point}},
		%opt);
}

# Starts psql on $sql (one session, ON_ERROR_STOP) without waiting for it;
# bounded by the test timeout. Returns a handle for psql_running/finish_psql.
#   db => database (default 'postgres'), user => role to log in as,
#   timeout => seconds
sub start_psql
{
	my ($node, $sql, %opt) = @_;
	my $dir = PostgreSQL::Test::Utils::tempdir;
	my %h = (in => "$dir/in.sql", out => "$dir/out", err => "$dir/err");
	open my $fh, '>', $h{in} or die "$h{in}: $!";
	print $fh $sql;
	close $fh;
	$h{run} = IPC::Run::start(
		[
			$node->installed_command('psql'), '-XAtq', '-v', 'ON_ERROR_STOP=1',
			'-d', $node->connstr($opt{db} // 'postgres'),
			($opt{user} ? ('-U', $opt{user}) : ()), '-f', $h{in}
		],
		'>', $h{out}, '2>', $h{err},
		IPC::Run::timeout($opt{timeout} // $timeout));
	return \%h;
}

sub psql_running
{
	my ($h) = @_;
	return $h->{run}->pumpable;
}

# Waits for a psql started by start_psql; returns (exit code, stdout, stderr).
sub finish_psql
{
	my ($h) = @_;
	eval { $h->{run}->finish; };
	my $timed_out = $@;
	my $ret = $timed_out ? -1 : ($h->{run}->full_result(0) >> 8);
	my $err = slurp_file($h->{err});
	$err .= "\n(psql did not finish: $timed_out)" if $timed_out;
	my $out = slurp_file($h->{out});
	$out =~ s/\n+\z//;
	return ($ret, $out, $err);
}

1;
