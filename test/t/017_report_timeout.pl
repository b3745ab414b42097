# store_monitoring.report_timeout: a role whose source sleeps (or waits on a
# lock it holds) cannot keep a report worker for ever. Its report ends Failed
# once the time is up, and other roles' reports are computed meanwhile.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use StoreMonitoringTest;

my $node = new_node('report_timeout',
	conf => [ "store_monitoring.report_timeout = '3s'", 'store_monitoring.max_workers = 1' ]);
load_data($node, 50);
my $reference = report_csv($node, wait_and_id($node, trigger($node)));

sub wait_and_id { my ($node, $id) = @_; wait_report($node, $id); return $id; }

# A role (no special rights) whose polls source is a view that sleeps.
$node->safe_psql('postgres', q{
CREATE ROLE slow_tenant LOGIN;
GRANT SELECT ON store_monitoring.store_status, store_monitoring.business_hours,
                store_monitoring.store_timezone TO slow_tenant;
CREATE SCHEMA slow AUTHORIZATION slow_tenant;
SET ROLE slow_tenant;
CREATE VIEW slow.polls AS
    SELECT store_id, status, timestamp_utc FROM store_monitoring.store_status
    WHERE pg_catalog.pg_sleep(3600) IS NOT NULL;
SELECT store_monitoring.set_sources(polls => 'slow.polls');
});

my $slow = $node->safe_psql('postgres',
	"SET ROLE slow_tenant; SELECT store_monitoring.trigger_report('$AS_OF')");
# The only worker slot is taken by the sleeping report; a superuser's report
# queues behind it and must still complete once the timeout frees the slot.
my $other = trigger($node);
is(wait_report($node, $slow), 'Failed', 'the sleeping report ends Failed');
like(report_row($node, $slow)->{error}, qr/store_monitoring\.report_timeout/,
	'... with the timeout as its error');
is(report_row($node, $slow)->{attempts}, '1', '... after one attempt, not retried');
is(wait_report($node, $other), 'Complete', 'the report queued behind it completes');
is(report_csv($node, $other), $reference, '... with the undisturbed numbers');

# The timer of the failed report does not cancel the worker's next report.
my $next = trigger($node);
is(wait_report($node, $next), 'Complete', 'the next report completes');

$node->stop;
done_testing();
