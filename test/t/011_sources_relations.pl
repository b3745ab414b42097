# Sources on a larger, varied data set (load_data): a report over the user's
# own relations -- a view over an application table with other names and a
# linguistic collation, a hash-partitioned table, a foreign table -- equals
# the report over the same rows in the default tables. pg_dump and restore
# keep each role's sources.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use StoreMonitoringTest;

my $node = new_node('sources');
load_data($node, 300);
# Ids whose byte order differs from a linguistic one (Zeta < alpha in bytes).
$node->safe_psql('postgres', qq{
INSERT INTO store_monitoring.store_status VALUES
    ('Zeta', 'active', '$AS_OF'::timestamptz - interval '30 minutes'),
    ('alpha', 'inactive', '$AS_OF'::timestamptz - interval '20 minutes');
});

my $reference_id = trigger($node);
is(wait_report($node, $reference_id), 'Complete', 'report over the default tables');
my $reference = report_csv($node, $reference_id);
my $lines = () = $reference =~ /\n/g;
cmp_ok($lines, '>', 300, 'the reference report has a row per store');

my $host = $node->host;
my $port = $node->port;
$node->safe_psql(
	'postgres', qq{
-- Polls in an application table: other names, a boolean, an ICU collation.
CREATE TABLE public.restaurant_checks (
    check_id   bigserial PRIMARY KEY,
    restaurant varchar(300) COLLATE "en-x-icu" NOT NULL,
    checked_at timestamptz NOT NULL,
    online     boolean NOT NULL
);
INSERT INTO public.restaurant_checks (restaurant, checked_at, online)
    SELECT store_id, timestamp_utc, status = 'active' FROM store_monitoring.store_status;
CREATE INDEX ON public.restaurant_checks (restaurant COLLATE "C", checked_at);
CREATE VIEW public.store_polls AS
    SELECT restaurant AS store_id,
           CASE WHEN online THEN 'active' ELSE 'inactive' END AS status,
           checked_at AS timestamp_utc
    FROM public.restaurant_checks;
-- Business hours hash-partitioned by store, weekday as bigint.
CREATE TABLE public.hours_by_store (store_id text, day_of_week bigint,
                                    start_time_local time, end_time_local time)
    PARTITION BY HASH (store_id);
CREATE TABLE public.hours_p0 PARTITION OF public.hours_by_store
    FOR VALUES WITH (MODULUS 3, REMAINDER 0);
CREATE TABLE public.hours_p1 PARTITION OF public.hours_by_store
    FOR VALUES WITH (MODULUS 3, REMAINDER 1);
CREATE TABLE public.hours_p2 PARTITION OF public.hours_by_store
    FOR VALUES WITH (MODULUS 3, REMAINDER 2);
INSERT INTO public.hours_by_store SELECT * FROM store_monitoring.business_hours;
-- Time zones from a foreign table (a loopback postgres_fdw server).
CREATE EXTENSION postgres_fdw;
CREATE SERVER loopback FOREIGN DATA WRAPPER postgres_fdw
    OPTIONS (host '$host', port '$port', dbname 'postgres');
CREATE USER MAPPING FOR CURRENT_USER SERVER loopback;
CREATE TABLE public.zone_rows AS SELECT * FROM store_monitoring.store_timezone;
CREATE FOREIGN TABLE public.remote_zones (store_id text, timezone_str varchar(64))
    SERVER loopback OPTIONS (schema_name 'public', table_name 'zone_rows');
});
$node->safe_psql('postgres',
	"SELECT store_monitoring.set_sources('public.store_polls', 'public.hours_by_store', "
	  . "'public.remote_zones')");
my $own_id = trigger($node);
is(wait_report($node, $own_id), 'Complete', 'report over a view, a partitioned and a foreign table');
is(report_csv($node, $own_id), $reference, '... equals the report over the default tables');
is( $node->safe_psql('postgres',
		"SELECT array_to_string(sources, ' ') FROM store_monitoring.list_reports() "
		  . "WHERE report_id = '$own_id'"),
	'public.store_polls public.hours_by_store public.remote_zones',
	'... and records what it read');

# The same through a role of its own: plain tables it owns.
$node->safe_psql(
	'postgres', q{
CREATE ROLE regress_app LOGIN;
CREATE SCHEMA app AUTHORIZATION regress_app;
SET ROLE regress_app;
CREATE TABLE app.polls (store_id text, status text, timestamp_utc timestamptz);
CREATE TABLE app.hours (store_id text, day_of_week int, start_time_local time,
                        end_time_local time);
CREATE TABLE app.zones (store_id text, timezone_str text);
RESET ROLE;
INSERT INTO app.polls SELECT store_id, status::text, timestamp_utc
    FROM store_monitoring.store_status;
INSERT INTO app.hours SELECT * FROM store_monitoring.business_hours;
INSERT INTO app.zones SELECT * FROM store_monitoring.store_timezone;
SET ROLE regress_app;
SELECT store_monitoring.set_sources('app.polls', 'app.hours', 'app.zones');
});
my $app_id = $node->safe_psql('postgres',
	"SET ROLE regress_app; SELECT store_monitoring.trigger_report('$AS_OF')");
is(wait_report($node, $app_id), 'Complete', "a role's report over its own tables");
is(report_csv($node, $app_id), $reference, '... equals the report over the default tables');

# pg_dump and restore keep every role's sources, by name.
my $dump = $node->basedir . '/sources.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-f', $dump, '-d', $node->connstr('postgres') ],
	'pg_dump');
$node->safe_psql('postgres', 'CREATE DATABASE restored');
$node->command_ok([ 'pg_restore', '-d', $node->connstr('restored'), $dump ], 'pg_restore');
is( $node->safe_psql('restored',
		'SET ROLE regress_app; SELECT polls, business_hours, time_zones FROM store_monitoring.sources()'),
	'app.polls|app.hours|app.zones',
	"a role's sources survive pg_dump and restore");
is( $node->safe_psql('restored',
		'SELECT polls, business_hours, time_zones FROM store_monitoring.sources()'),
	'store_polls|hours_by_store|remote_zones',
	"... and the superuser's");
my $restored_id = $node->safe_psql('restored',
	"SET ROLE regress_app; SELECT store_monitoring.trigger_report('$AS_OF')");
is(wait_report($node, $restored_id, db => 'restored'), 'Complete', 'a report after restore');
is(report_csv($node, $restored_id, 'restored'), $reference, '... reads the restored tables');

done_testing();
