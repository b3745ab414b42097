# Attacks on the superuser parts of store_monitoring that pg_regress cannot
# stage: they need a database owned by a non-superuser, which can set the
# search_path of every session in its database (including the report
# workers, which run as the bootstrap superuser) and can create schemas.
#
# 1. A database owner pre-creates schema store_monitoring: CREATE EXTENSION
#    would install into it, and its owner could then rename it and put
#    look-alike tables with triggers where the C code writes reports as
#    superuser. The extension script refuses such a schema.
# 2. A database owner runs ALTER DATABASE ... SET search_path = regress_sm_evil,
#    pg_catalog, with look-alikes of every operator, aggregate and function
#    the worker's SQL uses unqualified. The worker pins its own search_path,
#    so none of them ever runs, and the report is the same as without them.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use StoreMonitoringTest;

my $node = new_node('access_worker');
my $superuser = $node->safe_psql('postgres', 'SELECT current_user');

$node->safe_psql(
	'postgres', q{
CREATE ROLE regress_sm_dbo LOGIN;
CREATE DATABASE regress_sm_schema OWNER regress_sm_dbo;
CREATE DATABASE regress_sm_path OWNER regress_sm_dbo;
});

sub dbo_is_superuser
{
	return $node->safe_psql('postgres',
		"SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = 'regress_sm_dbo'");
}

# --- 1. a pre-created schema --------------------------------------------------

$node->safe_psql('regress_sm_schema',
	'SET ROLE regress_sm_dbo; CREATE SCHEMA store_monitoring;');
my ($ret, $out, $err) =
  $node->psql('regress_sm_schema', 'CREATE EXTENSION store_monitoring');
isnt($ret, 0, 'CREATE EXTENSION refuses a schema store_monitoring owned by a non-superuser');
like($err, qr/schema store_monitoring is not owned by a superuser/, '... naming the problem');
is( $node->safe_psql('regress_sm_schema',
		q{SELECT count(*) FROM pg_catalog.pg_extension WHERE extname = 'store_monitoring'}),
	'0',
	'... and nothing is installed');

# The same schema, once a superuser owns it, is accepted; its former owner
# can no longer rename it.
$node->safe_psql('regress_sm_schema',
	"ALTER SCHEMA store_monitoring OWNER TO $superuser; CREATE EXTENSION store_monitoring;");
($ret, $out, $err) = $node->psql('regress_sm_schema',
	'SET ROLE regress_sm_dbo; ALTER SCHEMA store_monitoring RENAME TO sm_moved;');
like($err, qr/must be owner of schema store_monitoring/,
	'the database owner cannot rename the superuser-owned extension schema');
is(dbo_is_superuser(), 'f', 'the database owner is still not a superuser');

# --- 2. ALTER DATABASE SET search_path against the worker --------------------

my $db = 'regress_sm_path';
$node->safe_psql($db, 'CREATE EXTENSION store_monitoring');
load_data($node, 40, db => $db);
$node->safe_psql(
	$db, q{
GRANT SELECT ON store_monitoring.store_status, store_monitoring.business_hours,
                store_monitoring.store_timezone TO regress_sm_dbo;
});

# Reference reports, before any trap exists.
my $ref = trigger($node, db => $db);
is(wait_report($node, $ref, db => $db), 'Complete', 'reference report completes');
my $ref_csv = report_csv($node, $ref, $db);
my $ref_latest = trigger($node, db => $db, as_of => undef);
is(wait_report($node, $ref_latest, db => $db), 'Complete', 'reference latest report completes');
my $ref_latest_csv = report_csv($node, $ref_latest, $db);

# The database owner's traps (sql/include/hijack.psql, the same harness as
# sql/access.sql's): each look-alike computes the right answer but first
# records who ran it, and, when that is a superuser, makes the database
# owner a superuser: what a real attacker would do.
my $hijack = PostgreSQL::Test::Utils::slurp_file("$FindBin::RealBin/../../sql/include/hijack.psql");
$node->safe_psql(
	$db, qq{
SET ROLE regress_sm_dbo;
CREATE SCHEMA regress_sm_evil;
$hijack
ALTER DATABASE regress_sm_path SET search_path = regress_sm_evil, pg_catalog;
});

# The trap is real: every new session of the database, a superuser's too,
# now resolves unqualified names in regress_sm_evil first.
is( $node->safe_psql($db, q{SELECT 'a'::text = 'a'::text; SELECT current_setting('search_path')}),
	"t\nregress_sm_evil, pg_catalog",
	'a new superuser session gets the hostile search_path and runs the look-alike');
is($node->safe_psql($db, 'SELECT count(*) FROM regress_sm_evil.calls'),
	'1', '... which recorded the call');
is(dbo_is_superuser(), 't', '... and so made the database owner a superuser');
$node->safe_psql(
	$db, q{
ALTER ROLE regress_sm_dbo NOSUPERUSER;
TRUNCATE regress_sm_evil.calls;
});

# Reports triggered by the database owner and by a superuser, with an
# explicit T and with 'latest' (max() as the owner), all run by workers that
# connect to this database as the bootstrap superuser and so receive the
# hostile search_path from ALTER DATABASE. The sessions that trigger and wait
# have it too (the C and plpgsql code pin their own).
my %reports;
for my $who ('regress_sm_dbo', $superuser)
{
	for my $kind ('explicit', 'latest')
	{
		my $arg = $kind eq 'explicit' ? "'$AS_OF'" : '';
		my $id = $node->safe_psql($db,
			"SET ROLE $who; SELECT store_monitoring.trigger_report($arg)");
		$reports{"$who $kind"} = $id;
	}
}
for my $label (sort keys %reports)
{
	my $id = $reports{$label};
	is( $node->safe_psql($db,
			"SELECT store_monitoring.wait_report('$id', interval '180 seconds')"),
		'Complete',
		"$label: report completes under the hostile database search_path");
	# Read through get_report: an unqualified report_id = '...' in this
	# superuser session would itself run the trap.
	is($node->safe_psql($db, "SELECT csv FROM store_monitoring.get_report('$id')"),
		$label =~ /explicit/ ? $ref_csv : $ref_latest_csv,
		"$label: same CSV as the reference report");
}
is( $node->safe_psql($db, q{
SELECT count(*) FROM _store_monitoring_internal.report
WHERE status OPERATOR(pg_catalog.<>) 'Complete'}),
	'0', 'no report failed');

# The worker sessions really had the hostile setting: they connect as the
# bootstrap superuser to this database, and pg_db_role_setting applies to it.
is( $node->safe_psql('postgres', q{
SELECT pg_catalog.array_to_string(s.setconfig, ',')
FROM pg_catalog.pg_db_role_setting s JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase
WHERE d.datname = 'regress_sm_path' AND s.setrole = 0}),
	'search_path=regress_sm_evil, pg_catalog',
	'the database setting that every worker session received is in place');

is($node->safe_psql($db, 'SELECT count(*) FROM regress_sm_evil.calls'),
	'0', 'no look-alike ran: not in a worker, not in a triggering or waiting session');
is(dbo_is_superuser(), 'f', 'the database owner is still not a superuser');

$node->stop;
done_testing();
