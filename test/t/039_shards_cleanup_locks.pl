# A coordinator's cleanup of shard reports left behind never waits long for
# a lock on the shard: a session there holding its report's row (here the
# mapped role's own open transaction that deletes it) would otherwise hold
# the coordinator's worker, after every report of every role, for up to
# store_monitoring.shard_timeout (set to an hour here). The cleanup gives up
# with a WARNING, the worker computes the next report, and a later report's
# worker deletes the shard report once the lock is gone.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use StoreMonitoringTest;

my $coordinator = new_node('coordinator');
my $shard = new_node('shard1');
my ($host, $port) = ($shard->host, $shard->port);
$coordinator->safe_psql('postgres', qq{
CREATE EXTENSION postgres_fdw;
CREATE SERVER shard1 FOREIGN DATA WRAPPER postgres_fdw
    OPTIONS (host '$host', port '$port', dbname 'postgres');
CREATE USER MAPPING FOR CURRENT_USER SERVER shard1;
SELECT store_monitoring.add_shard('shard1');
});
load_data($shard, 20, hours => 2);
set_conf($coordinator,
	'store_monitoring.shard_timeout' => 3_600_000,
	'store_monitoring.max_workers' => 1);

my $first = trigger($coordinator);
is(wait_report($coordinator, $first), 'Complete', 'a coordinator report completes');
my $shard_id = $coordinator->safe_psql('postgres',
	"SELECT shard_report_id FROM _store_monitoring_internal.shard_report WHERE report_id = '$first'");
ok(length $shard_id, "... recording its shard's report ($shard_id)");

# On the shard, a session holds the shard report's row: its own delete,
# not committed.
my $holder = start_psql($shard, qq{
BEGIN;
SELECT store_monitoring.delete_report('$shard_id');
SELECT pg_catalog.pg_sleep(3600);
});
ok( poll_until($shard,
		"SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE wait_event = 'PgSleep'", '1'),
	"a session on the shard holds the shard report's row");

# purge_reports leaves the shard report to the workers' cleanup.
$coordinator->safe_psql('postgres', "SELECT store_monitoring.purge_reports('0 s')");
is($coordinator->safe_psql('postgres', 'SELECT count(*) FROM _store_monitoring_internal.shard_cleanup'),
	'1', 'the purged report leaves its shard report to clean up');

# The next report's worker tries that cleanup, then (the one worker) the
# report after it.
my $offset = -s $coordinator->logfile;
my $second = trigger($coordinator);
is(wait_report($coordinator, $second), 'Complete', 'the next report completes');
my $third = trigger($coordinator);
is(wait_report($coordinator, $third), 'Complete',
	'the report after it completes too: the cleanup did not hold the worker');
like(slurp_file($coordinator->logfile, $offset),
	qr/WARNING:  could not delete report "\Q$shard_id\E" on shard "shard1": .*lock timeout/,
	'... which warned that a lock on the shard stopped it');
is($coordinator->safe_psql('postgres', 'SELECT count(*) FROM _store_monitoring_internal.shard_cleanup'),
	'1', '... and kept the note');

# The lock gone, a later report's worker deletes the shard report.
$shard->safe_psql('postgres',
	"SELECT pg_catalog.pg_cancel_backend(pid) FROM pg_catalog.pg_stat_activity WHERE wait_event = 'PgSleep'");
finish_psql($holder);
my $fourth = trigger($coordinator);
is(wait_report($coordinator, $fourth), 'Complete', 'the lock released, a later report completes');
ok( poll_until($shard,
		"SELECT count(*) FROM _store_monitoring_internal.report WHERE report_id = '$shard_id'", '0'),
	"... and its worker deletes the shard report left behind");
ok( poll_until($coordinator, 'SELECT count(*) FROM _store_monitoring_internal.shard_cleanup', '0'),
	'... and forgets it');

$coordinator->stop;
$shard->stop;
done_testing();
