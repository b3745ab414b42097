# A report interrupted by a server stop (-m immediate) survives the restart
# as Running. Without shared_preload_libraries, get_report/wait_report
# resumes it; with shared_preload_libraries = 'store_monitoring' the launcher
# resumes it on its own, in every database, after a restart and after a
# crash restart.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use StoreMonitoringTest;

my $node = new_node('restart');
load_data($node, 300);
my $ref = trigger($node);
is(wait_report($node, $ref), 'Complete', 'undisturbed reference report completes');
my $ref_csv = report_csv($node, $ref);

my $status_sql = sub {
	my ($id) = @_;
	return "SELECT status FROM _store_monitoring_internal.report WHERE report_id = '$id'";
};

# --- no preload: stop -m immediate mid-report, resume by wait_report --------
set_conf($node, 'store_monitoring.debug_worker_delay' => 600_000);
my $id = trigger($node);
ok(defined wait_for_computing($node, $id, 1), 'the worker claimed the report') or die;
$node->stop('immediate');
# The restarted server runs without the delay.
$node->append_conf('postgresql.conf', 'store_monitoring.debug_worker_delay = 0');
$node->start;
my $row = report_row($node, $id);
is($row->{status}, 'Running', 'after stop -m immediate and start the report is Running');
is($row->{attempts}, '1', '... after one attempt');
is(scalar(worker_pids($node)), 0, '... and no worker was started for it');
is(wait_report($node, $id), 'Complete', 'wait_report resumes it to Complete');
$row = report_row($node, $id);
is($row->{attempts}, '2', 'it took a second attempt');
is(report_csv($node, $id), $ref_csv, 'CSV equals the undisturbed report');

# Same, resumed by a single get_report call; then just watch the table.
set_conf($node, 'store_monitoring.debug_worker_delay' => 600_000);
$id = trigger($node);
ok(defined wait_for_computing($node, $id, 1), 'the worker claimed the report') or die;
$node->stop('immediate');
$node->append_conf('postgresql.conf', 'store_monitoring.debug_worker_delay = 0');
$node->start;
is($node->safe_psql('postgres', "SELECT status FROM store_monitoring.get_report('$id')"),
	'Running', 'get_report after the restart says Running');
ok(poll_until($node, $status_sql->($id), 'Complete'),
	'the worker started by get_report completes the report');
is(report_csv($node, $id), $ref_csv, 'CSV equals the undisturbed report');

# A clean (fast) shutdown mid-report interrupts the worker the same way.
set_conf($node, 'store_monitoring.debug_worker_delay' => 600_000);
$id = trigger($node);
ok(defined wait_for_computing($node, $id, 1), 'the worker claimed the report') or die;
$node->stop('fast');
$node->append_conf('postgresql.conf', 'store_monitoring.debug_worker_delay = 0');
$node->start;
is(report_row($node, $id)->{status}, 'Running', 'after stop -m fast and start the report is Running');
is(wait_report($node, $id), 'Complete', 'wait_report resumes it to Complete');
is(report_csv($node, $id), $ref_csv, 'CSV equals the undisturbed report');
$node->stop;

# --- preload: the launcher recovers on its own ------------------------------
my $pre = new_node('restart_preload', preload => 1);
$pre->safe_psql('postgres', 'CREATE DATABASE second');
$pre->safe_psql('second', 'CREATE EXTENSION store_monitoring');
load_data($pre, 300);
load_data($pre, 200, db => 'second');
my $pre_ref = trigger($pre);
my $second_ref = trigger($pre, db => 'second');
is(wait_report($pre, $pre_ref), 'Complete', 'preload: reference report completes');
is(wait_report($pre, $second_ref, db => 'second'), 'Complete',
	'preload: reference report of the second database completes');
my $pre_csv = report_csv($pre, $pre_ref);
my $second_csv = report_csv($pre, $second_ref, 'second');
isnt($pre_csv, $second_csv, 'the two databases have different data');

# stop -m immediate mid-report in two databases; start; watch the table only.
set_conf($pre, 'store_monitoring.debug_worker_delay' => 600_000);
my $id1 = trigger($pre);
my $id2 = trigger($pre, db => 'second');
ok(defined wait_for_computing($pre, $id1, 1), 'preload: worker claimed the report') or die;
ok(defined wait_for_computing($pre, $id2, 1, db => 'second'),
	'preload: worker claimed the report of the second database') or die;
$pre->stop('immediate');
$pre->append_conf('postgresql.conf', 'store_monitoring.debug_worker_delay = 0');
$pre->start;
# Only direct reads of the report table from here: no get_report/wait_report.
ok(poll_until($pre, $status_sql->($id1), 'Complete'),
	'preload: the launcher resumed the report after the restart');
ok(poll_until($pre, $status_sql->($id2), 'Complete', db => 'second'),
	'preload: ... and the one of the second database');
is(report_csv($pre, $id1), $pre_csv, 'preload: CSV equals the undisturbed report');
is(report_csv($pre, $id2, 'second'), $second_csv,
	'preload: second database: CSV equals its undisturbed report');
is(report_row($pre, $id1)->{attempts}, '2', 'preload: the report took a second attempt');

# Crash restart (a killed worker) with preload: recovered without a call too.
set_conf($pre, 'store_monitoring.debug_worker_delay' => 600_000);
my $id3 = trigger($pre);
my $pid = wait_for_computing($pre, $id3, 1);
ok(defined $pid, 'preload: worker claimed the report') or die;
# A crash restart keeps the postmaster's settings, and the launcher may start
# a worker before we could change them: lift the delay before the kill (the
# claimed worker sleeps on, it read the delay when it began to sleep).
set_conf($pre, 'store_monitoring.debug_worker_delay' => 0);
is(report_row($pre, $id3)->{phase}, 'computing', 'preload: the worker still sleeps in phase computing');
kill_worker_and_wait_restart($pre, $pid);
ok(poll_until($pre, $status_sql->($id3), 'Complete'),
	'preload: the launcher resumed the report after the crash restart');
is(report_csv($pre, $id3), $pre_csv, 'preload: CSV equals the undisturbed report');

# A report queued (not yet claimed) when the server stopped is also resumed.
set_conf($pre,
	'store_monitoring.max_workers' => 1,
	'store_monitoring.debug_worker_delay' => 600_000);
my $claimed = trigger($pre);
my $queued = trigger($pre);
ok(defined wait_for_computing($pre, $claimed, 1), 'preload: first report claimed') or die;
is(report_row($pre, $queued)->{phase}, 'queued', 'preload: with max_workers = 1 the second waits');
$pre->stop('immediate');
$pre->append_conf('postgresql.conf', 'store_monitoring.debug_worker_delay = 0');
$pre->start;
ok(poll_until($pre, $status_sql->($claimed), 'Complete'), 'preload: the claimed report completes');
ok(poll_until($pre, $status_sql->($queued), 'Complete'), 'preload: the queued report completes');
is(report_row($pre, $queued)->{attempts}, '1', 'preload: the queued report needed one attempt');
is( $pre->safe_psql('postgres', "SELECT count(*) FROM _store_monitoring_internal.report WHERE status <> 'Complete'"),
	'0', 'preload: every report is Complete');

$pre->stop;
done_testing();
