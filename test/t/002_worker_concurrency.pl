# Many sessions trigger reports at once: every report completes with the same
# numbers, and no more than store_monitoring.max_workers workers compute at
# the same moment in a database.
use strict;
use warnings;

use File::Temp qw(tempfile);
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

use FindBin;
use lib "$FindBin::RealBin/../perl";
use StoreMonitoringTest;

my $node = new_node('concurrency');
load_data($node, 300);
my $stores = store_count($node);

# The reference: one undisturbed report.
my $ref = trigger($node);
is(wait_report($node, $ref), 'Complete', 'reference report completes');
my $ref_csv = report_csv($node, $ref);

# Each report stays visibly 'computing' for a moment, so samples can see the
# workers at work.
set_conf($node, 'store_monitoring.debug_worker_delay' => 100);

# Starts $sessions psql processes that each trigger $per_session reports
# (each in its own transaction), all at once. Returns the handles.
sub start_sessions
{
	my ($sessions, $per_session, $tag) = @_;
	my @runs;
	my $tmp = PostgreSQL::Test::Utils::tempdir;
	for my $i (1 .. $sessions)
	{
		my $in = "$tmp/in$i.sql";
		open my $fh, '>', $in or die $!;
		print $fh "SELECT store_monitoring.trigger_report('$AS_OF');\n"
		  for 1 .. $per_session;
		close $fh;
		my $run = IPC::Run::start(
			[
				$node->installed_command('psql'), '-XAtq', '-v', 'ON_ERROR_STOP=1',
				'-d', $node->connstr('postgres'), '-f', $in
			],
			'>', "$tmp/out$i", '2>', "$tmp/err$i");
		push @runs, { run => $run, out => "$tmp/out$i", err => "$tmp/err$i" };
	}
	return @runs;
}

# Waits for the sessions; returns the report ids they printed.
sub finish_sessions
{
	my @runs = @_;
	my @ids;
	my $failed = 0;
	for my $r (@runs)
	{
		$r->{run}->finish;
		if ($r->{run}->result != 0)
		{
			$failed++;
			diag 'session failed: ' . slurp_file($r->{err});
		}
		push @ids, grep { length } split /\n/, slurp_file($r->{out});
	}
	is($failed, 0, 'every triggering session succeeded');
	return @ids;
}

# Samples, until every report in @$ids is finished, how many reports are
# Running in phase 'computing' and how many 'store_monitoring worker'
# backends are computing one. Returns (samples, max reports, max workers,
# max backends of any state).
sub sample_until_done
{
	my ($ids) = @_;
	my $list = join(',', map { "'$_'" } @$ids);
	my $sampler = $node->background_psql('postgres');
	my ($samples, $max_reports, $max_workers, $max_backends) = (0, 0, 0, 0);
	my $deadline = time() + $PostgreSQL::Test::Utils::timeout_default;
	while (time() < $deadline)
	{
		my ($reports, $workers, $backends, $unfinished) = split /\|/,
		  $sampler->query_safe(qq{
SELECT (SELECT count(*) FROM _store_monitoring_internal.report
        WHERE status = 'Running' AND phase = 'computing'),
       (SELECT count(*) FROM pg_catalog.pg_stat_activity a
        WHERE a.backend_type = 'store_monitoring worker'
          AND a.pid IN (SELECT worker_pid FROM _store_monitoring_internal.report
                        WHERE status = 'Running' AND phase = 'computing')),
       (SELECT count(*) FROM pg_catalog.pg_stat_activity
        WHERE backend_type = 'store_monitoring worker'),
       (SELECT count(*) FROM _store_monitoring_internal.report
        WHERE report_id IN ($list) AND status = 'Running')});
		$samples++;
		$max_reports = $reports if $reports > $max_reports;
		$max_workers = $workers if $workers > $max_workers;
		$max_backends = $backends if $backends > $max_backends;
		last if $unfinished == 0;
		usleep(20_000);
	}
	$sampler->quit;
	return ($samples, $max_reports, $max_workers, $max_backends);
}

# --- 20 sessions, 100 reports, default max_workers = 2 ---------------------
is( $node->safe_psql('postgres',
		"SELECT store_monitoring.check_time_zone('UTC'); SHOW store_monitoring.max_workers"),
	"t\n2",
	'max_workers defaults to 2');
my @ids = finish_sessions(start_sessions(20, 5));
is(scalar(@ids), 100, '20 sessions triggered 100 reports');
my ($samples, $max_reports, $max_workers, $max_backends) = sample_until_done(\@ids);
note "samples: $samples; most reports computing at once: $max_reports; "
  . "most computing workers: $max_workers; most worker backends: $max_backends";
cmp_ok($samples, '>', 5, "sampled $samples times while the reports ran");
cmp_ok($max_reports, '<=', 2, 'never more than 2 reports computing at once');
cmp_ok($max_workers, '<=', 2, 'never more than 2 worker backends computing at once');
cmp_ok($max_workers, '>=', 1, 'workers were seen computing');

my $list = join(',', map { "'$_'" } @ids);
is( $node->safe_psql('postgres', qq{
SELECT count(*) FILTER (WHERE status = 'Complete'), count(DISTINCT _store_monitoring_internal._report_csv(report_id)),
       count(*) FILTER (WHERE attempts = 1), count(*) FILTER (WHERE error IS NOT NULL)
FROM _store_monitoring_internal.report WHERE report_id IN ($list)}),
	'100|1|100|0',
	'all 100 reports Complete on their own, one attempt each, one distinct CSV');
is( $node->safe_psql('postgres', qq{
SELECT count(*) FROM _store_monitoring_internal.report
WHERE report_id IN ($list) AND _store_monitoring_internal._report_csv(report_id) IS DISTINCT FROM
  _store_monitoring_internal._report_csv('$ref')}),
	'0',
	'their CSV equals the reference report');
is( $node->safe_psql('postgres', qq{
SELECT sum((SELECT count(*) FROM store_monitoring.report_rows(report_id))), count(*)
FROM _store_monitoring_internal.report_output WHERE report_id IN ($list)}),
	($stores * 100) . '|100',
	'each report has its results stored once, one row per store');
# wait_report agrees (and finds nothing to wait for).
my $not_complete = 0;
for my $id (@ids)
{
	$not_complete++
	  if $node->safe_psql('postgres',
		"SELECT store_monitoring.wait_report('$id', interval '10 seconds')") ne 'Complete';
}
is($not_complete, 0, 'wait_report says Complete for all 100');
ok(wait_no_workers($node), 'all workers exit when the queue is empty');

# --- max_workers is a reloadable cap: 1 ------------------------------------
set_conf($node, 'store_monitoring.max_workers' => 1);
@ids = finish_sessions(start_sessions(5, 4));
is(scalar(@ids), 20, '5 sessions triggered 20 reports');
($samples, $max_reports, $max_workers, $max_backends) = sample_until_done(\@ids);
note "max_workers = 1: samples: $samples; most reports computing: $max_reports; "
  . "most computing workers: $max_workers; most worker backends: $max_backends";
cmp_ok($samples, '>', 5, "sampled $samples times while the reports ran");
cmp_ok($max_reports, '<=', 1, 'max_workers = 1: never more than 1 report computing');
cmp_ok($max_workers, '<=', 1, 'max_workers = 1: never more than 1 worker computing');
$list = join(',', map { "'$_'" } @ids);
is( $node->safe_psql('postgres', qq{
SELECT count(*) FILTER (WHERE status = 'Complete'), count(DISTINCT _store_monitoring_internal._report_csv(report_id)),
       bool_and(_store_monitoring_internal._report_csv(report_id) = _store_monitoring_internal._report_csv('$ref'))
FROM _store_monitoring_internal.report WHERE report_id IN ($list)}),
	'20|1|t',
	'max_workers = 1: all 20 Complete with the reference CSV');

$node->stop;
done_testing();
