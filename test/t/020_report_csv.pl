# report_csv(): \copy (SELECT * FROM report_csv(id)) TO file CSV HEADER writes
# get_report()'s CSV byte for byte, also for store ids that need quoting (a
# comma, a quote, a line feed, a carriage return), ids that COPY quotes in a
# one-column output only (\.), spaces and non-ASCII text; and what the psql
# one-liners of the README write.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use StoreMonitoringTest;

my $node = new_node('report_csv');
load_data($node, 20);
# Odd ids go straight into the table (the import view refuses control
# characters); each gets an hourly poll and business hours.
$node->safe_psql('postgres', q{
INSERT INTO store_monitoring.store_status
SELECT id, CASE WHEN h % 3 = 0 THEN 'inactive' ELSE 'active' END::store_monitoring.poll_status,
       timestamptz '2023-01-25 12:00+00' - interval '1 hour' * h - interval '7 minutes' * n
FROM unnest(ARRAY['a,b', 'say "hi"', E'two\nlines', E'cr\r', '\.', '"', ',,', ' spaced ',
                  'ünïcödé', '\N', '''']) WITH ORDINALITY AS t(id, n),
     generate_series(0, 50) h;
INSERT INTO store_monitoring.business_hours VALUES (E'two\nlines', 2, '08:00', '20:00');
});
my $id = trigger($node);
is(wait_report($node, $id), 'Complete', 'report complete');

my $dir = PostgreSQL::Test::Utils::tempdir;
my ($ret, $out, $err) = $node->psql('postgres',
	"\\copy (SELECT * FROM store_monitoring.report_csv('$id')) TO '$dir/copy.csv' CSV HEADER");
is($ret, 0, '\copy of report_csv succeeds') or diag $err;

# The CSV as get_report() returns it, written by psql -XAt (one value, then
# psql's record separator), and with the final line break trimmed.
my $psql = $node->installed_command('psql');
my $conn = $node->connstr('postgres');
IPC::Run::run([ $psql, '-XAt', '-d', $conn, '-c',
		"SELECT csv FROM store_monitoring.get_report('$id')" ],
	'>', "$dir/at.csv")
  or die 'psql -XAt failed';
IPC::Run::run([ $psql, '-XAt', '-d', $conn, '-c',
		"SELECT rtrim(csv, E'\\n') FROM store_monitoring.get_report('$id')" ],
	'>', "$dir/rtrim.csv")
  or die 'psql -XAt rtrim failed';

my $csv = $node->safe_psql('postgres',
	"SELECT encode(convert_to(csv, 'UTF8'), 'base64') FROM store_monitoring.get_report('$id')");
$csv =~ s/\s//g;
require MIME::Base64;
$csv = MIME::Base64::decode_base64($csv);

my $copy = slurp_file("$dir/copy.csv");
my $at = slurp_file("$dir/at.csv");
my $rtrim = slurp_file("$dir/rtrim.csv");
like($csv, qr/\n"two\nlines",/, 'the report quotes an id with a line feed');
like($csv, qr/\n\\\.,/, 'the report does not quote \.');
like($csv, qr/\n"say ""hi""",/, 'the report doubles quotes');
ok($copy eq $csv, '\copy ... CSV HEADER writes the report CSV byte for byte')
  or diag "copy:\n$copy\nreport:\n$csv";
ok($at eq "$csv\n", 'psql -XAt writes the CSV and one more line break');
ok($rtrim eq $csv, "psql -XAt with rtrim(csv, E'\\n') writes the CSV byte for byte");
is( $node->safe_psql('postgres',
		"SELECT count(*) FROM store_monitoring.report_csv('$id')"),
	$node->safe_psql('postgres',
		"SELECT count(*) FROM store_monitoring.report_rows('$id')"),
	'one row per store');

done_testing();
