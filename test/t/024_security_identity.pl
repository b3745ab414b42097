# Code a role wrote runs only as that role, whoever reads its relations
# (plain LOGIN roles attack, a superuser and other roles are the victims):
#   a. explain_store() on a role's report, called by a superuser, reads the
#      report's relations as the report's owner: a view whose function turns
#      its role superuser when it runs as one sees only its owner;
#   b. a source that sets search_path for the session (set_config(..., false))
#      and defines its own = for text cannot redirect the worker's own SQL,
#      run as the bootstrap superuser, nor the next role's report in the same
#      worker (one worker slot);
#   c. explain_store() reads the relations the report recorded by OID: after
#      the owner renames its view, a relation another role puts under the old
#      name is never read; a relation dropped since gives a clear error.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use StoreMonitoringTest;

my $node = new_node('security_identity', conf => ['store_monitoring.max_workers = 1']);
load_data($node, 20, hours => 30);
my $ref = trigger($node);
is(wait_report($node, $ref), 'Complete', 'reference report over the default tables');
my $ref_csv = report_csv($node, $ref);

# Runs $sql as the plain LOGIN role $role (its own session).
sub as_role
{
	my ($role, $sql) = @_;
	return $node->safe_psql('postgres', $sql, extra_params => [ '-U', $role ]);
}

sub is_superuser
{
	my ($role) = @_;
	return $node->safe_psql('postgres',
		"SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = '$role'");
}

$node->safe_psql('postgres', q{
CREATE ROLE regress_mallory LOGIN;
CREATE ROLE regress_alice LOGIN;
GRANT SELECT ON store_monitoring.store_status, store_monitoring.business_hours,
                store_monitoring.store_timezone TO regress_mallory, regress_alice;
CREATE SCHEMA m AUTHORIZATION regress_mallory;
CREATE SCHEMA mine AUTHORIZATION regress_mallory;
-- A schema two roles may create in (c).
CREATE SCHEMA shared;
GRANT USAGE, CREATE ON SCHEMA shared TO regress_mallory, regress_alice;
});

# Mallory's log of every call of its code: who ran it, as superuser or not.
as_role('regress_mallory', q{
GRANT USAGE ON SCHEMA m, mine TO PUBLIC;
CREATE TABLE m.seen (who name, su boolean, what text);
GRANT INSERT ON m.seen TO PUBLIC;
CREATE FUNCTION m.note(what text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    su boolean := (SELECT r.rolsuper FROM pg_catalog.pg_roles r
                   WHERE r.rolname OPERATOR(pg_catalog.=) current_user);
BEGIN
    INSERT INTO m.seen VALUES (current_user, su, what);
    IF su THEN
        EXECUTE 'ALTER ROLE regress_mallory SUPERUSER';
    END IF;
END $$;
-- a: a time-zone view whose column calls m.note.
CREATE FUNCTION m.probe(id text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM m.note('probe');
    RETURN id;
END $$;
CREATE VIEW m.zones AS
    SELECT m.probe(z.store_id) AS store_id, z.timezone_str FROM store_monitoring.store_timezone z;
-- b: = for text in schema mine, and a polls view that puts mine first in
-- the session's search_path.
CREATE FUNCTION mine.text_eq(a text, b text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    PERFORM m.note('operator');
    RETURN pg_catalog.texteq(a, b);
END $$;
CREATE OPERATOR mine.= (LEFTARG = text, RIGHTARG = text, FUNCTION = mine.text_eq);
CREATE FUNCTION m.hijack(id text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM m.note('hijack');
    PERFORM pg_catalog.set_config('search_path', 'mine, pg_catalog', false);
    RETURN id;
END $$;
CREATE VIEW m.polls AS
    SELECT m.hijack(s.store_id) AS store_id, s.status, s.timestamp_utc
    FROM store_monitoring.store_status s;
});

# --- a. explain_store() as a superuser ------------------------------------------
as_role('regress_mallory', q{SELECT store_monitoring.set_sources(time_zones => 'm.zones')});
my $a_id = as_role('regress_mallory', qq{SELECT store_monitoring.trigger_report('$AS_OF')});
is(wait_report($node, $a_id), 'Complete', "a: mallory's report over its probing view completes");
is(report_csv($node, $a_id), $ref_csv, 'a: same CSV as the reference');
my $calls = $node->safe_psql('postgres', 'SELECT count(*) FROM m.seen');
cmp_ok($calls, '>', 0, "a: the report's worker ran the view's function");
my $explained = $node->safe_psql('postgres',
	"SELECT count(*) FROM store_monitoring.explain_store('$a_id', '00001')");
cmp_ok($explained, '>', 0, "a: a superuser's explain_store() on mallory's report gives rows");
cmp_ok($node->safe_psql('postgres', 'SELECT count(*) FROM m.seen'),
	'>', $calls, "a: explain_store() ran the view's function");
is(is_superuser('regress_mallory'), 'f', 'a: mallory is not superuser afterwards');
is( $node->safe_psql('postgres',
		q{SELECT count(*) FROM m.seen WHERE who <> 'regress_mallory' OR su}),
	'0',
	"a: the view's function only ever ran as mallory");
# Each attack starts from a plain mallory (the old code had made it superuser).
$node->safe_psql('postgres', 'TRUNCATE m.seen; ALTER ROLE regress_mallory NOSUPERUSER');

# --- b. the worker's search_path ----------------------------------------------
as_role('regress_mallory',
	q{SELECT store_monitoring.set_sources(polls => 'm.polls', time_zones => NULL)});
# Both reports are committed at once, mallory's first: the one worker slot
# computes both in the same process, one after the other.
my ($b_id, $alice_id) = split /\n/, $node->safe_psql('postgres', qq{
BEGIN;
SET ROLE regress_mallory;
SELECT store_monitoring.trigger_report('$AS_OF');
SET ROLE regress_alice;
SELECT store_monitoring.trigger_report('$AS_OF');
COMMIT;
});
is(wait_report($node, $b_id), 'Complete', "b: mallory's report over the hijacking view completes");
is(wait_report($node, $alice_id), 'Complete', "b: alice's report right after it completes");
is(report_csv($node, $b_id), $ref_csv, "b: mallory's report has the reference CSV");
is(report_csv($node, $alice_id), $ref_csv, "b: alice's report has the reference CSV");
is( $node->safe_psql('postgres', qq{
SELECT count(DISTINCT worker_pid) FROM _store_monitoring_internal.report
WHERE report_id IN ('$b_id', '$alice_id')}),
	'1',
	'b: one worker computed both');
cmp_ok($node->safe_psql('postgres', q{SELECT count(*) FROM m.seen WHERE what = 'hijack'}),
	'>', 0, "b: the worker ran the view's set_config()");
is(is_superuser('regress_mallory'), 'f', 'b: mallory is not superuser afterwards');
is($node->safe_psql('postgres', q{SELECT count(*) FROM m.seen WHERE su}),
	'0', "b: mallory's operator never ran as a superuser");
is($node->safe_psql('postgres', q{SELECT count(*) FROM m.seen WHERE who <> 'regress_mallory'}),
	'0', "b: nor as any other role (alice's report)");
as_role('regress_mallory', q{SELECT store_monitoring.set_sources()});
# Each attack starts from a plain mallory (the old code had made it superuser).
$node->safe_psql('postgres', 'TRUNCATE m.seen; ALTER ROLE regress_mallory NOSUPERUSER');

# --- c. explain_store() finds the relations by OID ------------------------------
as_role('regress_alice', q{
CREATE VIEW shared.zones AS SELECT z.store_id, z.timezone_str FROM store_monitoring.store_timezone z;
SELECT store_monitoring.set_sources(time_zones => 'shared.zones');
});
my $c_id = as_role('regress_alice', qq{SELECT store_monitoring.trigger_report('$AS_OF')});
is(wait_report($node, $c_id), 'Complete', "c: alice's report over its view completes");
as_role('regress_alice', 'ALTER VIEW shared.zones RENAME TO zones_renamed');
# Mallory's relation under the old name: other zones, and its probe.
as_role('regress_mallory', q{
CREATE VIEW shared.zones AS
    SELECT m.probe(z.store_id) AS store_id, 'Asia/Tokyo'::text AS timezone_str
    FROM store_monitoring.store_timezone z;
GRANT SELECT ON shared.zones TO PUBLIC;
});
my $rows = as_role('regress_alice',
	"SELECT count(*), bool_or(changed_since) FROM store_monitoring.explain_store('$c_id', '00003')"
);
is($rows =~ /^[1-9]\d*\|f$/ ? 'ok' : $rows, 'ok',
	"c: alice's explain_store() after the rename gives the report's numbers");
is($node->safe_psql('postgres', 'SELECT count(*) FROM m.seen'),
	'0', "c: mallory's relation under the old name was never read");
as_role('regress_alice', q{
SELECT store_monitoring.set_sources();
DROP VIEW shared.zones_renamed;
});
my ($ret, $out, $err) = $node->psql('postgres',
	"SELECT count(*) FROM store_monitoring.explain_store('$c_id', '00003')",
	extra_params => [ '-U', 'regress_alice' ]);
isnt($ret, 0, 'c: explain_store() refuses once a relation the report read is dropped');
like(
	$err,
	qr/the relation that report "[^"]+" read for time zones \(shared\.zones, OID \d+\) no longer exists/,
	'c: ... saying which input is gone');
is($node->safe_psql('postgres', 'SELECT count(*) FROM m.seen'),
	'0', "c: still nothing of mallory's ran");

done_testing();
