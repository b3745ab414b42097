# What trigger_report(), list_reports() and latest_report() wait for and
# read (TAP):
#   1. while a loader holds ACCESS EXCLUSIVE on the polls table (TRUNCATE and
#      reload in one open transaction), trigger_report(as_of) returns at once;
#      the shape check is left to the worker, which refuses there what the
#      trigger would have refused, and the report completes once the loader
#      commits;
#   2. list_reports() and latest_report(label) read the caller's own report
#      rows only: thousands of another role's reports add nothing to the rows
#      they read (pg_stat_xact_user_tables of the report table).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use StoreMonitoringTest;

my $node = new_node('queue_reads');
load_data($node, 100, hours => 30);
my $ref = trigger($node);
is(wait_report($node, $ref), 'Complete', 'reference report completes');
my $ref_csv = report_csv($node, $ref);
$node->safe_psql('postgres', q{
CREATE ROLE regress_reader LOGIN;
CREATE ROLE regress_nopriv LOGIN;
GRANT SELECT ON store_monitoring.store_status, store_monitoring.business_hours,
                store_monitoring.store_timezone TO regress_reader;
GRANT SELECT ON store_monitoring.business_hours, store_monitoring.store_timezone TO regress_nopriv;
});

sub as_role
{
	my ($role, $sql, %opt) = @_;
	return $node->psql('postgres', $sql, extra_params => [ '-U', $role ], %opt);
}

# --- 1. a loader's ACCESS EXCLUSIVE lock --------------------------------------------
# The loader keeps its transaction open until the holder of advisory lock 1
# lets it go (the test terminates the holder).
my $holder = start_psql($node, q{
SET application_name = 'holder';
SELECT pg_catalog.pg_advisory_lock(1);
SELECT pg_catalog.pg_sleep(3600);
});
ok(poll_until($node, q{
SELECT count(*) FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a USING (pid)
WHERE a.application_name = 'holder' AND l.locktype = 'advisory' AND l.granted}, '1'),
	'the holder has advisory lock 1');
my $loader = start_psql($node, q{
SET application_name = 'loader';
BEGIN;
CREATE TEMP TABLE polls_copy AS SELECT * FROM store_monitoring.store_status;
TRUNCATE store_monitoring.store_status;
INSERT INTO store_monitoring.store_status SELECT * FROM polls_copy;
SELECT pg_catalog.pg_advisory_lock(1);
COMMIT;
});
ok(poll_until($node, q{
SELECT count(*) FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a USING (pid)
WHERE a.application_name = 'loader' AND l.granted AND l.mode = 'AccessExclusiveLock'
  AND l.relation = 'store_monitoring.store_status'::pg_catalog.regclass}, '1'),
	'the loader holds ACCESS EXCLUSIVE on store_status in its open transaction');

# Without the fix the call waits for the loader: the statement timeout ends it.
my ($ret, $id, $err) = as_role('regress_reader',
	"SET statement_timeout = '5s'; SELECT store_monitoring.trigger_report('$AS_OF')");
is($ret, 0, 'trigger_report(as_of) returns while the loader holds the lock') or diag $err;
like($id, qr/^[A-Za-z0-9_-]{16}$/, 'with a report id');
($ret, my $refused, $err) = as_role('regress_nopriv',
	"SET statement_timeout = '5s'; SELECT store_monitoring.trigger_report('$AS_OF')");
is($ret, 0, 'a role without SELECT on the locked polls table gets an id too (checked later)')
  or diag $err;
is( $node->safe_psql('postgres',
		"SELECT sources[1] FROM _store_monitoring_internal.report WHERE report_id = '$id'"),
	'store_monitoring.store_status',
	'the report records the polls table it will read');
ok(psql_running($loader), 'the loader is still in its transaction');

$node->safe_psql('postgres', q{
SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity
WHERE application_name = 'holder'});
finish_psql($holder);
my ($loader_ret, undef, $loader_err) = finish_psql($loader);
is($loader_ret, 0, 'the loader commits once the holder is gone') or diag $loader_err;
is(wait_report($node, $id), 'Complete', 'the report triggered meanwhile completes');
is(report_csv($node, $id), $ref_csv, 'with the same CSV as before the reload');
is(wait_report($node, $refused), 'Failed', "the role without SELECT has its report refused by the worker");
like(
	$node->safe_psql('postgres',
		"SELECT error FROM _store_monitoring_internal.report WHERE report_id = '$refused'"),
	qr/permission denied for table store_status/,
	'with the error the trigger gives when it can check');

# --- 2. rows read follow the caller's own reports ------------------------------------
# Another role's 5000 finished reports, newer than the reader's, copies of
# the reference report's row.
$node->safe_psql('postgres', qq{
CREATE ROLE regress_crowd;
INSERT INTO _store_monitoring_internal.report
    (report_id, owner, status, phase, as_of, report_time, max_extrapolation, interpolation,
     requested_at, finished_at, source_relations, sources, label)
SELECT 'crowd-' || i, 'regress_crowd'::regrole, 'Complete', 'done', as_of, report_time,
       max_extrapolation, interpolation, pg_catalog.now() + interval '1 hour' + interval '1 second' * i,
       pg_catalog.now() + interval '1 hour' + interval '1 second' * i, source_relations, sources,
       'nightly'
FROM _store_monitoring_internal.report, generate_series(1, 5000) i
WHERE report_id = '$ref';
ANALYZE _store_monitoring_internal.report;
});
my ($ret2, $labelled, $err2) = as_role('regress_reader',
	"SELECT store_monitoring.trigger_report('$AS_OF', label => 'nightly')");
is($ret2, 0, 'the reader triggers a labelled report') or diag $err2;
is(wait_report($node, $labelled), 'Complete', 'and it completes');

# Rows of the report table this transaction read, by sequential and index scans.
my $rows_read = q{
SELECT COALESCE(seq_tup_read, 0) + COALESCE(idx_tup_fetch, 0)
FROM pg_catalog.pg_stat_xact_user_tables
WHERE relid = '_store_monitoring_internal.report'::pg_catalog.regclass};
my $list = $node->safe_psql('postgres', qq{
BEGIN;
SET LOCAL ROLE regress_reader;
SELECT count(*) FROM store_monitoring.list_reports();
RESET ROLE;
$rows_read;
COMMIT;});
my ($listed, $list_read) = split /\n/, $list;
is($listed, '2', "list_reports() lists the reader's 2 reports");
cmp_ok($list_read, '<', 100,
	"list_reports() reads its caller's rows, not the other role's 5000 (read: $list_read)");
my $latest = $node->safe_psql('postgres', qq{
BEGIN;
SET LOCAL ROLE regress_reader;
SELECT store_monitoring.latest_report('nightly');
RESET ROLE;
$rows_read;
COMMIT;});
my ($latest_id, $latest_read) = split /\n/, $latest;
is($latest_id, $labelled, "latest_report('nightly') is the reader's, not a newer one of the other role");
cmp_ok($latest_read, '<', 100,
	"latest_report() reads its caller's rows, not the other role's 5000 (read: $latest_read)");
is( $node->safe_psql('postgres',
		"SELECT count(*) FROM store_monitoring.list_reports(label => 'nightly')"),
	'5001',
	'a superuser still sees every role\'s reports');

done_testing();
