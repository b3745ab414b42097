# Progress and cancellation: list_reports() shows stores_done/stores_total of
# a report being computed (from the worker's shared memory: its transaction
# has not committed); the worker names its report in its query text (seen
# by superusers only), never in application_name (seen by every role); cancel_report() fails a queued report at once and a
# computing one through its worker, with "canceled by <role>", for the owner
# or a superuser only, and the worker does not retry it.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use StoreMonitoringTest;

my $node = new_node('progress_cancel');
load_data($node, 300);
my $stores = store_count($node);
set_conf($node, 'store_monitoring.max_workers' => 1);

sub pause_at
{
	my ($point) = @_;
	set_conf($node,
		'store_monitoring.debug_pause_point' => $point,
		'store_monitoring.debug_worker_delay' => 600_000);
}

sub row_of
{
	my ($id) = @_;
	return $node->safe_psql('postgres',
		"SELECT status, phase, attempts, error, stores_done, stores_total "
		  . "FROM store_monitoring.list_reports() WHERE report_id = '$id'");
}

# --- queued and claimed ------------------------------------------------------
pause_at('claimed');
my $held = trigger($node);
my $pid = wait_for_pause_point($node, $held, 'claimed');
ok(defined $pid, 'the worker holds the first report at "claimed"');
my $queued = trigger($node);    # no free worker slot: stays queued
is(row_of($queued), 'Running|queued|0||0|', 'the second report is queued: 0 stores done');

$node->safe_psql('postgres', "SELECT store_monitoring.cancel_report('$queued')");
is(row_of($queued), 'Failed|done|0|canceled by postgres||',
	'a queued report is canceled at once, never attempted');

is( $node->safe_psql('postgres',
		"SELECT application_name || '|' || CASE WHEN query LIKE '%$held%' THEN 't' ELSE 'f' END FROM pg_stat_activity WHERE pid = $pid"),
	"store_monitoring worker|t",
	'the worker names its report in its query text, not in application_name');

$node->safe_psql('postgres', "SELECT store_monitoring.cancel_report('$held')");
ok( poll_until($node,
		"SELECT status || '|' || error || '|' || attempts FROM store_monitoring.list_reports() WHERE report_id = '$held'",
		'Failed|canceled by postgres|1'),
	'a claimed report is canceled through its worker, which wakes from its pause');

# --- progress while computing ------------------------------------------------
pause_at('reading');
my $reading = trigger($node);
ok(defined wait_for_pause_point($node, $reading, 'reading'), 'worker paused before reading');
is(row_of($reading), 'Running|computing|1||0|0', 'before reading: 0 of 0 stores');
pause_at('writing');
$node->safe_psql('postgres', "SELECT store_monitoring.cancel_report('$reading')");
ok( poll_until($node,
		"SELECT status || '|' || error FROM store_monitoring.list_reports() WHERE report_id = '$reading'",
		'Failed|canceled by postgres'),
	'a report canceled before reading fails');

my $writing = trigger($node);
# The worker sleeps at "writing" (for 600 s) with every store computed and
# nothing committed: only its shared counters can show this.
ok( poll_until($node,
		"SELECT concat_ws('|', status, phase, attempts, stores_done, stores_total) "
		  . "FROM store_monitoring.list_reports() WHERE report_id = '$writing'",
		"Running|computing|1|$stores|$stores"),
	"computed, not committed: $stores of $stores stores, seen from another session");
is( $node->safe_psql('postgres',
		"SELECT wait_event FROM pg_stat_activity WHERE query LIKE '%report $writing'"),
	'Extension',
	'meanwhile the worker sleeps in its pause');
$node->safe_psql('postgres', "SELECT store_monitoring.cancel_report('$writing')");
ok( poll_until($node,
		"SELECT status || '|' || error || '|' || attempts FROM store_monitoring.list_reports() WHERE report_id = '$writing'",
		"Failed|canceled by postgres|1"),
	'a computed report canceled before its commit fails, not retried');
is($node->safe_psql('postgres', "SELECT csv IS NULL FROM store_monitoring.get_report('$writing')"),
	't', 'the canceled report has no CSV');

# --- who may cancel ----------------------------------------------------------
$node->safe_psql('postgres', q{
CREATE ROLE alice LOGIN; CREATE ROLE bob LOGIN;
GRANT SELECT ON store_monitoring.store_status, store_monitoring.business_hours,
    store_monitoring.store_timezone TO alice;
});
pause_at('claimed');
my $alices = $node->safe_psql('postgres',
	"SET ROLE alice; SELECT store_monitoring.trigger_report('$AS_OF')");
ok(defined wait_for_pause_point($node, $alices, 'claimed'), "alice's report is claimed");
my ($ret, $out, $err) = $node->psql('postgres',
	"SET ROLE bob; SELECT store_monitoring.cancel_report('$alices')");
like($err, qr/report "\Q$alices\E" does not exist/, 'another role gets "does not exist"');
$node->safe_psql('postgres', "SET ROLE alice; SELECT store_monitoring.cancel_report('$alices')");
ok( poll_until($node,
		"SELECT status || '|' || error FROM store_monitoring.list_reports() WHERE report_id = '$alices'",
		'Failed|canceled by alice'),
	'the owner cancels her report');

# --- a finished report is not canceled ---------------------------------------
set_conf($node, 'store_monitoring.debug_worker_delay' => 0);
my $done = trigger($node);
is(wait_report($node, $done), 'Complete', 'an uncanceled report completes');
is(row_of($done), "Complete|done|1||$stores|$stores", 'a complete report: all stores done');
($ret, $out, $err) =
  $node->psql('postgres', "SELECT store_monitoring.cancel_report('$done')");
like($err, qr/is Complete, not Running/, 'a complete report cannot be canceled');

done_testing();
