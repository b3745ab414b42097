# One report across shards: a coordinator and two shards
# (postgres_fdw foreign servers on loopback). The data set is loaded through
# the coordinator's partitioned tables (the layout the README recommends);
# the coordinator's report must equal, byte for byte, the report of one node
# holding all the rows. Then the failures: a shard stopped mid-report, a
# shard slower than shard_timeout, a store on two shards, a shard whose
# report fails; the user-mapping and privilege rules; a coordinator worker
# killed mid-report that resumes with the shards' reports; and canceling or
# deleting a coordinator report cancels or deletes its shards' reports.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IO::Socket::INET;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use StoreMonitoringTest;

my $stores = 300;

my $single = new_node('single');
load_data($single, $stores);

my $coordinator = new_node('coordinator');
my %shard = (shard1 => new_node('shard1'), shard2 => new_node('shard2'));

# --- the recommended layout ---------------------------------------------------
my $layout = shard_setup_sql(\%shard, batch_size => 1000);
$layout .= q{
CREATE TABLE public.store_status (
    store_id text COLLATE "C" NOT NULL,
    status store_monitoring.poll_status NOT NULL,
    timestamp_utc timestamptz NOT NULL) PARTITION BY HASH (store_id);
CREATE TABLE public.business_hours (
    store_id text COLLATE "C" NOT NULL,
    day_of_week smallint NOT NULL,
    start_time_local time NOT NULL,
    end_time_local time NOT NULL) PARTITION BY HASH (store_id);
CREATE TABLE public.store_timezone (
    store_id text COLLATE "C" NOT NULL,
    timezone_str text NOT NULL) PARTITION BY HASH (store_id);
};
for my $table (qw(store_status business_hours store_timezone))
{
	my $remainder = 0;
	for my $name (sort keys %shard)
	{
		$layout .= qq{
CREATE FOREIGN TABLE public.${table}_$name PARTITION OF public.$table
    FOR VALUES WITH (MODULUS 2, REMAINDER $remainder) SERVER $name
    OPTIONS (schema_name 'store_monitoring', table_name '$table');
};
		$remainder++;
	}
}
$coordinator->safe_psql('postgres', $layout);
is($coordinator->safe_psql('postgres', 'SELECT string_agg(server, \',\') FROM store_monitoring.shards()'),
	'shard1,shard2', 'shards() lists both servers');

load_data($coordinator, $stores, schema => 'public');
my $total = store_count($single);
for my $name (sort keys %shard)
{
	my $count = store_count($shard{$name});
	ok($count > 0 && $count < $total, "$name holds part of the stores ($count of $total)");
}
is(store_count($shard{shard1}) + store_count($shard{shard2}), $total,
	'the partitioned tables put every store on exactly one shard');
is($coordinator->safe_psql('postgres', 'SELECT count(*) FROM store_monitoring.store_status'),
	'0', "the coordinator's own input tables stay empty");

# --- byte-identical to one node ----------------------------------------------
sub rows_of
{
	my ($node, $id) = @_;
	return $node->safe_psql('postgres',
		"SELECT r::text FROM store_monitoring.report_rows('$id') r");
}

for my $case (['as_of' => $AS_OF], ['latest' => undef])
{
	my ($label, $as_of) = @$case;
	my $one = trigger($single, as_of => $as_of);
	my $sharded = trigger($coordinator, as_of => $as_of);
	is(wait_report($single, $one), 'Complete', "$label: the single node's report completes");
	is(wait_report($coordinator, $sharded), 'Complete', "$label: the coordinator's report completes")
	  or diag explain report_row($coordinator, $sharded);
	my $csv = report_csv($coordinator, $sharded);
	ok($csv eq report_csv($single, $one),
		"$label: the coordinator's CSV is byte-identical to the single node's");
	like($csv, qr/^00001,/m, "$label: ... and has store rows");
	is(rows_of($coordinator, $sharded), rows_of($single, $one),
		"$label: report_rows are identical too");
	is(report_row($coordinator, $sharded)->{as_of}, report_row($single, $one)->{as_of},
		"$label: same T (latest = the newest poll on any shard)");
	is(report_row($coordinator, $sharded)->{store_count}, $total, "$label: one row per store");
}
# The report's own settings reach the shards: H and interpolation other
# than the defaults give another CSV, the same on both setups.
my $settings = "SET store_monitoring.max_extrapolation = '47 min 30.5 s'; "
  . "SET store_monitoring.interpolation = 'previous'; ";
my %with_settings;
for my $node ($single, $coordinator)
{
	my $id = $node->safe_psql('postgres',
		$settings . "SELECT store_monitoring.trigger_report('$AS_OF')");
	is(wait_report($node, $id), 'Complete', $node->name . ': report with other settings completes');
	$with_settings{ $node->name } = report_csv($node, $id);
}
ok($with_settings{coordinator} eq $with_settings{single},
	'with other H and interpolation, the CSVs are byte-identical');
my $default_id = trigger($single);
wait_report($single, $default_id);
ok($with_settings{single} ne report_csv($single, $default_id),
	'... and differ from the default settings\' CSV (the settings mattered)');

my $last = trigger($coordinator);
wait_report($coordinator, $last);
my @shard_reports = split /\n/, $coordinator->safe_psql('postgres', qq{
SELECT server || ' ' || shard_report_id FROM _store_monitoring_internal.shard_report
WHERE report_id = '$last' ORDER BY server});
is(scalar(@shard_reports), 2, 'the coordinator recorded one report per shard');
for (@shard_reports)
{
	my ($name, $id) = split / /;
	is(report_row($shard{$name}, $id)->{status}, 'Complete', "$name computed its own report");
}

# --- failures name the shard -------------------------------------------------
sub failed_with
{
	my ($id, $pattern, $label) = @_;
	is(wait_report($coordinator, $id), 'Failed', "$label: the report fails");
	my $error = report_row($coordinator, $id)->{error} // "";
	note "$label: $error";
	like($error, $pattern, "$label: the error says why");
	is($coordinator->safe_psql('postgres',
		"SELECT count(*) FROM _store_monitoring_internal.report_result WHERE report_id = '$id'"),
		'0', "$label: no partial rows");
}

# A store on both shards.
$shard{shard2}->safe_psql('postgres',
	"INSERT INTO store_monitoring.store_timezone SELECT store_id, timezone_str "
	  . "FROM (VALUES ('00001', 'UTC'), ('00002', 'UTC')) v(store_id, timezone_str) "
	  . "WHERE NOT EXISTS (SELECT FROM store_monitoring.store_timezone z WHERE z.store_id = v.store_id)");
my $dup = $shard{shard1}->safe_psql('postgres',
	"SELECT min(store_id) FROM store_monitoring.store_timezone WHERE store_id IN ('00001', '00002')");
failed_with(trigger($coordinator), qr/store "$dup" is on shard "shard1" and on shard "shard2"/,
	'a store on two shards');
$shard{shard2}->safe_psql('postgres',
	"DELETE FROM store_monitoring.store_timezone WHERE store_id = '$dup'");

# A shard stopped while its report runs. The failed report then deletes
# the shard reports it started: shard2's cannot be reached, which the log
# says, and the report's error stays the original one.
set_conf($shard{shard2}, 'store_monitoring.debug_worker_delay' => 600_000);
my $id = trigger($coordinator);
ok( defined poll_value($shard{shard2},
		"SELECT 1 FROM _store_monitoring_internal.report WHERE status = 'Running' "
		  . "AND phase = 'computing'"),
	'the coordinator started a report on shard2');
my %stopped_started = started_on_shards($id);
my $log_offset = -s $coordinator->logfile;
$shard{shard2}->stop('immediate');
failed_with($id, qr/^shard "shard2": /, 'a shard stopped mid-report');
ok( $coordinator->log_contains(
		qr/WARNING:  could not delete report "$stopped_started{shard2}" on shard "shard2": could not connect/,
		$log_offset),
	'... and its worker warns that it could not delete the report on shard2');
is(shard_has_report('shard1', $stopped_started{shard1}), '0', "... shard1's report is deleted");

# A shard down from the start.
failed_with(trigger($coordinator), qr/^shard "shard2": could not connect/, 'a shard that is down');
$shard{shard2}->start;

# Deleting the report of the stopped shard deletes its shard reports,
# shard2's still running (orphaned by the stop): it is canceled, waited
# for, then deleted.
is(report_row($shard{shard2}, $stopped_started{shard2})->{status}, 'Running',
	"shard2's report still runs after the coordinator's failed without reaching it");
$coordinator->safe_psql('postgres', "SELECT store_monitoring.delete_report('$id')");
is(shard_has_report($_, $stopped_started{$_}), '0',
	"delete after a shard stopped: $_\'s report is deleted") for sort keys %shard;

# A shard slower than shard_timeout (shard2 still pauses every report).
# Long enough for shard1's report on a busy machine, far below shard2's pause.
set_conf($coordinator, 'store_monitoring.shard_timeout' => 5000);
my $slow = trigger($coordinator);
failed_with($slow, qr/^shard "shard2": .*shard_timeout/, 'a shard slower than shard_timeout');
# The failure deletes both shard reports: shard2's, still running (paused),
# once canceled; shard1's, complete, at once.
my %slow_started = started_on_shards($slow);
is(shard_has_report($_, $slow_started{$_}), '0',
	"shard_timeout: $_\'s report is deleted with the failure") for sort keys %shard;

# shard_timeout while shard2 does not even answer trigger_report (a lock
# holds it) and shard1's report runs (paused): the error names shard2,
# shard1's report is recorded all the same and canceled.
set_conf($shard{shard1}, 'store_monitoring.debug_worker_delay' => 600_000);
my $lock = $shard{shard2}->background_psql('postgres');
$lock->query_safe(
	'BEGIN; LOCK TABLE _store_monitoring_internal.report IN ACCESS EXCLUSIVE MODE');
my $stuck = trigger($coordinator);
failed_with($stuck,
	qr/^shard "shard2": no answer within store_monitoring.shard_timeout \(5000 ms\)$/,
	'a shard that does not answer trigger_report within shard_timeout');
# Released once shard2 has ended the session the coordinator dropped (it
# checks for a gone client every 2 s), so no trigger_report runs there late.
ok( poll_until($shard{shard2}, q{
SELECT count(*) FROM pg_catalog.pg_stat_activity
WHERE backend_type = 'client backend' AND wait_event_type = 'Lock'}, '0'),
	"... shard2 ends the coordinator's dropped session");
$lock->query_safe('ROLLBACK');
$lock->quit;
my $stuck_shard1 = $coordinator->safe_psql('postgres', qq{
SELECT string_agg(server || ' ' || shard_report_id, ',')
FROM _store_monitoring_internal.shard_report WHERE report_id = '$stuck'});
like($stuck_shard1, qr/^shard1 \S+$/, '... the report shard1 started is recorded, alone');
$stuck_shard1 =~ s/^shard1 //;
is(shard_has_report('shard1', $stuck_shard1), '0', "... and deleted");
set_conf($shard{shard1}, 'store_monitoring.debug_worker_delay' => 0);
set_conf($coordinator, 'store_monitoring.shard_timeout' => 600_000);

# A coordinator worker killed while it waits resumes with the shards'
# reports instead of starting new ones.
$id = trigger($coordinator);
ok( defined poll_value($coordinator,
		"SELECT 1 FROM _store_monitoring_internal.shard_report WHERE report_id = '$id' HAVING count(*) = 2"),
	'the coordinator recorded its shard reports');
my $pid = $coordinator->safe_psql('postgres',
	"SELECT worker_pid FROM _store_monitoring_internal.report WHERE report_id = '$id'");
my $before = $shard{shard1}->safe_psql('postgres', 'SELECT count(*) FROM _store_monitoring_internal.report');
kill_worker_and_wait_restart($coordinator, $pid);
# shard2's workers sleep in the debug pause: stop them; their reports are
# resumed (by the coordinator's wait_report) without the pause.
set_conf($shard{shard2}, 'store_monitoring.debug_worker_delay' => 0);
$shard{shard2}->safe_psql('postgres', q{
SELECT pg_terminate_backend(pid) FROM pg_stat_activity
WHERE backend_type = 'store_monitoring worker'});
is(wait_report($coordinator, $id), 'Complete', 'the resumed coordinator report completes');
is(report_row($coordinator, $id)->{attempts}, '2', '... on its second attempt');
is($shard{shard1}->safe_psql('postgres', 'SELECT count(*) FROM _store_monitoring_internal.report'),
	$before, '... reusing the shard reports it had started');
my $one = trigger($single);
wait_report($single, $one);
ok(report_csv($coordinator, $id) eq report_csv($single, $one), '... with the same CSV');

# --- canceling and deleting reach the shards ---------------------------------
# server => the report the coordinator's report $id started there, once
# both are recorded.
sub started_on_shards
{
	my ($id) = @_;
	poll_value($coordinator,
		"SELECT 1 FROM _store_monitoring_internal.shard_report WHERE report_id = '$id' HAVING count(*) = 2")
	  or return ();
	return map { split / / } split /\n/, $coordinator->safe_psql('postgres', qq{
SELECT server || ' ' || shard_report_id FROM _store_monitoring_internal.shard_report
WHERE report_id = '$id' ORDER BY server});
}

sub shard_has_report
{
	my ($name, $shard_id) = @_;
	return $shard{$name}->safe_psql('postgres',
		"SELECT count(*) FROM _store_monitoring_internal.report WHERE report_id = '$shard_id'");
}

# Both shards pause every report for 600 s once claimed: only a cancel that
# reaches them ends their reports within the test's timeouts.
set_conf($_, 'store_monitoring.debug_worker_delay' => 600_000) for values %shard;
my $canceled = trigger($coordinator);
my %started = started_on_shards($canceled);
for my $name (sort keys %shard)
{
	ok(defined wait_for_pause_point($shard{$name}, $started{$name}, 'claimed'),
		"cancel: $name computes the report the coordinator started (paused)");
}
$coordinator->safe_psql('postgres', "SELECT store_monitoring.cancel_report('$canceled')");
is(wait_report($coordinator, $canceled), 'Failed', "cancel: the coordinator's report fails");
is(report_row($coordinator, $canceled)->{error}, 'canceled by postgres', '... canceled by its caller');
for my $name (sort keys %shard)
{
	is(shard_has_report($name, $started{$name}), '0', "cancel: $name\'s report is deleted");
}

# A coordinator worker killed while it waits is resumed; the new worker,
# paused once claimed, is canceled: it cancels the shard reports the first
# worker started (the check before it connects to the shards).
my $resumed = trigger($coordinator);
my %resumed_started = started_on_shards($resumed);
for my $name (sort keys %shard)
{
	ok(defined wait_for_pause_point($shard{$name}, $resumed_started{$name}, 'claimed'),
		"resumed cancel: $name computes its report");
}
set_conf($coordinator, 'store_monitoring.debug_worker_delay' => 600_000);
kill_worker_and_wait_restart($coordinator,
	$coordinator->safe_psql('postgres',
		"SELECT worker_pid FROM _store_monitoring_internal.report WHERE report_id = '$resumed'"));
# get_report of a Running report without a worker resumes it.
$coordinator->safe_psql('postgres', "SELECT status FROM store_monitoring.get_report('$resumed')");
ok(defined wait_for_pause_point($coordinator, $resumed, 'claimed', attempt => 2),
	'resumed cancel: a new coordinator worker pauses once claimed');
$coordinator->safe_psql('postgres', "SELECT store_monitoring.cancel_report('$resumed')");
is(wait_report($coordinator, $resumed), 'Failed', "resumed cancel: the coordinator's report fails");
is(report_row($coordinator, $resumed)->{error}, 'canceled by postgres', '... canceled by its caller');
for my $name (sort keys %shard)
{
	is(shard_has_report($name, $resumed_started{$name}), '0',
		"resumed cancel: $name\'s report is deleted");
}
set_conf($coordinator, 'store_monitoring.debug_worker_delay' => 0);

# A coordinator report whose worker is gone (the server stopped while the
# shards compute; without the launcher nothing resumes it) is canceled by
# cancel_report itself, which cancels its shard reports too.
my $orphan = trigger($coordinator);
my %orphan_started = started_on_shards($orphan);
for my $name (sort keys %shard)
{
	ok(defined wait_for_pause_point($shard{$name}, $orphan_started{$name}, 'claimed'),
		"orphan: $name computes its report");
}
$coordinator->stop('immediate');
$coordinator->start;
$coordinator->safe_psql('postgres', "SELECT store_monitoring.cancel_report('$orphan')");
is(report_row($coordinator, $orphan)->{status} . '|' . report_row($coordinator, $orphan)->{attempts},
	'Failed|1', "orphan: the coordinator's report is canceled without a worker");
for my $name (sort keys %shard)
{
	is(shard_has_report($name, $orphan_started{$name}), '0', "orphan: $name\'s report is deleted");
}
set_conf($_, 'store_monitoring.debug_worker_delay' => 0) for values %shard;

# delete_report of a finished coordinator report deletes its shard reports.
for my $case ([canceled => $canceled, \%started], [orphan => $orphan, \%orphan_started])
{
	my ($label, $gone, $on_shards) = @$case;
	$coordinator->safe_psql('postgres', "SELECT store_monitoring.delete_report('$gone')");
	is(shard_has_report($_, $on_shards->{$_}), '0', "delete ($label, Failed): $_\'s report is deleted")
	  for sort keys %shard;
}
my $complete = trigger($coordinator);
is(wait_report($coordinator, $complete), 'Complete', 'delete: a coordinator report completes');
my %complete_started = started_on_shards($complete);
my ($ret, $out, $err) = $coordinator->psql('postgres',
	"SELECT store_monitoring.delete_report('$complete')");
is($ret . $err, '0', 'delete (Complete): no error, no warning');
is(shard_has_report($_, $complete_started{$_}), '0', "delete (Complete): $_\'s report is deleted")
  for sort keys %shard;
is($coordinator->safe_psql('postgres', qq{
SELECT (SELECT count(*) FROM _store_monitoring_internal.report WHERE report_id = '$complete')
    + (SELECT count(*) FROM _store_monitoring_internal.shard_report WHERE report_id = '$complete')}),
	'0', "delete (Complete): the coordinator's report is gone");

# A shard that is down: a WARNING naming it and its report, the rest goes on.
$complete = trigger($coordinator);
is(wait_report($coordinator, $complete), 'Complete', 'delete, shard2 down: a report completes');
%complete_started = started_on_shards($complete);
$shard{shard2}->stop;
($ret, $out, $err) = $coordinator->psql('postgres',
	"SELECT store_monitoring.delete_report('$complete')");
is($ret, 0, 'delete, shard2 down: delete_report succeeds');
like($err,
	qr/WARNING:  could not delete report "$complete_started{shard2}" on shard "shard2": could not connect/,
	'... warning that it could not delete the report on shard2, naming both');
is($coordinator->safe_psql('postgres',
	"SELECT count(*) FROM _store_monitoring_internal.report WHERE report_id = '$complete'"),
	'0', "... the coordinator's report is deleted");
is(shard_has_report('shard1', $complete_started{shard1}), '0', "... and shard1's");
$shard{shard2}->start;
is(shard_has_report('shard2', $complete_started{shard2}), '1', '... shard2 still holds its own');
# ... until the coordinator's next report: its worker then deletes it.
my $next = trigger($coordinator);
is(wait_report($coordinator, $next), 'Complete', "shard2 back: the coordinator's next report completes");
ok(poll_until($shard{shard2},
		"SELECT count(*) FROM _store_monitoring_internal.report WHERE report_id = '$complete_started{shard2}'", '0'),
	"... and its worker deletes shard2's report left behind");
is($coordinator->safe_psql('postgres', 'SELECT count(*) FROM _store_monitoring_internal.shard_cleanup'),
	'0', '... and forgets it');

# purge_reports deletes the coordinator's rows; the next report's worker
# deletes the shard reports they recorded.
my %purged_started = started_on_shards($next);
$coordinator->safe_psql('postgres', "SELECT store_monitoring.purge_reports('0 s')");
is($coordinator->safe_psql('postgres',
		"SELECT count(*) FROM _store_monitoring_internal.report WHERE report_id = '$next'"),
	'0', 'purge_reports: the coordinator report is gone');
$next = trigger($coordinator);
is(wait_report($coordinator, $next), 'Complete', 'purge_reports: a next report completes');
for my $name (sort keys %shard)
{
	ok(poll_until($shard{$name},
			"SELECT count(*) FROM _store_monitoring_internal.report WHERE report_id = '$purged_started{$name}'",
			'0'),
		"purge_reports: $name\'s report of the purged one is deleted");
}

# A NOTICE or WARNING a shard raises in a call made for the caller reaches
# the caller, naming the shard.
$shard{shard1}->safe_psql('postgres', q{
ALTER FUNCTION store_monitoring.delete_report(text) RENAME TO delete_report_itself;
CREATE FUNCTION store_monitoring.delete_report(report_id text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    RAISE WARNING 'shard1 keeps a copy of %', report_id;
    PERFORM store_monitoring.delete_report_itself(report_id);
END $$;
});
%complete_started = started_on_shards($next);
($ret, $out, $err) = $coordinator->psql('postgres', "SELECT store_monitoring.delete_report('$next')");
like($err, qr/WARNING:  shard "shard1": shard1 keeps a copy of $complete_started{shard1}/,
	"a shard's WARNING reaches the caller of delete_report, naming the shard");
is(shard_has_report('shard1', $complete_started{shard1}), '0', '... and its report is deleted');
$shard{shard1}->safe_psql('postgres', q{
DROP FUNCTION store_monitoring.delete_report(text);
ALTER FUNCTION store_monitoring.delete_report_itself(text) RENAME TO delete_report;
});

# A worker killed after the shards started their reports but before it
# recorded them: the resumed worker starts and records new ones, and deletes
# those it finds by their label but never recorded. The recording waits
# for a lock the test holds (a trigger a superuser put on the table).
$coordinator->safe_psql('postgres', q{
CREATE FUNCTION public.hold_recording() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(4242);
    RETURN NEW;
END $$;
CREATE TRIGGER hold_recording BEFORE INSERT ON _store_monitoring_internal.shard_report
    FOR EACH ROW EXECUTE FUNCTION public.hold_recording();
});
my $holder = $coordinator->background_psql('postgres');
$holder->query_safe('SELECT pg_advisory_lock(4242)');
my $unrecorded = trigger($coordinator);
my $label = "coordinator report $unrecorded";
for my $name (sort keys %shard)
{
	ok(poll_until($shard{$name},
			"SELECT count(*) FROM _store_monitoring_internal.report WHERE label = '$label'", '1'),
		"killed before recording: $name started its report");
}
my $held = poll_value($coordinator, q{
SELECT pid FROM pg_catalog.pg_stat_activity
WHERE backend_type = 'store_monitoring worker' AND wait_event_type = 'Lock'});
ok(defined $held, '... and the coordinator worker waits to record them');
kill_worker_and_wait_restart($coordinator, $held);  # ends the holder's session too
eval { $holder->quit };
is(wait_report($coordinator, $unrecorded), 'Complete', '... the resumed report completes');
my %recorded = started_on_shards($unrecorded);
for my $name (sort keys %shard)
{
	ok(poll_until($shard{$name},
			"SELECT string_agg(report_id, ',') FROM _store_monitoring_internal.report WHERE label = '$label'",
			$recorded{$name}),
		"... $name keeps only the report recorded, the first one deleted");
}
$coordinator->safe_psql('postgres', 'DROP TRIGGER hold_recording ON _store_monitoring_internal.shard_report');

# Connecting is bounded by connect_timeout (the server's option, else 10 s),
# not shard_timeout: an address that takes connections but never answers.
my $blackhole = IO::Socket::INET->new(Listen => 5, LocalAddr => '127.0.0.1', LocalPort => 0, Proto => 'tcp')
  or die "listen: $!";
my $blackhole_port = $blackhole->sockport;
$coordinator->safe_psql('postgres', qq{
CREATE SERVER blackhole FOREIGN DATA WRAPPER postgres_fdw
    OPTIONS (host '127.0.0.1', port '$blackhole_port', dbname 'postgres');
CREATE USER MAPPING FOR CURRENT_USER SERVER blackhole;
SELECT store_monitoring.add_shard('blackhole');
});
failed_with(trigger($coordinator),
	qr/^shard "blackhole": could not connect: no answer within connect_timeout \(10 s\)$/,
	'a shard that never answers, shard_timeout 600 s');
$coordinator->safe_psql('postgres', "ALTER SERVER blackhole OPTIONS (ADD connect_timeout '3')");
failed_with(trigger($coordinator),
	qr/^shard "blackhole": could not connect: no answer within connect_timeout \(3 s\)$/,
	"... its server's connect_timeout");
$coordinator->safe_psql('postgres', "SELECT store_monitoring.remove_shard('blackhole')");
close $blackhole;

# --- user mappings and the shards' privileges --------------------------------
for my $node ($coordinator, values %shard)
{
	$node->safe_psql('postgres', q{
CREATE ROLE alice LOGIN;
CREATE ROLE bob LOGIN;
GRANT SELECT ON ALL TABLES IN SCHEMA store_monitoring TO alice, bob;
});
}
$coordinator->safe_psql('postgres', q{
GRANT USAGE ON FOREIGN SERVER shard1, shard2 TO alice, bob;
CREATE USER MAPPING FOR alice SERVER shard1 OPTIONS (user 'alice', password 'unused');
CREATE USER MAPPING FOR alice SERVER shard2 OPTIONS (user 'alice', password 'unused');
CREATE USER MAPPING FOR bob SERVER shard1 OPTIONS (user 'bob');
});
($ret, $out, $err) = $coordinator->psql('postgres',
	'SET ROLE bob; SELECT store_monitoring.trigger_report()');
like($err, qr/role "bob" has no user mapping for shard server "shard2"/,
	'a role without a user mapping for a shard cannot trigger a report');

sub trigger_as
{
	my ($role) = @_;
	return $coordinator->safe_psql('postgres',
		"SET ROLE $role; SELECT store_monitoring.trigger_report('$AS_OF')");
}

# As with postgres_fdw, a role that is not a superuser connects only with a
# password the shard asks for. Trust authentication does not ask ... (both
# shards fail; the error names whichever connected first)
failed_with(trigger_as('alice'), qr/^shard "shard[12]": password is required: the shard did not ask/,
	"a mapping's password the shard does not ask for");
# ... and a mapping without a password is refused before connecting.
$coordinator->safe_psql('postgres', q{
ALTER USER MAPPING FOR alice SERVER shard1 OPTIONS (DROP password);
ALTER USER MAPPING FOR alice SERVER shard2 OPTIONS (DROP password);
});
failed_with(trigger_as('alice'), qr/password is required to connect to shard "shard1"/,
	'a mapping without a password');

$coordinator->safe_psql('postgres', q{
ALTER USER MAPPING FOR alice SERVER shard1 OPTIONS (ADD password_required 'false');
ALTER USER MAPPING FOR alice SERVER shard2 OPTIONS (ADD password_required 'false');
});
$id = trigger_as('alice');
is(wait_report($coordinator, $id), 'Complete',
	"with password_required 'false' (set by a superuser) alice's report completes");
ok(report_csv($coordinator, $id) eq report_csv($single, $one), '... with every store');

# Each shard applies its own row-level security to the mapped role.
for my $node (values %shard)
{
	$node->safe_psql('postgres', q{
CREATE POLICY hide_00003 ON store_monitoring.store_status TO alice USING (store_id <> '00003');
CREATE POLICY hide_00003 ON store_monitoring.business_hours TO alice USING (store_id <> '00003');
CREATE POLICY hide_00003 ON store_monitoring.store_timezone TO alice USING (store_id <> '00003');
CREATE POLICY everything ON store_monitoring.store_status TO PUBLIC USING (current_user <> 'alice');
CREATE POLICY everything ON store_monitoring.business_hours TO PUBLIC USING (current_user <> 'alice');
CREATE POLICY everything ON store_monitoring.store_timezone TO PUBLIC USING (current_user <> 'alice');
ALTER TABLE store_monitoring.store_status ENABLE ROW LEVEL SECURITY;
ALTER TABLE store_monitoring.business_hours ENABLE ROW LEVEL SECURITY;
ALTER TABLE store_monitoring.store_timezone ENABLE ROW LEVEL SECURITY;
});
}
$id = trigger_as('alice');
is(wait_report($coordinator, $id), 'Complete', "alice's report under the shards' RLS completes");
my $csv = report_csv($coordinator, $id);
unlike($csv, qr/^00003,/m, "... without the store the shards' policies hide from alice");
like($csv, qr/^00004,/m, '... with the others');

# Deleting alice's report deletes its shard reports as alice's user mapping,
# even for a superuser: mapped to the shards' bob, who may not see alice's
# reports there, shard1's report stays.
my %alice_started = started_on_shards($id);
$coordinator->safe_psql('postgres',
	"ALTER USER MAPPING FOR alice SERVER shard1 OPTIONS (SET user 'bob')");
$coordinator->safe_psql('postgres', "SELECT store_monitoring.delete_report('$id')");
is(shard_has_report('shard1', $alice_started{shard1}), '1',
	"delete as a superuser: shard1's report stays (alice's mapping is bob there, not the superuser)");
is(shard_has_report('shard2', $alice_started{shard2}), '0',
	"delete as a superuser: shard2's report is deleted as alice");
$coordinator->safe_psql('postgres',
	"ALTER USER MAPPING FOR alice SERVER shard1 OPTIONS (SET user 'alice')");

# And its privileges: without SELECT on a shard's polls the shard's report
# fails, and so does the coordinator's, naming the shard.
$shard{shard1}->safe_psql('postgres', 'REVOKE SELECT ON store_monitoring.store_status FROM alice');
failed_with(trigger_as('alice'), qr/^shard "shard1": .*permission denied for table store_status/,
	"a shard's privileges apply to the mapped role");

# Only a superuser or the extension's owner changes shards.
($ret, $out, $err) = $coordinator->psql('postgres',
	"SET ROLE alice; SELECT store_monitoring.remove_shard('shard1')");
like($err, qr/only a superuser or the owner of extension store_monitoring/,
	'other roles cannot change shards');
($ret, $out, $err) = $coordinator->psql('postgres', q{
CREATE FOREIGN DATA WRAPPER other_fdw;
CREATE SERVER other FOREIGN DATA WRAPPER other_fdw;
SELECT store_monitoring.add_shard('other')});
like($err, qr/server "other" uses foreign-data wrapper "other_fdw", not postgres_fdw/,
	'a shard must be a postgres_fdw server');
$coordinator->safe_psql('postgres', "SELECT store_monitoring.remove_shard('shard2')");
is($coordinator->safe_psql('postgres', 'SELECT string_agg(server, \',\') FROM store_monitoring.shards()'),
	'shard1', 'remove_shard removes the shard');

done_testing();
