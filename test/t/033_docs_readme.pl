# The README's SQL cannot drift from the code: every ```sql block of
# README.md runs here, in the order the README gives them, as one psql
# session with ON_ERROR_STOP (psql variables such as :'id' carry over from
# block to block, as they do for a reader). A block is skipped only when an
# HTML comment right before it says why; anything else the test does not
# run fails it. ```sh blocks are commands for a shell (installing, the
# demo, exporting a CSV) and are not run.
#
# The annotation, <!-- readme-test: KEY[=VALUE]; ... -->, right before a block:
#   skip=REASON     not run (counted, and REASON must be given)
#   before=SQL      run first, unseen by the reader (emptying tables a
#                   previous block filled)
#   database=NAME   run in database NAME (\c NAME first)
#   repeat=NAME     run again with every database= name replaced by NAME
#   fresh-session   run in a new psql session of its own (nothing loaded)
#   shard-hosts     the \set shardN_host / shardN_port lines get the shards
#                   of this test (databases shard1, shard2 of the same server)
#   expect-next     the next fenced block is the expected output: each of its
#                   lines (spaces collapsed; "..." skipped) appears in order
#
# The data is small and generated: demo/generate_sample_data.sql with
# -v stores=200, and the public files' three CSVs written from the same
# generator into psql's working directory, so the README's
# \copy ... FROM 'store_status.csv' lines run unchanged. The server does not
# preload the library, so each block works without shared_preload_libraries.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Copy;
use File::Path qw(make_path);
use IPC::Run;

use FindBin;
my $repo = "$FindBin::RealBin/../..";

# --- the blocks ----------------------------------------------------------------
open my $fh, '<', "$repo/README.md" or die "README.md: $!";
my @lines = <$fh>;
close $fh;

my (@blocks, $pending, $in, $lang, @body);
my $sql_fences = 0;
for my $line (@lines)
{
	if (defined $in)
	{
		if ($line =~ /^```\s*$/)
		{
			push @blocks, { lang => $lang, body => join('', @body), %{ $in } };
			undef $in;
			@body = ();
			next;
		}
		push @body, $line;
		next;
	}
	if ($line =~ /^<!--\s*readme-test:\s*(.*?)\s*-->\s*$/)
	{
		$pending = {};
		for my $item (split /;\s*(?=[a-z-]+(?:=|;|$))/, $1)
		{
			my ($k, $v) = $item =~ /^([a-z-]+)(?:=(.*))?$/ or die "bad readme-test item: $item";
			$pending->{$k} = $v // 1;
		}
		next;
	}
	# Counted loosely, so that a fence the parser below would not take for
	# SQL (indented, upper case, a space) fails the count instead of going unrun.
	$sql_fences++ if $line =~ /^\s*```\s*sql/i;
	if ($line =~ /^```(\w*)\s*$/)
	{
		$lang = $1;
		$in = { opt => $pending // {} };
		undef $pending;
		next;
	}
	# An annotation applies only to the block right after it.
	die "readme-test annotation not followed by a block: $line" if $pending && $line =~ /\S/;
}
my @sql = grep { $_->{lang} eq 'sql' } @blocks;
is(scalar(@sql), $sql_fences, "every ```sql fence of README.md is parsed as a block (" . scalar(@sql) . ')');
# The expected output of an expect-next block is the block after it.
for my $i (0 .. $#blocks)
{
	next unless $blocks[$i]{opt}{'expect-next'};
	die "expect-next on the last block" if $i == $#blocks;
	$blocks[$i]{expect} = $blocks[ $i + 1 ]{body};
}

# --- the cluster, the databases and the data -----------------------------------
my $node = PostgreSQL::Test::Cluster->new('readme');
$node->init;
$node->append_conf('postgresql.conf', "max_worker_processes = 16\nmax_connections = 40");
$node->start;
my ($host, $port) = ($node->host, $node->port);

my $dir = PostgreSQL::Test::Utils::tempdir;
make_path("$dir/demo");
copy("$repo/demo/generate_sample_data.sql", "$dir/demo/") or die "copy: $!";

# The stand-ins for the public CSVs: generated rows, the polls' timestamps
# written as the public file writes them ('2023-01-22 12:09:39.388884 UTC').
$node->safe_psql('postgres', 'CREATE DATABASE csv_source');
$node->safe_psql('csv_source', 'CREATE EXTENSION store_monitoring');
sub psql_run
{
	my ($db, $script, %opt) = @_;
	my ($out, $err) = ('', '');
	my @cmd = ('psql', '-X', '-v', 'ON_ERROR_STOP=1', '-h', $host, '-p', $port, '-d', $db,
		@{ $opt{args} // [] }, '-f', '-');
	my $ok = IPC::Run::run(\@cmd, '<', \$script, '>', \$out, '2>', \$err,
		init => sub { chdir $dir or die "chdir $dir: $!" });
	return ($ok, $out, $err);
}
my ($ok, $out, $err) = psql_run('csv_source', q{
\i demo/generate_sample_data.sql
SET TimeZone = 'UTC';
\copy (SELECT store_id, status, to_char(timestamp_utc, 'YYYY-MM-DD HH24:MI:SS.US') || ' UTC' FROM store_monitoring.store_status) TO 'store_status.csv' CSV HEADER
\copy store_monitoring.business_hours TO 'menu_hours.csv' CSV HEADER
\copy store_monitoring.store_timezone TO 'timezones.csv' CSV HEADER
}, args => [ '-v', 'stores=200', '-v', 'days=8' ]);
ok($ok, 'the stand-in CSV files are written') or diag $err;

# The reader's databases: 'app' is clean (the README creates the
# extension); the coordinator and its two shards have the extension, as
# the README's Scaling out says they must.
$node->safe_psql('postgres', 'CREATE DATABASE app');
for my $db (qw(coordinator shard1 shard2))
{
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, 'CREATE EXTENSION store_monitoring');
}

# Before the README fixes ALTER SYSTEM with LOAD, it fails in a fresh session
# of a server without the library preloaded; the README's form must not.
($ok, $out, $err) = psql_run('postgres',
	"ALTER SYSTEM SET store_monitoring.report_retention = '30 days';");
like($err, qr/unrecognized configuration parameter "store_monitoring.report_retention"/,
	'without LOAD, ALTER SYSTEM does not know the setting (why the README loads it first)');

# --- run them ------------------------------------------------------------------
my ($run, $skipped, $n) = (0, 0, 0);
my $db = 'app';
my (@session, @checks, @fresh);    # the script of the one session; per-block checks

sub block_script
{
	my ($b, $target) = @_;
	my $sql = $b->{body};
	if ($b->{opt}{'shard-hosts'})
	{
		$sql =~ s/^\\set (shard\d+)_host .*$/\\set $1_host '$host'/mg;
		$sql =~ s/^\\set (shard\d+)_port .*$/\\set $1_port $port/mg;
	}
	my $s = '';
	$s .= "\\c $target\n" if defined $target;
	$s .= "$b->{opt}{before}\n" if defined $b->{opt}{before};
	return $s . $sql;
}

for my $b (@sql)
{
	$n++;
	if (exists $b->{opt}{skip})
	{
		ok(length($b->{opt}{skip}) > 1, "block $n is skipped with a reason: $b->{opt}{skip}");
		$skipped++;
		next;
	}
	my @targets = ($b->{opt}{database});
	push @targets, $b->{opt}{repeat} if defined $b->{opt}{repeat};
	for my $target (@targets)
	{
		my $script = block_script($b, $target);
		if (defined $b->{opt}{repeat} && defined $target && $target eq $b->{opt}{repeat})
		{
			my $from = $b->{opt}{database};
			$script =~ s/\b\Q$from\E/$target/g;
		}
		if ($b->{opt}{'fresh-session'})
		{
			# A psql of its own, started from the session at this point of
			# the README, so that nothing earlier loaded the library there.
			open my $f, '>', "$dir/fresh_$n.sql" or die $!;
			print $f $script;
			close $f;
			push @session, "\\echo '\@\@readme-block $n\@\@'\n"
			  . "\\! psql -X -v ON_ERROR_STOP=1 -h '$host' -p $port -d $db -f fresh_$n.sql > fresh_$n.out 2>&1; echo \$? > fresh_$n.rc\n";
			push @fresh, $n;
		}
		else
		{
			push @session, "\\echo '\@\@readme-block $n\@\@'\n$script\n";
		}
		$db = $target if defined $target;
	}
	$db = $1 while $b->{body} =~ /^\\c (\S+)\s*$/mg;
	push @checks, $b if $b->{expect};
	$run++;
}
push @session, "\\echo '\@\@readme-end\@\@'\n";
($ok, $out, $err) = psql_run('app', join('', @session), args => [ '-v', 'stores=200' ]);
ok($ok, 'every README block ran without an error') or diag "stderr:\n$err\nlast output:\n"
  . substr($out, -3000);
like($out, qr/\@\@readme-end\@\@/, 'the session reached the end of the README');
for my $f (@fresh)
{
	is(slurp_file("$dir/fresh_$f.rc"), "0\n", "block $f runs without an error in a fresh session")
	  or diag slurp_file("$dir/fresh_$f.out");
}

# What each block printed, by its number.
my %printed;
my @parts = split /^\@\@readme-block (\d+)\@\@\n/m, $out;
shift @parts;
while (my ($num, $text) = splice(@parts, 0, 2))
{
	$printed{$num} .= $text;
}
sub squash { my $s = shift; $s =~ s/\s+/ /g; $s =~ s/^ | $//g; return $s; }
for my $b (@checks)
{
	my ($num) = grep { $sql[ $_ - 1 ] == $b } 1 .. @sql;
	my @got = map { squash($_) } split /\n/, $printed{$num} // '';
	my ($i, @missing) = (0);
	for my $want (map { squash($_) } split /\n/, $b->{expect})
	{
		next if $want eq '' || $want eq '...';
		$i++ while $i < @got && $got[$i] ne $want;
		push @missing, $want if $i >= @got;
		$i++;
	}
	ok(!@missing, "block $num prints the output the README shows after it")
	  or diag "missing: @missing\nprinted:\n" . ($printed{$num} // '');
}

# "Watching and canceling": the paused worker was seen running, and canceled.
my ($watch) = grep { $sql[ $_ - 1 ]{body} =~ /debug_worker_delay/ } 1 .. @sql;
like($printed{$watch} // '', qr/^\s*\S{16}\s*\|\s*computing\s*\|/m,
	"block $watch lists its report as running (the paused worker)");
like($printed{$watch} // '', qr/Failed \| canceled by postgres/,
	"block $watch ends its report Failed by the cancel");

# What the blocks did, seen from outside.
is($node->safe_psql('app', q{SELECT count(*) > 0 FROM store_monitoring.list_reports()}),
	't', "Getting started's reports are in database app");
# Raw and sealed polls: "Old polls" seals those of the database it runs in,
# and its compact_after (ALTER SYSTEM) makes the shards' workers seal theirs.
my $polls = $node->safe_psql('csv_source', 'SELECT count(*) FROM store_monitoring.polls');
is( $node->safe_psql('shard1', 'SELECT count(*) FROM store_monitoring.polls') +
	  $node->safe_psql('shard2', 'SELECT count(*) FROM store_monitoring.polls'),
	$polls + 1, 'the shards hold every poll of the CSV once (and the one inserted through the coordinator)');
ok( $node->safe_psql('shard1', 'SELECT count(*) FROM store_monitoring.polls') > 0
	  && $node->safe_psql('shard2', 'SELECT count(*) FROM store_monitoring.polls') > 0,
	'each shard holds part of the polls');
is( $node->safe_psql('coordinator',
		q{SELECT status || ' ' || store_count FROM store_monitoring.list_reports("limit" => 1)}),
	'Complete ' . ($node->safe_psql('csv_source', q{
		SELECT count(*) FROM (SELECT store_id FROM store_monitoring.polls
		UNION SELECT store_id FROM store_monitoring.business_hours
		UNION SELECT store_id FROM store_monitoring.store_timezone) s}) + 1),
	"the coordinator's report over both shards completes, one row per store");
is($node->safe_psql('postgres', 'SHOW store_monitoring.report_retention'), '30 days',
	'the README\'s ALTER SYSTEM took effect');

is($run + $skipped, scalar(@sql), "blocks seen (" . scalar(@sql) . ") = run ($run) + skipped with a reason ($skipped)");
note "README.md: " . scalar(@sql) . " SQL blocks, $run run, $skipped skipped with a reason";

$node->stop;
done_testing();
