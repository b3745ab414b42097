# The pg_regress suite in a database whose default collation is not byte
# order (ICU en-US): every expected output, store order included, must be
# the same as in the byte-ordered test database. The store_id columns'
# COLLATE "C" is what keeps it so; store_order.sql has ids that sort
# differently in the two orders and reads report_rows() as returned.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use StoreMonitoringTest;

my $node = new_node('collation');
$node->safe_psql('postgres', q{
CREATE DATABASE regress_icu TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C.UTF-8'
    LOCALE_PROVIDER icu ICU_LOCALE 'en-US'});
is( $node->safe_psql('regress_icu',
		q{SELECT string_agg(x, ' ' ORDER BY x) FROM unnest(ARRAY['B', 'a', '_x', 'b', 'é']) AS x}),
	'_x a b B é', 'the database sorts text by en-US rules, not by bytes');

my @tests = sort map { m{^sql/(\w+)\.sql$} && $1 !~ /^store_monitoring/ ? $1 : () } glob('sql/*.sql');
ok(grep({ $_ eq 'store_order' } @tests), 'the suite includes store_order');
my $out = PostgreSQL::Test::Utils::tempdir;
my ($stdout, $stderr);
my $ok = IPC::Run::run(
	[
		$ENV{PG_REGRESS}, '--use-existing', '--dbname=regress_icu',
		'--host=' . $node->host, '--port=' . $node->port,
		'--inputdir=.', "--outputdir=$out", '--bindir=', @tests
	],
	'>', \$stdout, '2>', \$stderr);
ok($ok, 'pg_regress: every file gives its expected output in the en-US database')
  or diag "$stdout\n$stderr\n"
  . (-e "$out/regression.diffs" ? slurp_file("$out/regression.diffs") : '');

$node->stop;
done_testing();
