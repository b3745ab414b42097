# When the postmaster has no free background-worker slot, a triggered report
# waits in the queue (Running, phase 'queued'); neither the trigger nor
# get_report fails; it completes once a slot frees.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

use FindBin;
use lib "$FindBin::RealBin/../perl";
use StoreMonitoringTest;

# One worker slot in the whole server, and nothing else that could take it.
my $node = new_node(
	'no_worker_slots',
	conf => [
		'max_worker_processes = 1',
		'max_logical_replication_workers = 0',
		'max_parallel_workers = 0',
	]);
load_data($node, 200);
my $ref = trigger($node);
is(wait_report($node, $ref), 'Complete', 'reference report completes');
my $ref_csv = report_csv($node, $ref);
ok(wait_no_workers($node), 'its worker has exited');

# A report whose worker sleeps holds the only slot.
set_conf($node, 'store_monitoring.debug_worker_delay' => 600_000);
my $holder = trigger($node);
my $holder_pid = wait_for_computing($node, $holder, 1);
ok(defined $holder_pid, 'the first report holds the only worker slot') or die;

my $offset = -s $node->logfile;
my ($ret, $waiting, $err) = $node->psql('postgres',
	"SELECT store_monitoring.trigger_report('$AS_OF')");
is($ret, 0, 'trigger_report commits although no worker slot is free');
note "trigger_report printed: $err" if $err ne '';
like($waiting, qr/^\S+$/, 'it returned an id');

# Meanwhile the report waits. Look several times, also through get_report,
# whose resume attempt must not fail for want of a slot.
for my $look (1 .. 3)
{
	($ret, my $out, $err) = $node->psql('postgres',
		"SELECT status FROM store_monitoring.get_report('$waiting')");
	is($ret, 0, "look $look: get_report succeeds without a free slot");
	is($out, 'Running', "look $look: get_report says Running");
	my $row = report_row($node, $waiting);
	is("$row->{status}/$row->{phase}/$row->{attempts}", 'Running/queued/0',
		"look $look: the report is Running, queued, not attempted");
	usleep(300_000);
}
is(join(',', worker_pids($node)), $holder_pid, 'only the slot holder runs');
is(report_row($node, $holder)->{phase}, 'computing', 'the holder is still computing');

# A bounded wait_report on the queued report returns Running, not an error.
is( $node->safe_psql('postgres',
		"SELECT store_monitoring.wait_report('$waiting', interval '1 second')"),
	'Running',
	'wait_report with a short timeout returns Running while no slot is free');

# Free the slot: let the holder finish (no delay for it any more) by
# killing it; the crash restart takes the delay setting's new value.
set_conf($node, 'store_monitoring.debug_worker_delay' => 0);
kill_worker_and_wait_restart($node, $holder_pid);
is(wait_report($node, $waiting), 'Complete', 'once the slot is free the queued report completes');
is(report_csv($node, $waiting), $ref_csv, 'its CSV equals the reference');
is(wait_report($node, $holder), 'Complete', 'the interrupted holder completes too');
is(report_csv($node, $holder), $ref_csv, 'its CSV equals the reference');

# The same without a crash: a holder that finishes normally frees the slot,
# and the queued report is done without anyone waiting on it.
set_conf($node, 'store_monitoring.debug_worker_delay' => 3000);
$holder = trigger($node);
ok(defined wait_for_computing($node, $holder, 1), 'a new holder takes the slot') or die;
$waiting = trigger($node);
is(report_row($node, $waiting)->{phase}, 'queued', 'the second report is queued');
set_conf($node, 'store_monitoring.debug_worker_delay' => 0);
ok( poll_until($node,
		"SELECT status FROM _store_monitoring_internal.report WHERE report_id = '$holder'", 'Complete'),
	'the holder completes after its delay');
ok( poll_until($node,
		"SELECT status FROM _store_monitoring_internal.report WHERE report_id = '$waiting'", 'Complete'),
	'the queued report is picked up and completed without a get_report/wait_report call');
is(wait_report($node, $waiting), 'Complete', 'wait_report agrees');
is(report_csv($node, $waiting), $ref_csv, 'its CSV equals the reference');

$node->stop;
done_testing();
