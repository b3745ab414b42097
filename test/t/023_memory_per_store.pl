# The worker's memory grows with the stores by a bounded number of bytes per
# store (a 1M-store report stays under 256 MB). Without timing:
# worker_memory_kb (the worker's peak private memory) of a report on N
# stores, less that of a report on one store (the process's own memory),
# divided by N, stays under a bound per store, for both reads of the polls:
#   - store order (store_monitoring.range_read_memory = 0): the polls are not
#     held, so the bound covers the held hours, zones and stored result;
#   - range, heap order (the default, within range_read_memory): the polls
#     of the evidence range are held too (PollGroups: 8 bytes each in
#     128-byte blocks of 15 per store).
# The bounds sit between what the compact tables and stored form take and
# what the former std::string-and-vector-per-store inputs plus rows-and-CSV
# result took (bench/README.md, "Memory of a 1M-store report").
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use StoreMonitoringTest;

my $stores = 100000;
my $node = new_node('memory', conf => ['log_min_messages = debug1', 'autovacuum = off']);

# Bytes per store a report's worker may hold beyond a one-store report's. The
# former inputs and result took about 600 (store order) and 950 (range)
# here; the compact ones about 110 and 450.
my $order_bound = 300;
my $range_bound = 650;

# What a report's worker held at most (kB), its store count, and which read
# it used.
sub report_memory
{
	my ($what) = @_;
	my $offset = -s $node->logfile;
	my $id = trigger($node);
	is(wait_report($node, $id), 'Complete', "$what: the report completes");
	my ($kb, $count) = split /\|/, $node->safe_psql('postgres',
		"SELECT worker_memory_kb, store_count FROM _store_monitoring_internal.report WHERE report_id = '$id'");
	my $log = log_excerpt($node, $offset, qr/store_monitoring report \Q$id\E: (hours and zones)/);
	my $read = $log =~ /polls read in store order/ ? 'store order' : $log =~ /polls in range read/ ? 'range' : 'unknown';
	return ($kb, $count, $read);
}

load_data($node, 1, hours => 3);
$node->safe_psql('postgres', 'VACUUM ANALYZE store_monitoring.store_status');
my ($base) = report_memory('one store');
cmp_ok($base, '>', 0, "one store: worker_memory_kb recorded ($base kB)");

$node->safe_psql('postgres', q{
TRUNCATE store_monitoring.store_status, store_monitoring.business_hours, store_monitoring.store_timezone});
# Few polls per store: the stores, not the polls, should show.
load_data($node, $stores, hours => 3);

# The range read (300,000 polls fit range_read_memory), polls of the range held.
my ($range_kb, $count, $range_read) = report_memory("$stores stores, read by range");
is($range_read, 'range', 'the range fits range_read_memory: read by range');
my $range_per_store = ($range_kb - $base) * 1024 / $count;
cmp_ok($range_per_store, '<', $range_bound,
	sprintf('range read: %.0f bytes per store (%d kB for %d stores, %d kB for one)',
		$range_per_store, $range_kb, $count, $base));

$node->safe_psql('postgres', 'VACUUM ANALYZE store_monitoring.store_status');
set_conf($node, 'store_monitoring.range_read_memory' => '0');
my ($order_kb, $order_count, $order_read) = report_memory("$stores stores, store order");
is($order_read, 'store order', 'range_read_memory = 0: read in store order');
my $order_per_store = ($order_kb - $base) * 1024 / $count;
cmp_ok($order_per_store, '<', $order_bound,
	sprintf('store-order read: %.0f bytes per store (%d kB for %d stores, %d kB for one)',
		$order_per_store, $order_kb, $count, $base));

$node->stop;
done_testing();
