# A report id is its owner's secret: while a worker computes the report,
# another role must not learn the id from anything PostgreSQL shows every
# role about other sessions (pg_stat_activity but its query text, pg_locks).
# The owner follows the report through list_reports(); superusers also see
# the id in the worker's query text. Then why completion events must be
# confirmed: a role that knows an id (or just a digest it saw) can send the
# same payload as the worker, and the listener cannot tell the two apart.
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

my $node = new_node('report_ids');
load_data($node, 30);
$node->safe_psql('postgres', q{
CREATE ROLE regress_sm_owner LOGIN;
CREATE ROLE regress_sm_other LOGIN;
GRANT SELECT ON store_monitoring.store_status, store_monitoring.business_hours,
                store_monitoring.store_timezone TO regress_sm_owner;
CREATE TABLE public.go (go boolean NOT NULL);
INSERT INTO public.go VALUES (false);
GRANT SELECT ON public.go TO regress_sm_owner;
});

sub as_role
{
	my ($role, $sql) = @_;
	return $node->safe_psql('postgres', "SET ROLE $role; $sql");
}

# Everything about other sessions that another role is shown, as text.
my $seen_by_others = q{
SELECT coalesce(string_agg(t, ' '), '') FROM (
    SELECT row_to_json(a)::text AS t FROM pg_catalog.pg_stat_activity a
    UNION ALL SELECT row_to_json(l)::text FROM pg_catalog.pg_locks l) x};

set_conf($node, 'store_monitoring.max_workers' => 1);
for my $point (qw(claimed reading writing))
{
	set_conf($node,
		'store_monitoring.debug_pause_point' => $point,
		'store_monitoring.debug_worker_delay' => 600_000);
	my $id = as_role('regress_sm_owner', "SELECT store_monitoring.trigger_report('$AS_OF')");
	my $pid = wait_for_pause_point($node, $id, $point);
	ok(defined $pid, "$point: the worker holds the owner's report") or die;

	my $others = as_role('regress_sm_other', $seen_by_others);
	like($others, qr/"pid":$pid,/, "$point: another role sees the worker's pg_stat_activity row");
	unlike($others, qr/\Q$id\E/, "$point: ... and nowhere in it, nor in pg_locks, the report id");
	is( as_role('regress_sm_other',
			"SELECT application_name || '|' || coalesce(query, '') FROM pg_catalog.pg_stat_activity WHERE pid = $pid"),
		'store_monitoring worker|<insufficient privilege>',
		"$point: its application_name names no report; the query text is hidden");
	is( as_role('regress_sm_owner',
			"SELECT phase FROM store_monitoring.list_reports() WHERE report_id = '$id'"),
		'computing', "$point: the owner follows its report through list_reports()");
	is($node->safe_psql('postgres',
			"SELECT query LIKE '%report $id' FROM pg_catalog.pg_stat_activity WHERE pid = $pid"),
		't', "$point: a superuser sees which report the worker computes");
	as_role('regress_sm_owner', "SELECT store_monitoring.cancel_report('$id')");
	is(wait_report($node, $id), 'Failed', "$point: canceled");
}

# --- a completion event can be forged ------------------------------------------
# The owner listens (re-reading public.go until told to stop) while its report
# is held at "claimed"; another role that knows the id sends the worker's
# payload with the status it likes.
set_conf($node,
	'store_monitoring.debug_pause_point' => 'claimed',
	'store_monitoring.debug_worker_delay' => 600_000);
my $id = as_role('regress_sm_owner', "SELECT store_monitoring.trigger_report('$AS_OF')");
ok(defined wait_for_pause_point($node, $id, 'claimed'), 'the worker holds a new report');
my ($out, $err) = ('', '');
my $listener = IPC::Run::start(
	[
		$node->installed_command('psql'), '-X', '-v', 'ON_ERROR_STOP=1',
		'-d', $node->connstr('postgres') . ' user=regress_sm_owner',
		'-c', 'LISTEN store_monitoring_report',
		'-c', "DO \$\$ BEGIN WHILE NOT (SELECT go FROM public.go) LOOP "
		  . "PERFORM pg_sleep(0.05); END LOOP; END \$\$",
		'-c', 'SELECT 1'
	],
	'>', \$out, '2>', \$err,
	IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
ok( poll_until($node, q{
SELECT count(*) FROM pg_stat_activity
WHERE usename = 'regress_sm_owner' AND query LIKE 'DO %' AND state = 'active'}, '1'),
	'the owner listens');
my $digest = sha256_hex($id);
$node->safe_psql('postgres',
	"SET ROLE regress_sm_other; SELECT pg_catalog.pg_notify('store_monitoring_report', '$digest Failed')");
is(as_role('regress_sm_owner', "SELECT status FROM store_monitoring.get_report('$id')"),
	'Running', 'meanwhile the report is still Running');
as_role('regress_sm_owner', "SELECT store_monitoring.cancel_report('$id')");
is(wait_report($node, $id), 'Failed', 'the report really ends (canceled)');
$node->safe_psql('postgres', 'UPDATE public.go SET go = true');
$listener->finish;
my @notes = $out =~ /Asynchronous notification "store_monitoring_report" with payload "([^"]*)"/g;
is_deeply(\@notes, [ "$digest Failed", "$digest Failed" ],
	'the forged event and the worker\'s carry the same channel and payload: '
	  . 'only get_report()/wait_report() tell which is true');

$node->stop;
done_testing();
