# Upgrades: a database created at 1.0, with inputs and reports, is updated
# with ALTER EXTENSION store_monitoring UPDATE. Its old reports stay readable,
# new reports work and agree with the old ones, and its schema is then the
# same as that of a fresh install of the new default version.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use StoreMonitoringTest;

my $node = PostgreSQL::Test::Cluster->new('upgrade');
$node->init;
$node->append_conf('postgresql.conf', "max_parallel_workers_per_gather = 0\n");
$node->start;

# The default version is the newest; 1.0 must still be installable as shipped.
my $default = $node->safe_psql('postgres',
	"SELECT default_version FROM pg_available_extensions WHERE name = 'store_monitoring'");
isnt($default, '1.0', "default version $default is newer than 1.0");

$node->safe_psql('postgres', "CREATE DATABASE old_db");
$node->safe_psql('old_db', "CREATE EXTENSION store_monitoring VERSION '1.0'");
is($node->safe_psql('old_db',
		"SELECT extversion FROM pg_extension WHERE extname = 'store_monitoring'"),
	'1.0', 'installed at 1.0');
load_data($node, 120, db => 'old_db');

# The library serves one schema version: at 1.0 it refuses with a clear
# error instead of failing on a table it cannot find.
my ($ret, $out, $err) = $node->psql('old_db', "SELECT store_monitoring.trigger_report('$AS_OF')");
like($err, qr/extension "store_monitoring" is at version 1\.0, but its library is version $default/,
	'a stale schema gets a clear error');
like($err, qr/ALTER EXTENSION store_monitoring UPDATE/, '... with the way out');

# A report as 1.0 stored it: computed by a fresh install over the same inputs
# and copied into 1.0's tables, row for row.
$node->safe_psql('postgres', "CREATE DATABASE fresh_db");
$node->safe_psql('fresh_db', 'CREATE EXTENSION store_monitoring');
load_data($node, 120, db => 'fresh_db');
my $old_id = $node->safe_psql('fresh_db', "SELECT store_monitoring.trigger_report('$AS_OF')");
is($node->safe_psql('fresh_db', "SELECT store_monitoring.wait_report('$old_id', '3 minutes')"),
	'Complete', 'reference report completes');
my $old_csv = $node->safe_psql('fresh_db', "SELECT csv FROM store_monitoring.get_report('$old_id')");
like($old_csv, qr/^store_id,uptime_last_hour/, 'reference report has a CSV');
my $report_row = $node->safe_psql('fresh_db', qq{
SELECT format('INSERT INTO store_monitoring.report (report_id, owner, status, phase, as_of,
  report_time, max_extrapolation, interpolation, requested_at, started_at, finished_at,
  attempts, store_count, csv) VALUES (%L, 10, %L, %L, %L, %L, %L, %L, %L, %L, %L, %s, %s, %L)',
  report_id, status, phase, as_of, report_time, max_extrapolation, interpolation,
  requested_at, started_at, finished_at, attempts, store_count,
  _store_monitoring_internal._report_csv(report_id))
FROM _store_monitoring_internal.report WHERE report_id = '$old_id'});
my $result_rows = $node->safe_psql('fresh_db', qq{
SELECT string_agg(format('(%L, %L, %s, %s, %s, %s, %s, %s)', '$old_id', store_id,
  uptime_last_hour, uptime_last_day, uptime_last_week,
  downtime_last_hour, downtime_last_day, downtime_last_week), ', ')
FROM store_monitoring.report_rows('$old_id')});
$node->safe_psql('old_db', "$report_row;\n"
	  . "INSERT INTO store_monitoring.report_result VALUES $result_rows;");
$node->safe_psql('old_db', 'ALTER EXTENSION store_monitoring UPDATE');
is($node->safe_psql('old_db',
		"SELECT extversion FROM pg_extension WHERE extname = 'store_monitoring'"),
	$default, "updated to $default");

# Inputs kept, the old report readable, a new one identical.
cmp_ok(store_count($node, 'old_db'), '>=', 120, 'inputs survive the update');
is($node->safe_psql('old_db', "SELECT status FROM store_monitoring.get_report('$old_id')"),
	'Complete', 'old report still readable after the update');
is($node->safe_psql('old_db', "SELECT csv FROM store_monitoring.get_report('$old_id')"),
	$old_csv, 'old report CSV unchanged by the update');
my $new_id = $node->safe_psql('old_db', "SELECT store_monitoring.trigger_report('$AS_OF')");
is($node->safe_psql('old_db', "SELECT store_monitoring.wait_report('$new_id', '3 minutes')"),
	'Complete', 'a new report completes after the update');
is($node->safe_psql('old_db', "SELECT csv FROM store_monitoring.get_report('$new_id')"),
	$old_csv, 'the new report equals the old one on the same inputs');
is($node->safe_psql('old_db',
		"SELECT count(*) FROM store_monitoring.list_reports()"),
	'2', 'list_reports shows the old and the new report');

# The old report's rows read as 1.0 stored them (unknown time was not
# recorded then), with the same values as the new report's.
my $rows_sql = "SELECT string_agg(concat_ws(',', store_id, uptime_last_hour, uptime_last_day,"
  . " uptime_last_week, downtime_last_hour, downtime_last_day, downtime_last_week), E'\\n'"
  . " ORDER BY store_id) FROM store_monitoring.report_rows('%s')";
is($node->safe_psql('old_db', sprintf($rows_sql, $old_id)),
	$node->safe_psql('old_db', sprintf($rows_sql, $new_id)),
	'old report_rows equal the new report\'s');
is($node->safe_psql('old_db', "SELECT count(*) FILTER (WHERE unknown_last_week IS NULL) || '/'"
	  . " || count(*) FROM store_monitoring.report_rows('$old_id')"),
	store_count($node, 'old_db') . '/' . store_count($node, 'old_db'),
	'old report: unknown time NULL (not recorded by 1.0)');
is($node->safe_psql('old_db', "SELECT count(*) FILTER (WHERE unknown_last_week IS NULL)"
	  . " FROM store_monitoring.report_rows('$new_id')"),
	'0', 'new report: unknown time recorded');
# Deleting the old report deletes its 1.0 rows with it.
$node->safe_psql('old_db', "SELECT store_monitoring.delete_report('$old_id')");
is($node->safe_psql('old_db', "SELECT count(*) FROM _store_monitoring_internal.report_result"),
	'0', 'delete_report removes a 1.0 report\'s rows');

# The updated schema equals a fresh install's (objects, grants, comments;
# data aside).
# pg_dump --binary-upgrade writes every member of the extension (a plain
# dump writes only CREATE EXTENSION); the OIDs it pins differ per database.
sub schema_of
{
	my ($db) = @_;
	my ($stdout, $stderr);
	IPC::Run::run([ 'pg_dump', '--schema-only', '--binary-upgrade', '-d', $node->connstr($db) ],
		'>', \$stdout, '2>', \$stderr) or die "pg_dump failed: $stderr";
	$stdout =~ s/^SELECT pg_catalog\.binary_upgrade_set_next_.*\n//mg;
	$stdout =~ s/^\\(un)?restrict .*\n//mg;
	$stdout =~ s/'\{\d+(,\d+)*\}'/'{oids}'/g;
	$stdout =~ s/relfrozenxid = '\d+'/relfrozenxid = 'xid'/g;
	$stdout =~ s/WHERE oid = '\d+'/WHERE oid = 'oid'/g;
	$stdout =~ s/^SELECT pg_catalog\.setval.*\n//mg;
	$stdout =~ s/^--.*\n//mg;
	$stdout =~ s/\n{2,}/\n/g;
	return $stdout;
}
my $updated = schema_of('old_db');
my $fresh = schema_of('fresh_db');
like($fresh, qr/_store_monitoring_internal\.report_result/, 'the dump shows the extension\'s members');
is($updated, $fresh, 'schema after the update equals a fresh install');

# 1.1 -> 1.2 on its own: a database at 1.1 with reports is updated, gets the
# block-range index its reports read the range with, and reads as before.
$node->safe_psql('postgres', 'CREATE DATABASE v11_db');
$node->safe_psql('v11_db', "CREATE EXTENSION store_monitoring VERSION '1.1'");
load_data($node, 120, db => 'v11_db');
is($node->safe_psql('v11_db', "SELECT to_regclass('store_monitoring.store_status_timestamp_utc_brin')"),
	'', '1.1 has no block-range index');
$node->safe_psql('v11_db', "ALTER EXTENSION store_monitoring UPDATE TO '1.2'");
is($node->safe_psql('v11_db',
		"SELECT extversion FROM pg_extension WHERE extname = 'store_monitoring'"),
	'1.2', 'updated from 1.1 to 1.2');
is($node->safe_psql('v11_db', q{
SELECT am.amname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_am am ON am.oid = c.relam
WHERE c.oid = 'store_monitoring.store_status_timestamp_utc_brin'::regclass}),
	'brin', '1.2 adds the block-range index on timestamp_utc');
# The library serves only the default version: update on before reporting.
$node->safe_psql('v11_db', 'ALTER EXTENSION store_monitoring UPDATE');
my $v11_id = $node->safe_psql('v11_db', "SELECT store_monitoring.trigger_report('$AS_OF')");
is($node->safe_psql('v11_db', "SELECT store_monitoring.wait_report('$v11_id', '3 minutes')"),
	'Complete', "a report completes after 1.1 -> 1.2 -> $default");
is($node->safe_psql('v11_db', "SELECT csv FROM store_monitoring.get_report('$v11_id')"),
	$old_csv, '... with the numbers of the other databases');
is(schema_of('v11_db'), $fresh, "schema after 1.1 -> 1.2 -> $default equals a fresh install");

# 1.2 -> the default version: a database at 1.2 with a report is updated
# and reads and computes as before.
$node->safe_psql('postgres', 'CREATE DATABASE v12_db');
$node->safe_psql('v12_db', "CREATE EXTENSION store_monitoring VERSION '1.2'");
load_data($node, 120, db => 'v12_db');
# A shift starting at 24:00, written before 1.3 refused them: empty by the
# rules (an end at or after 23:59:00 means midnight first), so the numbers
# stay those of the other databases.
$node->safe_psql('v12_db',
	"INSERT INTO store_monitoring.business_hours VALUES ('00001', 0, '24:00', '24:00')");
$node->safe_psql('v12_db', 'ALTER EXTENSION store_monitoring UPDATE');
is($node->safe_psql('v12_db', q{
SELECT store_id || ' ' || value FROM store_monitoring.check_sources()
WHERE column_name = 'start_time_local'}),
	'00001 24:00:00', 'the 24:00 start written at 1.2 stays, and check_sources() lists it');
my ($v12_ret, $v12_out, $v12_err) = $node->psql('v12_db',
	"INSERT INTO store_monitoring.business_hours VALUES ('00002', 0, '24:00', '24:00')");
like($v12_err, qr/violates check constraint "start_time_local_is_before_24_00"/,
	'... while a new one is refused');
is($node->safe_psql('v12_db',
		"SELECT extversion FROM pg_extension WHERE extname = 'store_monitoring'"),
	$default, "updated from 1.2 to $default");
my $v12_id = $node->safe_psql('v12_db', "SELECT store_monitoring.trigger_report('$AS_OF')");
is($node->safe_psql('v12_db', "SELECT store_monitoring.wait_report('$v12_id', '3 minutes')"),
	'Complete', 'a report completes after the update from 1.2');
is($node->safe_psql('v12_db', "SELECT csv FROM store_monitoring.get_report('$v12_id')"),
	$old_csv, '... with the numbers of the other databases');
is(schema_of('v12_db'), $fresh, "schema after 1.2 -> $default equals a fresh install");

# 1.3 -> the default version: a database at 1.3 with a report is updated
# and its report stays readable; a new one computes as before.
$node->safe_psql('postgres', 'CREATE DATABASE v13_db');
$node->safe_psql('v13_db', "CREATE EXTENSION store_monitoring VERSION '1.3'");
load_data($node, 120, db => 'v13_db');
$node->safe_psql('v13_db', 'ALTER EXTENSION store_monitoring UPDATE');
is($node->safe_psql('v13_db',
		"SELECT extversion FROM pg_extension WHERE extname = 'store_monitoring'"),
	$default, "updated from 1.3 to $default");
my $v13_id = $node->safe_psql('v13_db', "SELECT store_monitoring.trigger_report('$AS_OF')");
is($node->safe_psql('v13_db', "SELECT store_monitoring.wait_report('$v13_id', '3 minutes')"),
	'Complete', 'a report completes after the update from 1.3');
is($node->safe_psql('v13_db', "SELECT csv FROM store_monitoring.get_report('$v13_id')"),
	$old_csv, '... with the numbers of the other databases');
is(schema_of('v13_db'), $fresh, "schema after 1.3 -> $default equals a fresh install");

# 1.4 -> the default version: a database at 1.4 with polls is updated; its
# polls can then be sealed, and a report over them computes as before.
$node->safe_psql('postgres', 'CREATE DATABASE v14_db');
$node->safe_psql('v14_db', "CREATE EXTENSION store_monitoring VERSION '1.4'");
load_data($node, 120, db => 'v14_db');
$node->safe_psql('v14_db', 'ALTER EXTENSION store_monitoring UPDATE');
is($node->safe_psql('v14_db',
		"SELECT extversion FROM pg_extension WHERE extname = 'store_monitoring'"),
	$default, "updated from 1.4 to $default");
my $v14_polls = $node->safe_psql('v14_db', 'SELECT count(*) FROM store_monitoring.store_status');
is($node->safe_psql('v14_db', "SELECT store_monitoring.compact_polls('0')"),
	$v14_polls, '... its polls are sealed');
my $v14_id = $node->safe_psql('v14_db', "SELECT store_monitoring.trigger_report('$AS_OF')");
is($node->safe_psql('v14_db', "SELECT store_monitoring.wait_report('$v14_id', '3 minutes')"),
	'Complete', 'a report completes after the update from 1.4');
is($node->safe_psql('v14_db', "SELECT csv FROM store_monitoring.get_report('$v14_id')"),
	$old_csv, '... over the sealed polls, with the numbers of the other databases');
is(schema_of('v14_db'), $fresh, "schema after 1.4 -> $default equals a fresh install");

$node->stop;
done_testing();
