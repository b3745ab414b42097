# A source function that catches cancels (EXCEPTION WHEN query_canceled)
# cannot outlive store_monitoring.report_timeout nor cancel_report(): the
# worker stops such a report on its own clock with a stop no PL exception
# block catches. The report ends Failed with the reason, after one attempt,
# never Complete; the report queued behind it completes; the worker is
# replaced.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

use FindBin;
use lib "$FindBin::RealBin/../perl";
use StoreMonitoringTest;

my $node = new_node('trapped_stop',
	conf => [ "store_monitoring.report_timeout = '2s'", 'store_monitoring.max_workers = 1' ]);
load_data($node, 50);
my $first = trigger($node);
wait_report($node, $first);
my $reference = report_csv($node, $first);

# A role (no special rights) whose polls source is a view calling a function
# that sleeps for 10 minutes and swallows every cancel meanwhile.
$node->safe_psql('postgres', q{
CREATE ROLE trapper LOGIN;
GRANT SELECT ON store_monitoring.store_status, store_monitoring.business_hours,
                store_monitoring.store_timezone TO trapper;
CREATE SCHEMA trap AUTHORIZATION trapper;
SET ROLE trapper;
CREATE FUNCTION trap.stall() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..3000 LOOP
        BEGIN
            PERFORM pg_catalog.pg_sleep(0.2);
        EXCEPTION WHEN query_canceled THEN
            NULL;
        END;
    END LOOP;
    RETURN true;
END $$;
CREATE VIEW trap.polls AS
    SELECT store_id, status, timestamp_utc FROM store_monitoring.store_status
    WHERE trap.stall();
SELECT store_monitoring.set_sources(polls => 'trap.polls');
});

sub trapped_report
{
	return $node->safe_psql('postgres',
		"SET ROLE trapper; SELECT store_monitoring.trigger_report('$AS_OF')");
}

# --- report_timeout ----------------------------------------------------------
my $started = time();
my $trapped = trapped_report();
# The only worker slot is taken by the trapped report; a superuser's report
# queues behind it.
my $other = trigger($node);
is(wait_report($node, $trapped), 'Failed', 'the report that traps its cancel ends Failed');
my $elapsed = time() - $started;
my $row = report_row($node, $trapped);
like($row->{error}, qr/store_monitoring\.report_timeout/, '... naming store_monitoring.report_timeout');
is($row->{attempts}, '1', '... after one attempt, not retried');
ok($elapsed < 60, "... long before its source ends (took ${elapsed}s of its 600 s)");
is(wait_report($node, $other), 'Complete', 'the report queued behind it completes');
is(report_csv($node, $other), $reference, '... with the undisturbed numbers');
my $next = trigger($node);
is(wait_report($node, $next), 'Complete', 'the next report completes (the worker is replaced)');

# --- cancel_report -----------------------------------------------------------
set_conf($node, 'store_monitoring.report_timeout' => 0);
my $canceled = trapped_report();
ok(defined wait_for_computing($node, $canceled, 1), 'the trapped report is computing');
# Let it get into its source.
$node->poll_query_until('postgres',
	"SELECT count(*) > 0 FROM pg_catalog.pg_stat_activity WHERE wait_event = 'PgSleep' "
	  . "AND backend_type = 'store_monitoring worker'")
  or die 'the worker never reached the source';
$started = time();
$node->safe_psql('postgres',
	"SET ROLE trapper; SELECT store_monitoring.cancel_report('$canceled')");
ok( poll_until($node,
		"SELECT status || '|' || error || '|' || attempts FROM store_monitoring.list_reports() "
		  . "WHERE report_id = '$canceled'",
		'Failed|canceled by trapper|1'),
	'cancel_report stops the report while its source swallows cancels');
$elapsed = time() - $started;
ok($elapsed < 30, "... at once, not when the source ends (took ${elapsed}s of its 600 s)");
is($node->safe_psql('postgres', "SELECT csv IS NULL FROM store_monitoring.get_report('$canceled')"),
	't', 'the canceled report has no CSV');
$next = trigger($node);
is(wait_report($node, $next), 'Complete', 'the next report completes');
is(report_csv($node, $next), $reference, '... with the undisturbed numbers');

$node->stop;
done_testing();
