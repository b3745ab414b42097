# What a coordinator trusts of a shard, and what it checks: the rows it
# receives must be the whole report the shard says it computed. A shard that
# leaves a store out of report_rows(), or whose report claims more stores
# than it returns, makes the coordinator's report Failed, naming the shard,
# instead of a Complete report without those stores.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use StoreMonitoringTest;

my $coordinator = new_node('coordinator');
my %shard = (shard1 => new_node('shard1'), shard2 => new_node('shard2'));

# Each shard its own stores: shard2's ids get a prefix.
load_data($shard{shard1}, 40);
load_data($shard{shard2}, 40);
$shard{shard2}->safe_psql('postgres', q{
UPDATE store_monitoring.store_status SET store_id = 'b' || store_id;
UPDATE store_monitoring.business_hours SET store_id = 'b' || store_id;
UPDATE store_monitoring.store_timezone SET store_id = 'b' || store_id;
});
my $setup = shard_setup_sql(\%shard);
$coordinator->safe_psql('postgres', $setup);
my $total = store_count($shard{shard1}) + store_count($shard{shard2});

sub coordinator_report
{
	my $id = trigger($coordinator);
	my $status = wait_report($coordinator, $id);
	my $row = report_row($coordinator, $id);
	return ($status, $row->{error} // '', $row->{store_count} // '');
}

my ($status, $error, $count) = coordinator_report();
is("$status|$error|$count", "Complete||$total", 'untouched shards: Complete, every store');

# --- a shard that leaves a store out ---------------------------------------
# shard2's superuser puts a report_rows() in front of the real one that drops
# the first row.
my $shard2 = $shard{shard2};
my $columns = $shard2->safe_psql('postgres',
	"SELECT pg_get_function_result('store_monitoring.report_rows(text)'::regprocedure)");
$shard2->safe_psql('postgres', qq{
ALTER FUNCTION store_monitoring.report_rows(text) RENAME TO report_rows_whole;
CREATE FUNCTION store_monitoring.report_rows(report_id text) RETURNS $columns
LANGUAGE sql AS 'SELECT * FROM store_monitoring.report_rows_whole(\$1) OFFSET 1';
});
my $shard2_count = store_count($shard2);
my $less = $shard2_count - 1;
($status, $error) = coordinator_report();
is($status, 'Failed', 'a shard that leaves a store out: the coordinator report fails');
like($error,
	qr/^shard "shard2": its report \S+ has store_count $shard2_count but report_rows\(\) returned $less rows$/,
	'... naming the shard, its store_count and the rows received');
$shard2->safe_psql('postgres', q{
DROP FUNCTION store_monitoring.report_rows(text);
ALTER FUNCTION store_monitoring.report_rows_whole(text) RENAME TO report_rows;
});

# --- a shard whose report claims more stores than it returns ---------------
my $shard1 = $shard{shard1};
$shard1->safe_psql('postgres', q{
CREATE FUNCTION public.more_stores() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'Complete' AND OLD.status <> 'Complete' THEN NEW.store_count := NEW.store_count + 1; END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER more_stores BEFORE UPDATE ON _store_monitoring_internal.report
    FOR EACH ROW EXECUTE FUNCTION public.more_stores();
});
my $shard1_count = store_count($shard1);
my $more = $shard1_count + 1;
($status, $error) = coordinator_report();
is($status, 'Failed', 'a shard report whose store_count disagrees with its rows: Failed');
like($error,
	qr/^shard "shard1": its report \S+ has store_count $more but report_rows\(\) returned $shard1_count rows$/,
	'... naming the shard');
$shard1->safe_psql('postgres', 'DROP TRIGGER more_stores ON _store_monitoring_internal.report');

($status, $error, $count) = coordinator_report();
is("$status|$error|$count", "Complete||$total", 'shards restored: Complete again');

$_->stop for ($coordinator, values %shard);
done_testing();
