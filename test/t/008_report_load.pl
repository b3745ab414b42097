# Polls keep being inserted, thousands per second by several sessions, while
# reports run back to back (some held at a pause point for longer than the
# inserters' lock_timeout): no insert is ever blocked by a report, and each
# report is consistent with one snapshot.
#
# How a report shows its snapshot: every inserter transaction (a "batch")
# inserts one active poll, at the same new instant, for each store of a set
# S of 24x7 UTC stores. With max_extrapolation = 1 min and the instants 3 min
# apart, each poll adds exactly 2 minutes of uptime, so the week's uptime of
# a store in S is (number of batches the report saw) * 2 min. A report that
# read one snapshot shows the same number for every store in S, and that
# number lies between the batches committed before its trigger and those
# committed by the time its worker held the snapshot.
# (100 triggers from 20 sessions are 002_worker_concurrency.pl's.)
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

use FindBin;
use lib "$FindBin::RealBin/../perl";
use StoreMonitoringTest;

my $timeout = $PostgreSQL::Test::Utils::timeout_default;
my $S = 500;          # stores in S: rows per batch
my $inserters = 4;
my $batches = 80;     # per inserter
my $total = $inserters * $batches;
my $pause_ms = 2500;  # longer than the inserters' lock_timeout

my $node = new_node('load');
load_data($node, 2000);
# S: 24x7 (no business hours) in UTC, no polls yet.
$node->safe_psql('postgres', qq{
INSERT INTO store_monitoring.store_timezone
SELECT 'S' || lpad(s::text, 4, '0'), 'UTC' FROM generate_series(1, $S) s});

sub trigger_1min
{
	return $node->safe_psql('postgres', qq{
SET store_monitoring.max_extrapolation = '1 min';
SELECT store_monitoring.trigger_report('$AS_OF')});
}

# Batches committed so far (each puts one poll on every store of S).
sub committed
{
	return $node->safe_psql('postgres',
		"SELECT count(*) FROM store_monitoring.store_status WHERE store_id = 'S0001'");
}

# The reference for the stores outside S, which the inserts do not touch.
my $ref = trigger_1min();
is(wait_report($node, $ref), 'Complete', 'reference report (before the inserts) completes');

# What report $id shows: "rows of S | distinct rows of S | batches seen
# (k) | k is a whole number and the other values fit k | stores outside S
# that differ from the reference".
sub look
{
	my ($id) = @_;
	return $node->safe_psql('postgres', qq{
WITH r AS (SELECT * FROM store_monitoring.report_rows('$id')),
     s AS (SELECT * FROM r WHERE store_id LIKE 'S%'),
     o AS (SELECT * FROM r WHERE store_id NOT LIKE 'S%'),
     ref AS (SELECT * FROM store_monitoring.report_rows('$ref') WHERE store_id NOT LIKE 'S%'),
     k AS (SELECT max(uptime_last_week) * 30 AS k FROM s)
SELECT (SELECT count(*) FROM s),
       (SELECT count(DISTINCT (uptime_last_hour, uptime_last_day, uptime_last_week,
                               downtime_last_hour, downtime_last_day, downtime_last_week)) FROM s),
       (SELECT round(k) FROM k),
       (SELECT bool_and(abs(k.k - round(k.k)) < 1e-6
                        AND uptime_last_hour = 0 AND downtime_last_hour = 60
                        AND uptime_last_day = 0 AND downtime_last_day = 24
                        AND abs(uptime_last_week + downtime_last_week - 168) < 1e-6)
        FROM s, k),
       (SELECT count(*) FROM ((TABLE o EXCEPT ALL TABLE ref) UNION ALL (TABLE ref EXCEPT ALL TABLE o)) d)});
}

is(look($ref), "$S|1|0|t|0", 'the reference shows no batch for S');

# --- the inserters ----------------------------------------------------------
# Inserter i writes batches i, i + 4, i + 8, ...: batch b at
# as_of - 7 days + 1 hour + b * 3 min (all inside the week, outside the last
# day). Each batch is its own transaction. A blocked insert fails instead of
# waiting (lock_timeout), and psql stops at the first error.
my @runs;
for my $i (0 .. $inserters - 1)
{
	my $sql = "SET lock_timeout = '2s';\nSET statement_timeout = '30s';\n";
	for my $j (0 .. $batches - 1)
	{
		my $b = $j * $inserters + $i;
		$sql .= qq{INSERT INTO store_monitoring.store_status (store_id, status, timestamp_utc)
SELECT 'S' || lpad(s::text, 4, '0'), 'active',
       timestamptz '$AS_OF' - interval '7 days' + interval '1 hour' + interval '3 minutes' * $b
FROM generate_series(1, $S) s;
SELECT pg_catalog.pg_sleep(0.1);
};
	}
	push @runs, start_psql($node, $sql);
}
# VACUUM meanwhile, so that the reports' index-only scans meet all-visible
# pages too.
my $vacuum = start_psql($node,
	"VACUUM store_monitoring.store_status;\nSELECT pg_catalog.pg_sleep(1.5);\n" x 6);
my $started = time();

# --- reports back to back while the inserts run -----------------------------
# Kinds in turn: undisturbed, held at 'reading' (snapshot taken, inputs
# unread) and held at 'committing' (inputs read, rows written: every lock a
# report takes is held), each hold longer than lock_timeout.
my $sampler = $node->background_psql('postgres');
my @kinds = qw(plain reading plain committing);
my ($reports, $blocked_max, $missed_during_pause) = (0, 0, 0);
while ($reports < 4 || grep { psql_running($_) } @runs)
{
	last if $reports >= 20;
	my $kind = $kinds[ $reports % @kinds ];
	$reports++;
	my $label = "report $reports ($kind)";
	if ($kind eq 'plain')
	{
		set_conf($node, 'store_monitoring.debug_worker_delay' => 0);
	}
	else
	{
		set_conf($node,
			'store_monitoring.debug_pause_point' => $kind,
			'store_monitoring.debug_worker_delay' => $pause_ms);
	}
	my $before = committed();
	my $id = trigger_1min();
	# Upper bound of what its snapshot can hold: batches committed once its
	# worker holds the snapshot (seen paused), or once it is done.
	my $at_snapshot;
	if ($kind ne 'plain')
	{
		ok(defined wait_for_pause_point($node, $id, $kind), "$label: the worker is paused")
		  or die;
		$at_snapshot = committed();
	}
	# Until it is done, watch for inserts waiting on a lock.
	my $deadline = time() + $timeout;
	my $status = 'Running';
	while ($status eq 'Running' && time() < $deadline)
	{
		my $blocked;
		($status, $blocked) = split /\|/, $sampler->query_safe(qq{
SELECT (SELECT status FROM _store_monitoring_internal.report WHERE report_id = '$id'),
       (SELECT count(*) FROM pg_catalog.pg_stat_activity
        WHERE backend_type = 'client backend' AND query LIKE 'INSERT INTO store_monitoring.store_status%'
          AND wait_event_type = 'Lock' AND wait_event <> 'extend')});
		$blocked_max = $blocked if $blocked > $blocked_max;
		usleep(50_000) if $status eq 'Running';
	}
	my $after = committed();
	$at_snapshot //= $after;
	is($status, 'Complete', "$label: completes");
	my ($rows, $distinct, $k, $fits, $others) = split /\|/, look($id);
	is("$rows|$distinct|$fits|$others", "$S|1|t|0",
		"$label: every store of S has the same numbers, which fit a whole number of batches; "
		  . 'the other stores have the reference numbers');
	ok($k >= $before && $k <= $at_snapshot,
		"$label: it saw $k batches: at least the $before committed before its trigger, "
		  . "at most the $at_snapshot committed "
		  . ($kind eq 'plain' ? 'when it was done' : 'when it was seen holding its snapshot'));
	note "$label: batches committed before the trigger $before, when paused "
	  . ($kind eq 'plain' ? '-' : $at_snapshot) . ", when done $after; the report saw $k";
	$missed_during_pause++ if $kind ne 'plain' && $after > $k;
}
$sampler->quit;
note "$reports reports ran during the inserts";
cmp_ok($reports, '>=', 4, 'reports of every kind ran while the inserts ran');
cmp_ok($missed_during_pause, '>=', 1,
	'batches committed while a report held its snapshot, and it did not see them');
is($blocked_max, 0, 'no insert was ever seen waiting on a lock');

# --- every insert succeeded -------------------------------------------------
my $failed = 0;
for my $run (@runs)
{
	my ($ret, undef, $err) = finish_psql($run);
	if ($ret != 0 || $err ne '')
	{
		$failed++;
		diag "inserter failed ($ret): $err";
	}
}
my $seconds = time() - $started;
is($failed, 0, 'every inserter ran all its batches without an error (no lock timeout)');
my ($vret, undef, $verr) = finish_psql($vacuum);
is($vret, 0, 'the VACUUM session succeeded') or diag $verr;
is(committed(), $total, "all $total batches committed");
is( $node->safe_psql('postgres',
		"SELECT count(*) FROM store_monitoring.store_status WHERE store_id LIKE 'S%'"),
	$total * $S, 'every inserted poll is there');
note sprintf('%d polls inserted in %.1f s (%.0f per second) while the reports ran',
	$total * $S, $seconds, $total * $S / $seconds);

# Once the inserts are done, a report sees all of them.
my $last = trigger_1min();
is(wait_report($node, $last), 'Complete', 'a report after the inserts completes');
is(look($last), "$S|1|$total|t|0", "it sees all $total batches, the same for every store of S");

$node->stop;
done_testing();
