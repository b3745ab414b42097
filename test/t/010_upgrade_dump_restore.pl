# The inputs survive pg_dump and restore, and a drop without CASCADE: the
# default input tables are extension configuration tables, dumped with their
# rows and restored under the re-created extension; reports are not dumped.
# DROP OWNED BY a (non-bootstrap) superuser who owns the extension is
# refused while inputs hold rows, as DROP EXTENSION is (drop_extension.sql).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use StoreMonitoringTest;

my $node = new_node('dump');
load_data($node, 60);
# Rows through an import view too, and a store id that needs quoting.
$node->safe_psql('postgres', q{
INSERT INTO store_monitoring.store_status_import VALUES ('it''s "x"', 'inactive', '2023-01-25 11:00 UTC');
INSERT INTO store_monitoring.store_timezone_import VALUES ('it''s "x"', 'Europe/Paris');});

# Every row of the three tables, as one digest each.
my $contents = q{
SELECT string_agg(format('%s %s', t, md5(r)), ' ' ORDER BY t)
FROM (SELECT 'store_status' t, string_agg(s::text, E'\n' ORDER BY s::text) r
      FROM store_monitoring.store_status s
      UNION ALL
      SELECT 'business_hours', string_agg(b::text, E'\n' ORDER BY b::text)
      FROM store_monitoring.business_hours b
      UNION ALL
      SELECT 'store_timezone', string_agg(z::text, E'\n' ORDER BY z::text)
      FROM store_monitoring.store_timezone z) d};
my $counts = q{
SELECT (SELECT count(*) FROM store_monitoring.store_status) || ' '
    || (SELECT count(*) FROM store_monitoring.business_hours) || ' '
    || (SELECT count(*) FROM store_monitoring.store_timezone)};
my $orig_contents = $node->safe_psql('postgres', $contents);
my $orig_counts = $node->safe_psql('postgres', $counts);
like($orig_counts, qr/^[1-9]\d* [1-9]\d* [1-9]\d*$/, "inputs loaded: $orig_counts");

my $id = trigger($node);
is(wait_report($node, $id), 'Complete', 'report over the original inputs completes');
my $orig_csv = report_csv($node, $id);

# Custom and plain formats.
my $dump = $node->basedir . '/inputs.dump';
my $plain = $node->basedir . '/inputs.sql';
$node->command_ok([ 'pg_dump', '-Fc', '-f', $dump, '-d', 'postgres' ], 'pg_dump -Fc');
$node->command_ok([ 'pg_dump', '-f', $plain, '-d', 'postgres' ], 'pg_dump plain');
$node->safe_psql('postgres', 'CREATE DATABASE from_custom');
$node->safe_psql('postgres', 'CREATE DATABASE from_plain');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', 'from_custom', $dump ],
	'pg_restore into a new database');
$node->command_ok([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', 'from_plain', '-f', $plain ],
	'plain dump restores without error');

for my $db (qw(from_custom from_plain))
{
	is($node->safe_psql($db, $counts), $orig_counts, "$db: same row counts");
	is($node->safe_psql($db, $contents), $orig_contents, "$db: same rows");
	is($node->safe_psql($db, 'SELECT count(*) FROM _store_monitoring_internal.report'),
		'0', "$db: reports are not dumped");
	is($node->safe_psql($db,
			"SELECT count(*) FROM pg_event_trigger WHERE evtname = 'store_monitoring_keep_inputs'"),
		'1', "$db: the drop guard comes back with the extension");
	my $new = trigger($node, db => $db);
	is(wait_report($node, $new, db => $db), 'Complete', "$db: a report completes");
	is(report_csv($node, $new, $db), $orig_csv, "$db: with the numbers of the original");
}

# DROP EXTENSION without CASCADE keeps the restored rows; CASCADE drops them.
my ($ret, $out, $err) = $node->psql('from_custom', 'DROP EXTENSION store_monitoring');
isnt($ret, 0, 'DROP EXTENSION without CASCADE is refused');
like($err, qr/cannot drop extension store_monitoring without CASCADE while its input tables hold rows/,
	'... saying why');
is($node->safe_psql('from_custom', $contents), $orig_contents, '... and every row is kept');
$node->safe_psql('from_custom', 'DROP EXTENSION store_monitoring CASCADE');
is($node->safe_psql('from_custom',
		"SELECT count(*) FROM pg_class WHERE relname IN ('store_status', 'business_hours', 'store_timezone')"),
	'0', 'DROP EXTENSION ... CASCADE drops the tables');

# An extension created by another superuser: DROP OWNED BY that role would
# drop the extension with it.
$node->safe_psql('postgres', 'CREATE ROLE regress_admin SUPERUSER LOGIN; CREATE DATABASE owned');
$node->safe_psql('owned', 'SET ROLE regress_admin; CREATE EXTENSION store_monitoring');
load_data($node, 5, db => 'owned');
my $owned_counts = $node->safe_psql('owned', $counts);
($ret, $out, $err) = $node->psql('owned', 'DROP OWNED BY regress_admin');
isnt($ret, 0, 'DROP OWNED BY the extension owner is refused');
like($err, qr/without CASCADE while its input tables hold rows/, '... saying why');
is($node->safe_psql('owned', $counts), $owned_counts, '... and every row is kept');
$node->safe_psql('owned', 'DROP OWNED BY regress_admin CASCADE');
is($node->safe_psql('owned', "SELECT count(*) FROM pg_extension WHERE extname = 'store_monitoring'"),
	'0', 'DROP OWNED ... CASCADE drops the extension');

done_testing();
