# Completion events and wait_report(): the worker announces the end of every
# report with NOTIFY store_monitoring_report in the transaction that ends it,
# naming the report by the SHA-256 of its id (any role may LISTEN on any
# channel, so the id itself would leak to other roles); wait_report() sleeps
# registered under the report's wait lock and is woken when it ends.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Digest::SHA qw(sha256_hex);
use IPC::Run ();

use FindBin;
use lib "$FindBin::RealBin/../perl";
use StoreMonitoringTest;

my $node = new_node('events');
load_data($node, 30);
$node->safe_psql('postgres', q{
CREATE ROLE regress_sm_ev_a;
CREATE ROLE regress_sm_ev_b LOGIN;
GRANT SELECT ON store_monitoring.store_status, store_monitoring.business_hours,
                store_monitoring.store_timezone TO regress_sm_ev_a, regress_sm_ev_b;
CREATE TABLE public.ev_go (go boolean NOT NULL);
INSERT INTO public.ev_go VALUES (false);
GRANT SELECT ON public.ev_go TO regress_sm_ev_b;
});

# --- Another role listens while regress_sm_ev_a's reports end --------------
# regress_sm_ev_b logs in, LISTENs, and waits (re-reading ev_go) until the
# test says both reports have ended; psql prints every notification it got.
my $dir = PostgreSQL::Test::Utils::tempdir;
my ($out, $err) = ('', '');
my $listener = IPC::Run::start(
	[
		$node->installed_command('psql'), '-X', '-v', 'ON_ERROR_STOP=1',
		'-d', $node->connstr('postgres') . ' user=regress_sm_ev_b', '-c',
		"LISTEN store_monitoring_report",
		'-c', "DO \$\$ BEGIN WHILE NOT (SELECT go FROM public.ev_go) LOOP "
		  . "PERFORM pg_sleep(0.05); END LOOP; END \$\$",
		'-c', 'SELECT 1', '-c', 'SELECT 2'
	],
	'>', \$out, '2>', \$err,
	IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
ok( poll_until($node, q{
SELECT count(*) FROM pg_stat_activity
WHERE usename = 'regress_sm_ev_b' AND query LIKE 'DO %' AND state = 'active'}, '1'),
	'the other role listens');

my $complete = $node->safe_psql('postgres',
	"SET ROLE regress_sm_ev_a; SELECT store_monitoring.trigger_report('$AS_OF')");
is(wait_report($node, $complete), 'Complete', 'a report of regress_sm_ev_a completes');
# One that fails: its owner loses SELECT before the worker starts.
my $failed = $node->safe_psql('postgres', qq{
BEGIN;
SET LOCAL ROLE regress_sm_ev_a;
SELECT store_monitoring.trigger_report('$AS_OF');
RESET ROLE;
REVOKE SELECT ON store_monitoring.store_status FROM regress_sm_ev_a;
COMMIT;});
is(wait_report($node, $failed), 'Failed', 'a report of regress_sm_ev_a fails');
$node->safe_psql('postgres', 'UPDATE public.ev_go SET go = true');
$listener->finish;
note "listener: $out\n$err";

my @notes = $out =~ /Asynchronous notification "store_monitoring_report" with payload "([^"]*)"/g;
is_deeply([ sort @notes ],
	[ sort(sha256_hex($complete) . ' Complete', sha256_hex($failed) . ' Failed') ],
	'one notification per ended report: SHA-256 of the id and the status');
unlike($out, qr/\Q$complete\E|\Q$failed\E/, 'the other role never sees the report ids');

# --- wait_report() registers and is woken ---------------------------------
# The worker pauses after claiming; a waiter meanwhile holds the report's
# wait lock (class 0x534D5702) in ShareLock, and returns Complete once the
# worker ends the report.
set_conf($node, 'store_monitoring.debug_worker_delay' => 3000,
	'store_monitoring.debug_pause_point' => 'claimed');
my $id = trigger($node);
my $waiter = start_psql($node, "SELECT store_monitoring.wait_report('$id', '3 minutes');");
ok( poll_until($node, qq{
SELECT count(*) FROM pg_locks l
JOIN _store_monitoring_internal.report r ON l.objid = (r.lock_key & 4294967295)::oid
WHERE r.report_id = '$id' AND l.locktype = 'advisory' AND l.classid = 1397577474
  AND l.objsubid = 21325 AND l.mode = 'ShareLock' AND l.granted
  AND l.pid <> coalesce(r.worker_pid, 0)}, '1'),
	'wait_report holds the report\'s wait lock while it waits');
my ($ret, $got) = finish_psql($waiter);
is("$ret/$got", '0/Complete', 'the waiter returns Complete when the report ends');
is($node->safe_psql('postgres', 'SELECT count(*) FROM pg_locks WHERE classid = 1397577474'),
	'0', 'no wait lock remains');
set_conf($node, 'store_monitoring.debug_worker_delay' => 0);

$node->stop;
done_testing();
