# The life of a report: trigger_report() queues it, the worker starts when
# the triggering transaction commits and completes it; a rolled-back trigger
# leaves nothing behind; waiting inside the triggering transaction is refused.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

use FindBin;
use lib "$FindBin::RealBin/../perl";
use StoreMonitoringTest;

# debug1 makes the postmaster log every background worker it starts.
my $node = new_node('lifecycle', conf => ['log_min_messages = debug1']);
load_data($node, 300);
my $stores = store_count($node);
cmp_ok($stores, '>=', 300, "data set has $stores stores");

my $header = 'store_id,uptime_last_hour,uptime_last_day,uptime_last_week,'
  . 'downtime_last_hour,downtime_last_day,downtime_last_week';
my $started_re = qr/starting background worker process "[^"]*store_monitoring/;

sub strip { my $s = shift; $s =~ s/\n+\z//; return $s; }

# --- trigger: queued inside its transaction, no worker before COMMIT -------
my $offset = -s $node->logfile;
my $session = $node->background_psql('postgres');
$session->query_safe('BEGIN');
my $id1 = $session->query_safe("SELECT store_monitoring.trigger_report('$AS_OF')");
like($id1, qr/^\S+$/, 'trigger_report returns an id');
is( $session->query_safe(
		"SELECT status || '/' || phase || '/' || attempts FROM _store_monitoring_internal.report WHERE report_id = '$id1'"
	),
	'Running/queued/0',
	'the new report is Running, queued, not attempted');
is($session->query_safe("SELECT status FROM store_monitoring.get_report('$id1')"),
	'Running', 'get_report inside the triggering transaction says Running');
# Give a (wrong) early worker time to show up; none may start before COMMIT.
usleep(1_000_000);
unlike(slurp_file($node->logfile, $offset), $started_re,
	'no worker starts before the triggering transaction commits');
is( $node->safe_psql('postgres',
		"SELECT count(*) FROM _store_monitoring_internal.report WHERE report_id = '$id1'"),
	'0',
	'other sessions do not see the uncommitted report');
$session->query_safe('COMMIT');
$session->quit;

is(wait_report($node, $id1), 'Complete', 'wait_report returns Complete');
like(slurp_file($node->logfile, $offset), $started_re,
	'a worker was started for the committed report');

my $row = report_row($node, $id1);
is($row->{status},      'Complete', 'report row: status Complete');
is($row->{phase},       'done',     'report row: phase done');
is($row->{attempts},    '1',        'report row: one attempt');
is($row->{store_count}, $stores,    'report row: store_count counts every known store');
is($row->{error},       '',         'report row: no error');
like($row->{worker_pid}, qr/^\d+$/, 'report row: worker_pid recorded');
isnt($row->{started_at},  '', 'report row: started_at set');
isnt($row->{finished_at}, '', 'report row: finished_at set');
is( $node->safe_psql('postgres',
		"SELECT as_of = timestamptz '$AS_OF' FROM _store_monitoring_internal.report WHERE report_id = '$id1'"),
	't',
	'report row: as_of is the requested instant');

my $csv1 = strip(report_csv($node, $id1));
my @lines = split /\n/, $csv1;
is($lines[0], $header, 'CSV header');
is(scalar(@lines), $stores + 1, 'CSV has one line per store');
is(scalar(grep { !/^[^,]+(,\d+\.\d\d){6}$/ } @lines[1 .. $#lines]),
	0, 'every CSV line has a store id and six values with two decimals');
is( join("\n", map { (split /,/)[0] } @lines[1 .. $#lines]),
	$node->safe_psql('postgres', q{
SELECT string_agg(store_id, E'\n' ORDER BY store_id COLLATE "C") FROM (
  SELECT store_id FROM store_monitoring.store_status
  UNION SELECT store_id FROM store_monitoring.business_hours
  UNION SELECT store_id FROM store_monitoring.store_timezone) s}),
	'CSV lists every known store once, in byte order');

is( strip($node->safe_psql('postgres',
		"SELECT csv FROM store_monitoring.get_report('$id1')")),
	$csv1,
	'get_report returns the stored CSV');
is( $node->safe_psql('postgres',
		"SELECT status || '/' || (as_of = timestamptz '$AS_OF') || '/' || coalesce(error, '<null>') FROM store_monitoring.get_report('$id1')"),
	'Complete/true/<null>',
	'get_report: Complete, as_of, no error');

# The rows behind the CSV: one per store, the CSV is their rounding.
is( $node->safe_psql('postgres',
		"SELECT count(*) FROM store_monitoring.report_rows('$id1')"),
	$stores, 'report_rows has one row per store');
is( strip($node->safe_psql('postgres', qq{
SELECT '$header' || E'\\n' || string_agg(concat_ws(',', store_id,
         to_char(round(uptime_last_hour::numeric, 2), 'FM999999990.00'),
         to_char(round(uptime_last_day::numeric, 2), 'FM999999990.00'),
         to_char(round(uptime_last_week::numeric, 2), 'FM999999990.00'),
         to_char(round(downtime_last_hour::numeric, 2), 'FM999999990.00'),
         to_char(round(downtime_last_day::numeric, 2), 'FM999999990.00'),
         to_char(round(downtime_last_week::numeric, 2), 'FM999999990.00')),
       E'\\n' ORDER BY store_id COLLATE "C")
FROM store_monitoring.report_rows('$id1')})),
	$csv1,
	'the CSV is report_rows rounded to two decimals');
is( $node->safe_psql('postgres', qq{
SELECT count(*) FROM store_monitoring.report_rows('$id1')
WHERE least(uptime_last_hour, uptime_last_day, uptime_last_week,
            downtime_last_hour, downtime_last_day, downtime_last_week) < 0
   OR uptime_last_hour + downtime_last_hour > 60 + 1e-9
   OR uptime_last_day + downtime_last_day > 24 + 1e-9
   OR uptime_last_week + downtime_last_week > 168 + 1e-9}),
	'0',
	'no negative value, and no window holds more than its length');
# A store without business hours is open 24x7: uptime + downtime is the window.
my ($open_all, $bad) = split /\|/, $node->safe_psql('postgres', qq{
SELECT count(*),
       count(*) FILTER (WHERE abs(uptime_last_hour + downtime_last_hour - 60) > 1e-9
                           OR abs(uptime_last_day + downtime_last_day - 24) > 1e-9
                           OR abs(uptime_last_week + downtime_last_week - 168) > 1e-9)
FROM store_monitoring.report_rows('$id1') r
WHERE NOT EXISTS (SELECT 1 FROM store_monitoring.business_hours b WHERE b.store_id = r.store_id)});
cmp_ok($open_all, '>', 10, "$open_all stores are open 24x7");
is($bad, '0', '24x7 stores: uptime + downtime = 60 min / 24 h / 168 h');
is( $node->safe_psql('postgres', qq{
SELECT count(*) FROM store_monitoring.report_rows('$id1')
WHERE store_id LIKE 'bh-only-%'
  AND uptime_last_hour + uptime_last_day + uptime_last_week = 0
  AND downtime_last_week > 0}),
	'3',
	'stores without polls have no uptime, only downtime');

# --- the same as_of gives the same numbers ---------------------------------
my $id2 = trigger($node);
isnt($id2, $id1, 'a second report gets a new id');
is(wait_report($node, $id2), 'Complete', 'second report completes');
is(strip(report_csv($node, $id2)), $csv1, 'same as_of: identical CSV');
is( $node->safe_psql('postgres', qq{
SELECT count(*) FROM (
  (SELECT * FROM store_monitoring.report_rows('$id1')
   EXCEPT ALL SELECT * FROM store_monitoring.report_rows('$id2'))
  UNION ALL
  (SELECT * FROM store_monitoring.report_rows('$id2')
   EXCEPT ALL SELECT * FROM store_monitoring.report_rows('$id1'))) d}),
	'0',
	'same as_of: identical unrounded rows');

# --- report_time 'latest': the newest poll, resolved by the worker ----------
my $id_latest = trigger($node, as_of => undef);
is(wait_report($node, $id_latest), 'Complete', 'trigger_report() without as_of completes');
is( $node->safe_psql('postgres', qq{
SELECT r.as_of = (SELECT max(timestamp_utc) FROM store_monitoring.store_status)
FROM _store_monitoring_internal.report r WHERE report_id = '$id_latest'}),
	't',
	'latest: as_of is the newest poll');

# --- several triggers in one transaction all complete ----------------------
my @ids = split /\n/, $node->safe_psql('postgres', qq{
BEGIN;
SELECT store_monitoring.trigger_report('$AS_OF');
SELECT store_monitoring.trigger_report('$AS_OF');
SELECT store_monitoring.trigger_report('$AS_OF');
COMMIT;});
is(scalar(@ids), 3, 'three reports triggered in one transaction');
for my $id (@ids)
{
	is(wait_report($node, $id), 'Complete', "report $id of the transaction completes");
	is(strip(report_csv($node, $id)), $csv1, "report $id has the same CSV");
}

# --- rollback: no row, no worker ------------------------------------------
ok(wait_no_workers($node), 'workers exit once every report is done');
my $reports_before = $node->safe_psql('postgres', 'SELECT count(*) FROM _store_monitoring_internal.report');
$offset = -s $node->logfile;
my $rolled_back = $node->safe_psql('postgres', qq{
BEGIN;
SELECT store_monitoring.trigger_report('$AS_OF') AS id \\gset
ROLLBACK;
SELECT :'id';});
like($rolled_back, qr/^\S+$/, 'the rolled-back transaction got an id');
# Allow a (wrong) worker the time to start; then look.
usleep(1_500_000);
is($node->safe_psql('postgres', 'SELECT count(*) FROM _store_monitoring_internal.report'),
	$reports_before, 'rollback leaves no report row');
is(scalar(worker_pids($node)), 0, 'rollback: no store_monitoring worker in pg_stat_activity');
unlike(slurp_file($node->logfile, $offset), $started_re,
	'rollback: no worker was started');
my ($ret, $out, $err) = $node->psql('postgres',
	"SELECT * FROM store_monitoring.get_report('$rolled_back')");
isnt($ret, 0, 'get_report of a rolled-back id fails');
like($err, qr/report "\Q$rolled_back\E" does not exist/, '... saying it does not exist');

# A trigger rolled back to a savepoint leaves no row either.
$offset = -s $node->logfile;
my $sub_rolled_back = $node->safe_psql('postgres', qq{
BEGIN;
SAVEPOINT s;
SELECT store_monitoring.trigger_report('$AS_OF') AS id \\gset
ROLLBACK TO SAVEPOINT s;
COMMIT;
SELECT :'id';});
usleep(1_000_000);
is($node->safe_psql('postgres', 'SELECT count(*) FROM _store_monitoring_internal.report'),
	$reports_before, 'a trigger rolled back to a savepoint leaves no row');
ok(wait_no_workers($node), '... and no worker stays behind');
my $spurious = () = slurp_file($node->logfile, $offset) =~ /$started_re/g;
is($spurious, 0, "... and no worker is started for it");

# --- waiting inside the triggering transaction is a clear error ------------
($ret, $out, $err) = $node->psql('postgres', qq{
BEGIN;
SELECT store_monitoring.trigger_report('$AS_OF') AS id \\gset
SELECT store_monitoring.wait_report(:'id', interval '5 seconds');
COMMIT;});
isnt($ret, 0, 'wait_report in the triggering transaction fails');
like($err, qr/triggered in this transaction and cannot start before it commits/,
	'... with an error saying the report cannot start before the commit');
is($node->safe_psql('postgres', 'SELECT count(*) FROM _store_monitoring_internal.report'),
	$reports_before, '... and the aborted transaction leaves no report');

# Nothing is left running or queued.
is( $node->safe_psql('postgres',
		"SELECT count(*) FROM _store_monitoring_internal.report WHERE status <> 'Complete'"),
	'0',
	'every committed report is Complete');
ok(wait_no_workers($node), 'no worker remains at the end');

$node->stop;
done_testing();
