# A coordinator merges its shards' rows as they arrive: it holds the stored
# form of the merged stores and one row per shard, not every shard's rows.
# Without timing: worker_memory_kb of a coordinator report over N stores,
# less that of one over a few stores (the process's own memory), divided by
# N, stays under a bound per store. The merge's own peak (the report's
# memory up to the end of the merge, logged) stays under 64 bytes per store;
# the whole report, which also writes the stored form (copies it into the
# result row), under 140. Holding the shards' rows and the merged rows and
# CSV, as the merge did before it streamed, took about 320 (here 177 from
# the write on, where worker_memory_kb then began to count).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use StoreMonitoringTest;

my $stores_per_shard = 50000;
my $merge_bound = 64;
my $report_bound = 140;

my $coordinator = new_node('coordinator', conf => ['log_min_messages = debug1']);
my %shard = (shard1 => new_node('shard1'), shard2 => new_node('shard2'));
my $setup = shard_setup_sql(\%shard);
$coordinator->safe_psql('postgres', $setup);

# Each shard its own stores: shard2's ids get a prefix.
sub load_shards
{
	my ($n) = @_;
	for my $name (sort keys %shard)
	{
		$shard{$name}->safe_psql('postgres', q{
TRUNCATE store_monitoring.store_status, store_monitoring.business_hours, store_monitoring.store_timezone});
		load_data($shard{$name}, $n, hours => 2);
	}
	$shard{shard2}->safe_psql('postgres', q{
UPDATE store_monitoring.store_status SET store_id = 'b' || store_id;
UPDATE store_monitoring.business_hours SET store_id = 'b' || store_id;
UPDATE store_monitoring.store_timezone SET store_id = 'b' || store_id;
});
	return store_count($shard{shard1}) + store_count($shard{shard2});
}

# The coordinator worker's memory (kB): at most during the whole report, and
# up to the end of the merge; and the report's store count.
sub report_memory
{
	my ($what) = @_;
	my $offset = -s $coordinator->logfile;
	my $id = trigger($coordinator);
	is(wait_report($coordinator, $id), 'Complete', "$what: the report completes");
	my ($kb, $count) = split /\|/, $coordinator->safe_psql('postgres',
		"SELECT worker_memory_kb, store_count FROM _store_monitoring_internal.report WHERE report_id = '$id'");
	my $merged = log_excerpt($coordinator, $offset, qr/store_monitoring report \Q$id\E: .* merged/);
	my ($merge_kb) = $merged =~ /merged in [0-9.]+ ms, (\d+) kB held at most/;
	ok(defined $merge_kb, "$what: the worker logs what the merge held")
	  or diag log_excerpt($coordinator, $offset, qr/\Q$id\E/);
	return ($kb, $merge_kb // 0, $count);
}

my $few = load_shards(3);
my ($base_kb, $base_merge_kb) = report_memory("$few stores");
cmp_ok($base_kb, '>', 0, "a few stores: worker_memory_kb recorded ($base_kb kB)");

my $total = load_shards($stores_per_shard);
my ($kb, $merge_kb, $count) = report_memory("$total stores");
is($count, $total, 'every store is in the report');
my $merge_per_store = ($merge_kb - $base_merge_kb) * 1024 / $count;
cmp_ok($merge_per_store, '<', $merge_bound,
	sprintf('the merge holds %.0f bytes per store (%d kB for %d stores, %d kB for %d)',
		$merge_per_store, $merge_kb, $count, $base_merge_kb, $few));
my $per_store = ($kb - $base_kb) * 1024 / $count;
cmp_ok($per_store, '<', $report_bound,
	sprintf('the whole report, writing included: %.0f bytes per store (%d kB, %d kB for %d)',
		$per_store, $kb, $base_kb, $few));
my $stored = $coordinator->safe_psql('postgres', qq{
SELECT octet_length(data) FROM _store_monitoring_internal.report_output o
JOIN _store_monitoring_internal.report r USING (report_id)
WHERE r.status = 'Complete' ORDER BY r.finished_at DESC LIMIT 1});
note sprintf('the stored form: %.1f bytes per store', $stored / $count);

$_->stop for ($coordinator, values %shard);
done_testing();
