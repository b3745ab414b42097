# Reports through a real connection pooler: pgbouncer in transaction pooling
# with a pool of 2, on loopback. A session SET stays on the server
# connection and reaches whichever client gets that connection next (so
# does a SET LOCAL of one setting leave the others to it); trigger_report's
# arguments reach the report and nothing else does; report_status() polling
# works there. (LISTEN does not: the README says so.)
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::BackgroundPsql;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run ();
use Time::HiRes qw(usleep);

use FindBin;
use lib "$FindBin::RealBin/../perl";
use StoreMonitoringTest;

my $pgbouncer;
for my $dir (split(/:/, $ENV{PATH} // ''), '/usr/sbin', '/usr/bin')
{
	if (-x "$dir/pgbouncer") { $pgbouncer = "$dir/pgbouncer"; last; }
}
plan skip_all => 'pgbouncer is not installed (tools/install_deps.sh installs it)'
  unless $pgbouncer;

my $node = new_node('pooler');
load_data($node, 30);
$node->safe_psql('postgres', q{
CREATE ROLE regress_sm_app LOGIN;
GRANT SELECT ON store_monitoring.store_status, store_monitoring.business_hours,
                store_monitoring.store_timezone TO regress_sm_app;
});

# --- pgbouncer ---------------------------------------------------------------
my $dir = PostgreSQL::Test::Utils::tempdir;
my $port = PostgreSQL::Test::Cluster::get_free_port();
my $host = $node->host;
my $node_port = $node->port;
open(my $users, '>', "$dir/userlist.txt") or die $!;
print $users qq{"regress_sm_app" ""\n};
close $users;
open(my $ini, '>', "$dir/pgbouncer.ini") or die $!;
print $ini <<"EOF";
[databases]
postgres = host=$host port=$node_port dbname=postgres

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = transaction
default_pool_size = 2
max_client_conn = 20
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
EOF
close $ini;
my ($bouncer_out, $bouncer_err) = ('', '');
my $bouncer = IPC::Run::start([ $pgbouncer, "$dir/pgbouncer.ini" ],
	'>', \$bouncer_out, '2>', \$bouncer_err);
my $pooled = "host=127.0.0.1 port=$port dbname=postgres user=regress_sm_app";

# One-shot psql through the pooler: (exit code, stdout, stderr).
sub pooled_psql
{
	my ($sql) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run(
		[ $node->installed_command('psql'), '-XAtq', '-v', 'ON_ERROR_STOP=1', '-d', $pooled,
			'-c', $sql ],
		'>', \$out, '2>', \$err,
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
	chomp $out;
	return ($? >> 8, $out, $err);
}

my $listening = 0;
for (1 .. 10 * $PostgreSQL::Test::Utils::timeout_default)
{
	my ($ret) = pooled_psql('SELECT 1');
	if ($ret == 0) { $listening = 1; last; }
	usleep(100_000);
}
ok($listening, 'pgbouncer answers on loopback') or diag($bouncer_err, slurp_file("$dir/pgbouncer.log"));

# A client of its own through the pooler, kept open (BackgroundPsql is made
# by PostgreSQL::Test::Cluster's code only).
{
	package PoolerClient;
	our @ISA = ('PostgreSQL::Test::Cluster');

	sub start
	{
		my ($node, $connstr) = @_;
		return PostgreSQL::Test::BackgroundPsql->new(0,
			[ $node->installed_command('psql'), '-XAtq', '-v', 'ON_ERROR_STOP=1', '-d', $connstr,
				'-f', '-' ]);
	}
}

sub recorded
{
	my ($id) = @_;
	return $node->safe_psql('postgres',
		"SELECT interpolation || ' ' || max_extrapolation FROM store_monitoring.list_reports() "
		  . "WHERE report_id = '$id'");
}

# --- Another client's session SET reaches a client that set nothing ---------
# D holds one of the two server connections in a transaction; A's SET lands
# on the other, and stays on it after A's statement: every other client is
# now served by that connection.
my $client_d = PoolerClient::start($node, $pooled);
$client_d->query_safe('BEGIN; SELECT 1;');
my $client_a = PoolerClient::start($node, $pooled);
$client_a->query_safe(q{SET store_monitoring.interpolation = 'previous'});
$client_a->query_safe(q{SET store_monitoring.max_extrapolation = '30 min'});
my $client_c = PoolerClient::start($node, $pooled);
is($client_c->query_safe('SHOW store_monitoring.interpolation'), 'previous',
	'behind transaction pooling, a client that set nothing sees another client\'s SET');
my $leaked = $client_c->query_safe("SELECT store_monitoring.trigger_report('$AS_OF')");
is(recorded($leaked), 'previous 00:30:00',
	'a report triggered without arguments runs on another client\'s settings');
my $set_local = $client_c->query_safe(
	"BEGIN; SET LOCAL store_monitoring.max_extrapolation = '2 hours'; "
	  . "SELECT store_monitoring.trigger_report('$AS_OF'); COMMIT;");
is(recorded($set_local), 'previous 02:00:00',
	'SET LOCAL of one setting leaves the others to another client');

# --- Arguments reach the report, and nothing else does ----------------------
my $one = $client_c->query_safe(
	"SELECT store_monitoring.trigger_report('$AS_OF', interpolation => 'nearest')");
is(recorded($one), 'nearest 00:30:00', 'the interpolation argument wins over the leaked SET');
my $all = $client_c->query_safe(
	"SELECT store_monitoring.trigger_report('$AS_OF', max_extrapolation => '2 hours', "
	  . "interpolation => 'nearest')");
is(recorded($all), 'nearest 02:00:00', 'with every setting as an argument, nothing leaks in');
my $b_id = $client_a->query_safe(
	"SELECT store_monitoring.trigger_report('$AS_OF', max_extrapolation => '1 hour', "
	  . "interpolation => 'previous')");
is(recorded($b_id), 'previous 01:00:00', 'the client that SET gets its own arguments too');
is($client_c->query_safe('SHOW store_monitoring.max_extrapolation'), '30 min',
	'arguments leave the server connection\'s settings as they were');
$client_d->query_safe('COMMIT');

# The report given every setting equals a direct connection's with the
# defaults, byte for byte.
my $direct = trigger($node);
is(wait_report($node, $all), 'Complete', 'the pooled report completes');
is(wait_report($node, $direct), 'Complete', 'the direct report completes');
is(report_csv($node, $all), report_csv($node, $direct),
	'arguments through the pooler give the defaults\' report, byte for byte');
isnt(report_csv($node, $leaked), report_csv($node, $direct),
	'the leaked settings gave another report');

# --- report_status polling through the pooler -------------------------------
my $polled = $client_c->query_safe(
	"SELECT store_monitoring.trigger_report(as_of => '$AS_OF', max_extrapolation => '2 hours', "
	  . "interpolation => 'nearest')");
my $status = '';
for (1 .. 10 * $PostgreSQL::Test::Utils::timeout_default)
{
	$status = $client_c->query_safe(
		"SELECT status || ' ' || phase FROM store_monitoring.report_status('$polled')");
	last if $status !~ /^Running/;
	usleep(100_000);
}
is($status, 'Complete done', 'report_status() polled through the pooler reaches Complete');
my $as_of_text = $client_c->query_safe(
	"SELECT as_of_text FROM store_monitoring.report_status('$polled')");
is($node->safe_psql('postgres', "SELECT '$as_of_text'::timestamptz = '$AS_OF'::timestamptz"), 't',
	'as_of_text reads back as the report\'s T');
is($client_c->query_safe("SELECT count(*) FROM store_monitoring.get_report(NULL)"), '0',
	'get_report(NULL) gives no row');

$_->quit for ($client_a, $client_c, $client_d);
$bouncer->kill_kill;
$bouncer->finish;
$node->stop;
done_testing();
