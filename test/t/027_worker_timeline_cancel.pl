# store_timeline() is callable by PUBLIC with arrays of a caller's choosing:
# a statement_timeout (or pg_cancel_backend) stops it while it works through
# them, not only once it has returned its whole timeline. The same call
# without a timeout shows how long it would otherwise run.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use StoreMonitoringTest;

my $node = new_node('timeline_cancel');
$node->safe_psql('postgres', 'CREATE ROLE caller LOGIN');

# Some 500 000 polls (the most it takes), open 24x7, active and inactive in
# turn: a timeline of some 500 000 entries.
# The arrays are built by a statement of their own, so that the timeout
# strikes in store_timeline, not in generate_series; psql's \timing
# measures each call within the session (no connection time).
my $script = qq{
SET ROLE caller;
CREATE TEMP TABLE args AS
  SELECT array_agg(t ORDER BY t) AS at, array_agg(extract(microseconds FROM t)::bigint % 2080000 < 1040000) AS active
  FROM generate_series(timestamptz '2023-01-17 12:00+00', timestamptz '2023-01-23 11:59+00',
                       interval '1.04 s') t;
SELECT cardinality(at) FROM args;
\\timing on
SELECT count(*) > 0 AS %s FROM args, store_monitoring.store_timeline('2023-01-23 12:00+00', '2 hours',
    'nearest', 'UTC', '{}', '{}', '{}', at, active);
SET statement_timeout = '50ms';
SELECT count(*) > 0 AS %s FROM args, store_monitoring.store_timeline('2023-01-23 12:00+00', '2 hours',
    'nearest', 'UTC', '{}', '{}', '{}', at, active);
};

my ($ret, $out, $err) = $node->psql('postgres', sprintf($script, 'full_call', 'timed_call'), extra_params => [ '-a' ]);
like($out, qr/^\s*(\d+)\s*$/m, 'the arrays are built');
my @times = ($out =~ /^Time: ([\d.]+) ms/mg);
like($out, qr/^t\n/m, 'without a timeout the call completes');
like($err, qr/canceling statement due to statement timeout/,
	'with statement_timeout = 50ms the call is canceled');
my ($full, $timed) = @times[ 0, 2 ];    # [1]: the SET
diag "full call ${full} ms, canceled call ${timed} ms";
ok(defined $full && defined $timed && $timed < $full / 2,
	'... while it works through the arrays, not once it has run through them');

$node->stop;
done_testing();
