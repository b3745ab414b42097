# Sealed polls (compact_polls(), the polls view, compact_after,
# poll_retention): a report over sealed polls is byte for byte the report
# over the same polls unsealed. Seeded random data over the 2023 DST changes
# of the US and Europe, compacted in steps between the reports' T; late and
# duplicate polls into sealed days, compared with a database never
# compacted ('ref', which gets every row the compacted one gets); both read
# paths and the split read; a report racing a compaction; the workers'
# compaction; retention; pg_dump/pg_restore; the DROP guard; a plain role.
# TAP because it needs workers, several databases and concurrent sessions.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Time::HiRes qw(usleep);
use Test::More;
use POSIX qw(strftime);
use Time::Local qw(timegm);

use FindBin;
use lib "$FindBin::RealBin/../perl";
use StoreMonitoringTest;

# debug1: the worker logs which read it chose. min_parallel_table_scan_size
# = 0 lets the range read be split once max_parallel_workers_per_gather
# allows it (section 2).
my $node = new_node(
	'sealed_polls',
	conf => [
		'log_min_messages = debug1', 'min_parallel_table_scan_size = 0',
		'max_parallel_workers = 8',
	]);

# ---- the data ---------------------------------------------------------------
my $SEED = 20230312;
diag "random seed $SEED";
my $rng = $SEED;
sub rnd { $rng = ($rng * 1103515245 + 12345) % 2147483648; return $rng / 2147483648; }
sub rint { return int(rnd() * $_[0]); }

my $US = 1_000_000;
my $HOUR = 3600 * $US;
my $DAY = 24 * $HOUR;
sub us_of { my ($y, $m, $d, $h, $mi) = @_; return timegm(0, $mi // 0, $h // 0, $d, $m - 1, $y) * $US; }
sub ts
{
	my ($us) = @_;
	my $s = int($us / $US);
	return strftime('%Y-%m-%d %H:%M:%S', gmtime($s)) . sprintf('.%06d+00', $us % $US);
}

my $BASE = us_of(2023, 3, 1);    # 28 days of polls from here
# The reports' T: just after the US switch (2023-03-12 07:00 UTC), a plain
# one, just after Europe's (2023-03-26 01:00 UTC), the last day, and
# 'latest' (the newest poll: 2023-03-29 00:00, a poll of 'midnight').
my @T = (
	'2023-03-12 07:00:00.000001+00', '2023-03-19 12:34:56.789012+00',
	'2023-03-26 01:00:00.000001+00', '2023-03-28 09:00:00+00', 'latest');
my %T_us = (
	$T[0] => us_of(2023, 3, 12, 7) + 1,
	$T[1] => us_of(2023, 3, 19, 12, 34) + 56_789_012,
	$T[2] => us_of(2023, 3, 26, 1) + 1,
	$T[3] => us_of(2023, 3, 28, 9));

my @zones = ('America/New_York', 'Europe/Berlin', 'Australia/Lord_Howe', 'UTC', undef);
my (@polls, @hours, @tz);
for my $i (1 .. 300)
{
	my $id = sprintf('s%03d', $i);
	push @tz, [ $id, $zones[ $i % 5 ] ] if defined $zones[ $i % 5 ];
	my $shape = int($i / 5) % 5;
	for my $d (0 .. 6)
	{
		# none; overnight; split shifts on weekdays; the whole day; the
		# hour that spring-forward skips, and the day's last hour
		push @hours, [ $id, $d, '22:00', '02:00' ] if $shape == 1;
		push @hours, [ $id, $d, '08:00', '12:00' ], [ $id, $d, '13:30', '19:00' ]
		  if $shape == 2 && $d < 5;
		push @hours, [ $id, $d, '10:00', '14:00' ] if $shape == 2 && $d == 5;
		push @hours, [ $id, $d, '00:00', '23:59:59' ] if $shape == 3;
		push @hours, [ $id, $d, '01:30', '03:30' ], [ $id, $d, '23:00', '23:59:59' ]
		  if $shape == 4;
	}
	my $p_inactive = 0.05 + 0.35 * rnd();
	my $gap = $i % 17 == 0 ? rint(600) : -100;    # 30 hours without polls
	for my $h (0 .. 28 * 24 - 1)
	{
		next if rnd() < 0.07 || ($h >= $gap && $h < $gap + 30);
		my $at = $BASE + $h * $HOUR + int(rnd() * $HOUR);
		my $status = rnd() < $p_inactive ? 'inactive' : 'active';
		push @polls, [ $id, $status, $at ];
		# the same instant twice, active and inactive: inactive wins
		push @polls, [ $id, ($status eq 'active' ? 'inactive' : 'active'), $at ]
		  if $i % 23 == 0 && rnd() < 0.15;
		push @polls, [ $id, $status, $at ] if $i % 29 == 0 && rnd() < 0.05;  # exact duplicate
		push @polls, [ $id, 'active', $BASE + $h * $HOUR + int(rnd() * $HOUR) ] if rnd() < 0.03;
	}
}
# Polls all older than every evidence range (three UTC days), and no other
# row: only its polls make it known.
push @polls, [ 'old-only', (rnd() < 0.3 ? 'inactive' : 'active'), us_of(2023, 2, 10) + $_ * $HOUR + rint($HOUR) ]
  for 0 .. 71;
# Polls on the UTC day boundaries, sealed on either side of a cut.
push @tz, [ 'midnight', 'UTC' ];
for my $d (0 .. 28)
{
	push @polls, [ 'midnight', ($d % 2 ? 'inactive' : 'active'), $BASE + $d * $DAY ];
	push @polls, [ 'midnight', ($d % 3 ? 'active' : 'inactive'), $BASE + $d * $DAY - 1 ] if $d > 0;
}
# Polls at each T, at the start of its evidence range [T - 170 h, T] and a
# microsecond either side, and in its future (no zone row: America/Chicago).
for my $t (@T[ 0 .. 3 ])
{
	my $begin = $T_us{$t} - 170 * $HOUR;
	push @polls, [ 'edges', (rnd() < 0.4 ? 'inactive' : 'active'), $_ ]
	  for ($T_us{$t}, $T_us{$t} - 1, $T_us{$t} + 1, $begin, $begin - 1, $begin + 1,
		$T_us{$t} - $HOUR, $T_us{$t} - $DAY);
}
# Its only polls exactly at each T and exactly at each range's start: the
# numbers of its last hour and week hang on reading both ends.
push @tz, [ 'at-ends', 'UTC' ];
push @polls, [ 'at-ends', ($_ % 2 ? 'inactive' : 'active'), $T_us{ $T[$_] } ],
  [ 'at-ends', ($_ % 2 ? 'active' : 'inactive'), $T_us{ $T[$_] } - 170 * $HOUR ]
  for 0 .. 3;
# Applications write in time order.
@polls = sort { $a->[2] <=> $b->[2] } @polls;
my $poll_count = scalar @polls;
diag "$poll_count polls of 304 stores";

my $dir = PostgreSQL::Test::Utils::tempdir;
my $polls_file = "$dir/polls.tsv";
open my $fh, '>', $polls_file or die "$polls_file: $!";
print $fh "$_->[0]\t$_->[1]\t" . ts($_->[2]) . "\n" for @polls;
close $fh;
my $inputs_sql =
    "INSERT INTO store_monitoring.business_hours VALUES "
  . join(',', map { "('$_->[0]', $_->[1], '$_->[2]', '$_->[3]')" } @hours) . ";\n"
  . "INSERT INTO store_monitoring.store_timezone VALUES "
  . join(',', map { "('$_->[0]', '$_->[1]')" } @tz) . ";\n"
  . "COPY store_monitoring.store_status (store_id, status, timestamp_utc) FROM '$polls_file';\n"
  . "VACUUM ANALYZE store_monitoring.store_status;\n";

sub new_db
{
	my ($db) = @_;
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, 'CREATE EXTENSION store_monitoring');
	$node->safe_psql($db, $inputs_sql);
	return;
}
# 'postgres' is compacted; 'ref' never is.
$node->safe_psql('postgres', $inputs_sql);
new_db('ref');

# ---- helpers ----------------------------------------------------------------
# Triggers a report for each T (each its own transaction), waits for them;
# returns ({T => CSV, or what went wrong}, {T => report id}).
sub reports
{
	my ($db, %opt) = @_;
	my @Ts = @{ $opt{Ts} // \@T };
	my $sql = join '', map {
		$_ eq 'latest'
		  ? "SET store_monitoring.report_time = 'latest';\nSELECT store_monitoring.trigger_report();\n"
		  : "SELECT store_monitoring.trigger_report('$_');\n"
	} @Ts;
	my @ids = split /\n/,
	  $node->safe_psql($db, $sql, $opt{user} ? (extra_params => [ '-U', $opt{user} ]) : ());
	my (%csv, %id);
	for my $i (0 .. $#Ts)
	{
		my $status = wait_report($node, $ids[$i], db => $db);
		$id{ $Ts[$i] } = $ids[$i];
		$csv{ $Ts[$i] } =
		  $status eq 'Complete'
		  ? report_csv($node, $ids[$i], $db)
		  : "report for $Ts[$i] is $status: " . (report_row($node, $ids[$i], $db)->{error} // '');
	}
	return (\%csv, \%id);
}

# Byte for byte; on a difference, the first differing line.
sub same_csv
{
	my ($got, $want, $name) = @_;
	return 1 if ok(defined $got && $got eq $want, $name);
	my @g = split /\n/, $got // '';
	my @w = split /\n/, $want;
	for my $i (0 .. ($#g > $#w ? $#g : $#w))
	{
		next if ($g[$i] // '<none>') eq ($w[$i] // '<none>');
		diag "line $i: got      " . ($g[$i] // '<none>') . "\n        expected " . ($w[$i] // '<none>');
		last;
	}
	return 0;
}

sub same_reports
{
	my ($got, $want, $label) = @_;
	same_csv($got->{$_}, $want->{$_}, "$label: report at $_") for @T;
	return;
}

sub psql_utc
{
	my ($db, $sql, @rest) = @_;
	return $node->safe_psql($db, "SET TimeZone = 'UTC';\n$sql", @rest);
}

# Seals every UTC day that ended before the day of $cut began: older_than
# is now() - $cut, in UTC (compact_polls counts it in the session's zone).
sub compact_before
{
	my ($db, $cut) = @_;
	return psql_utc($db,
		"SELECT store_monitoring.compact_polls(now() - timestamptz '$cut')");
}

sub storage
{
	my ($db) = @_;
	return psql_utc($db, 'SELECT raw_polls, compacted_polls FROM store_monitoring.poll_storage()');
}

# Every poll as text, in one order, hashed: the rows of a relation.
sub rows_md5
{
	my ($db, $relation) = @_;
	return psql_utc($db, qq{
SELECT count(*) || ' ' || md5(string_agg(store_id || ' ' || status || ' ' || timestamp_utc::text, E'\\n'
                        ORDER BY store_id, timestamp_utc, status))
FROM $relation});
}

# store_report(), explain_store() of the reports $ids and latest_poll() for
# a few stores: what a database says of them beside its reports.
my @probe = qw(s001 s023 s046 s017 s034 s058 s115 s230 s299 midnight edges old-only at-ends);
sub details
{
	my ($db, $ids) = @_;
	my $out = psql_utc($db, 'SELECT store_monitoring.latest_poll()') . "\n";
	for my $t (@T[ 0, 2 ])
	{
		for my $s (@probe)
		{
			$out .= "$t $s\n"
			  . psql_utc($db, "SELECT * FROM store_monitoring.store_report('$s', as_of => '$t')")
			  . "\n"
			  . psql_utc($db, "SELECT * FROM store_monitoring.explain_store('$ids->{$t}', '$s')")
			  . "\n";
		}
	}
	return $out;
}

# The reads the worker chose after $offset in the log.
sub reads_since
{
	my ($offset) = @_;
	my $log = slurp_file($node->logfile, $offset);
	my %seen;
	$seen{$1}++ while $log =~ /polls in the evidence range [^\n]*: (read [a-z ]+)/g;
	$seen{$1}++ while $log =~ /polls in range read [0-9.]+ ms \((split in \d+ block chunks|not split)/g;
	$seen{"store order $1"}++ while $log =~ /read in store order (split in \d+ key ranges)/g;
	$seen{"store order not split"}++ while $log =~ /polls read in store order [0-9.]+ ms \(not split/g;
	return join ', ', map { "$_ x$seen{$_}" } sort keys %seen;
}

# ---- 1. random data, compacted in steps ------------------------------------
my ($raw, $raw_ids) = reports('postgres');
my ($ref, $ref_ids) = reports('ref');
my $stores = store_count($node, 'ref');
is($stores, 304, 'every store is known');
for my $t (@T)
{
	my @lines = split /\n/, $raw->{$t};
	is(scalar(@lines), $stores + 1, "raw report at $t: a row per store");
}
like($raw->{ $T[0] }, qr/^old-only,/m, 'the store with only older polls has its row');
isnt($raw->{ $T[0] }, $raw->{ $T[2] }, 'the reports at different T differ');
same_reports($ref, $raw, 'the never compacted database');
is(psql_utc('postgres', "SELECT as_of FROM _store_monitoring_internal.report WHERE report_id = '$raw_ids->{latest}'"),
	'2023-03-29 00:00:00+00',
	"'latest' is the newest poll");
my $raw_details = details('postgres', $raw_ids);
my $ref_details = details('ref', $ref_ids);
is($raw_details, $ref_details, 'store_report, explain_store and latest_poll agree before compacting');
like($raw_details, qr/\|f$/m, 'explain_store gives rows (changed_since false)');

my @cuts = ('2023-03-08 13:00+00', '2023-03-13 00:00+00', '2023-03-20 06:00+00', '2023-03-27 23:59:59+00');
my $prev = '-infinity';
for my $cut (@cuts)
{
	my $day = psql_utc('ref', "SELECT date_trunc('day', timestamptz '$cut')");
	my ($moved, $left) = split /\|/, psql_utc('ref', qq{
SELECT count(*) FILTER (WHERE timestamp_utc >= '$prev' AND timestamp_utc < '$day'),
       count(*) FILTER (WHERE timestamp_utc >= '$day')
FROM store_monitoring.store_status});
	is(compact_before('postgres', $cut), $moved, "cut $cut: compact_polls seals the polls of the days before $day");
	is(storage('postgres'), "$left|" . ($poll_count - $left), "cut $cut: poll_storage()");
	my ($csv) = reports('postgres');
	same_reports($csv, $raw, "cut $cut");
	if ($cut eq $cuts[1])
	{
		# Raw and sealed polls in one evidence range: every read of them.
		is(details('postgres', $raw_ids), $raw_details,
			"cut $cut: store_report, explain_store of the raw reports and latest_poll unchanged");
		is(rows_md5('postgres', 'store_monitoring.polls'), rows_md5('ref', 'store_monitoring.store_status'),
			"cut $cut: the polls view holds the polls of store_status");

		# ---- 2. both read paths, and the split read ----------------------------
		set_conf($node, 'store_monitoring.range_read_memory' => '0');
		my $offset = -s $node->logfile;
		($csv) = reports('postgres');
		same_reports($csv, $raw, "cut $cut, store order");
		is(reads_since($offset), 'read in store order x5, store order not split x5',
			'range_read_memory = 0: each report read in store order, by one process');
		set_conf($node, 'store_monitoring.range_read_memory' => '65536');
		# The split needs statistics that count the polls left (a third of
		# them in the range): T1's range is all sealed, the others' mostly raw.
		$node->safe_psql('postgres', 'VACUUM ANALYZE store_monitoring.store_status');
		set_conf($node, 'max_parallel_workers_per_gather' => '2');
		$offset = -s $node->logfile;
		($csv) = reports('postgres');
		same_reports($csv, $raw, "cut $cut, split range read");
		like(reads_since($offset), qr/^(not split x1, )?read the range x5, split in [2-9] block chunks x[45]$/,
			'the reports whose range is mostly raw read it split in chunks');
		# The store-order read split by store-id key ranges (the raw
		# table's statistics cut them; sealed-only stores fall in one).
		set_conf($node, 'store_monitoring.range_read_memory' => '0');
		$offset = -s $node->logfile;
		($csv) = reports('postgres');
		same_reports($csv, $raw, "cut $cut, store order split in key ranges");
		is(reads_since($offset), 'read in store order x5, store order split in 3 key ranges x5',
			'each report read in store order, split in key ranges');
		set_conf($node, 'store_monitoring.range_read_memory' => '65536');
		set_conf($node, 'max_parallel_workers_per_gather' => '0');
		$offset = -s $node->logfile;
		($csv) = reports('postgres');
		same_reports($csv, $raw, "cut $cut, range read in one process");
		is(reads_since($offset), 'not split x5, read the range x5', 'each report read the range in one process');
	}
	$prev = $day;
}
is(details('postgres', $raw_ids), $raw_details,
	'most days sealed: store_report, explain_store and latest_poll unchanged');

# Late polls and duplicates into sealed days: raw rows again, beside the
# sealed ones; both databases get them.
my @late;
for (1 .. 40)
{
	my $s = sprintf('s%03d', 1 + rint(300));
	push @late, [ $s, (rnd() < 0.5 ? 'inactive' : 'active'), $BASE + rint(26 * 24) * $HOUR + rint($HOUR) ];
}
for (1 .. 15)
{
	my $p = $polls[ rint(scalar @polls) ];
	push @late, [@$p];    # the same poll again
	push @late, [ $p->[0], ($p->[1] eq 'active' ? 'inactive' : 'active'), $p->[2] ];   # and the other status
}
push @late, [ 'late-new', 'active', us_of(2023, 3, 10, 11) + $_ * 977 ] for 0 .. 2;
push @late, [ 'old-only', 'inactive', us_of(2023, 2, 11, 5) + 123 ];
push @late, [ 'midnight', 'inactive', $BASE + 10 * $DAY ];    # at a day start, twice
my $late_sql = "INSERT INTO store_monitoring.store_status (store_id, status, timestamp_utc) VALUES "
  . join(',', map { "('$_->[0]', '$_->[1]', '" . ts($_->[2]) . "')" } @late);
$node->safe_psql($_, $late_sql) for qw(postgres ref);
$poll_count += @late;
my ($late_ref, $late_ref_ids) = reports('ref');
isnt($late_ref->{ $T[1] }, $raw->{ $T[1] }, 'the late polls change the report');
my ($csv) = reports('postgres');
same_reports($csv, $late_ref, 'late polls beside sealed ones');
is(details('postgres', $raw_ids), details('ref', $ref_ids),
	'late polls beside sealed ones: store_report, explain_store, latest_poll as in the never compacted database');
set_conf($node, 'store_monitoring.range_read_memory' => '0');
($csv) = reports('postgres');
same_reports($csv, $late_ref, 'late polls beside sealed ones, store order');
set_conf($node, 'store_monitoring.range_read_memory' => '65536');

my $raw_left = psql_utc('postgres', 'SELECT count(*) FROM store_monitoring.store_status');
is(psql_utc('postgres', 'SELECT store_monitoring.compact_polls(\'0\')'), $raw_left,
	"compact_polls('0') seals every raw poll, the late ones merged into sealed rows");
is(storage('postgres'), "0|$poll_count", 'poll_storage(): no raw poll, every poll sealed');
is(psql_utc('postgres', 'SELECT count(*) FROM store_monitoring.polls WHERE NOT sealed'), '0',
	'the polls view shows only sealed polls');
is(rows_md5('postgres', 'store_monitoring.polls'), rows_md5('ref', 'store_monitoring.store_status'),
	'the polls view holds exactly the rows of the never compacted store_status');
($csv) = reports('postgres');
same_reports($csv, $late_ref, 'all sealed');
is(details('postgres', $raw_ids), details('ref', $ref_ids),
	'all sealed: store_report, explain_store, latest_poll as in the never compacted database');
my %final_ref = %$late_ref;

# ---- 3. a report racing a compaction ----------------------------------------
new_db('race');
my $race_sql = "SET TimeZone = 'UTC';\n";
for my $d (2 .. 30)
{
	$race_sql .= sprintf("SELECT store_monitoring.compact_polls(now() - timestamptz '2023-03-%02d 00:00+00');\nSELECT pg_sleep(0.15);\n", $d);
}
my $compactor = start_psql($node, $race_sql, db => 'race');
my (%seen_raw, $raced);
for my $i (1 .. 10)
{
	my ($raw_now) = split /\|/, storage('race');
	$seen_raw{$raw_now}++;
	my ($rc) = reports('race', Ts => [ $T[1], 'latest' ]);
	$raced++ if $rc->{ $T[1] } eq $raw->{ $T[1] } && $rc->{latest} eq $raw->{latest};
	diag "race report $i: differs" unless $rc->{ $T[1] } eq $raw->{ $T[1] } && $rc->{latest} eq $raw->{latest};
}
is($raced, 10, 'ten pairs of reports racing compactions day by day: each CSV is the raw one');
my ($ret, $out, $err) = finish_psql($compactor);
is($ret, 0, 'every compaction of the race succeeded') or diag $err;
diag 'raw polls seen at the reports\' triggers: ' . join(' ', sort { $b <=> $a } keys %seen_raw);
is(storage('race'), '0|' . ($poll_count - @late), 'the race ends with every poll sealed');
my ($after_race) = reports('race');
same_reports($after_race, $raw, 'after the race');

# ---- 4. compact_after: the workers seal due days after each report ---------
new_db('auto');
my $days = psql_utc('auto', q{SELECT count(DISTINCT date_trunc('day', timestamp_utc)) FROM store_monitoring.store_status});
is($days, 32, 'the polls lie on 32 UTC days');
$node->safe_psql('postgres', "ALTER DATABASE auto SET store_monitoring.compact_after = '1 day'");
my $sealed_days = 0;
for my $k (1 .. 6)
{
	last if $sealed_days == $days;
	my $t = $T[ $k % 5 ];
	my ($rc) = reports('auto', Ts => [$t]);
	same_csv($rc->{$t}, $raw->{$t}, "compact_after, report $k ($sealed_days days sealed before it)");
	my $expected = $sealed_days + 7 > $days ? $days : $sealed_days + 7;
	ok(poll_until($node, 'SELECT count(*) FROM _store_monitoring_internal.sealed_day', $expected, db => 'auto'),
		"after report $k the worker has sealed $expected days, 7 at most per report");
	$sealed_days = $expected;
}
is(storage('auto'), '0|' . ($poll_count - @late), 'compact_after: every poll sealed by the workers');
is(psql_utc('auto', 'SELECT count(*) FROM _store_monitoring_internal.sealed_day'), $days,
	'... and no more days than there were');
my ($auto_csv) = reports('auto');
same_reports($auto_csv, $raw, 'compact_after, all sealed');

# ---- 6. pg_dump and pg_restore of the compacted database -------------------
my $dump = "$dir/sealed.dump";
$node->command_ok([ 'pg_dump', '-Fc', '-f', $dump, '-d', 'postgres' ], 'pg_dump -Fc of the compacted database');
$node->safe_psql('postgres', 'CREATE DATABASE restored');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', 'restored', $dump ], 'pg_restore into a new database');
is(storage('restored'), "0|$poll_count", 'restored: poll_storage() as dumped');
is(rows_md5('restored', 'store_monitoring.polls'), rows_md5('ref', 'store_monitoring.store_status'),
	'restored: the same polls');
my ($restored_csv) = reports('restored');
same_reports($restored_csv, \%final_ref, 'restored');

# ---- 8. a plain role --------------------------------------------------------
$node->safe_psql('postgres', q{
CREATE ROLE reader LOGIN;
GRANT SELECT (store_id, status, timestamp_utc) ON store_monitoring.store_status TO reader;
GRANT SELECT ON store_monitoring.business_hours, store_monitoring.store_timezone TO reader;
CREATE ROLE outsider LOGIN;
});
my ($reader_csv) = reports('postgres', user => 'reader', Ts => [ $T[0], $T[2], 'latest' ]);
same_csv($reader_csv->{$_}, $final_ref{$_}, "a role with SELECT on the three columns: its report at $_")
  for ($T[0], $T[2], 'latest');
is($node->safe_psql('postgres', 'SELECT count(*) FROM store_monitoring.polls', extra_params => [ '-U', 'reader' ]),
	$poll_count, 'it reads every poll through the polls view');
is($node->safe_psql('postgres', 'SELECT raw_polls, compacted_polls FROM store_monitoring.poll_storage()',
		extra_params => [ '-U', 'reader' ]), "0|$poll_count", '... and poll_storage()');
sub as_role
{
	my ($role, $sql) = @_;
	my ($r, $o, $e) = $node->psql('postgres', $sql, extra_params => [ '-U', $role ]);
	return $r == 0 ? "ok: $o" : $e;
}
like(as_role('reader', 'SELECT store_monitoring.compact_polls()'),
	qr/permission denied for function compact_polls/, 'it may not call compact_polls()');
like(as_role('outsider', q{EXPLAIN ANALYZE SELECT * FROM store_monitoring.sealed_polls WHERE store_id >= 'a'}),
	qr/permission denied for table sealed_polls/,
	'a role without SELECT on store_status learns nothing of sealed_polls, not even a count');
like(as_role('reader', 'SELECT count(*) FROM store_monitoring.sealed_polls'),
	qr/permission denied for table sealed_polls/, '... nor does a reader, which reads them through the view');
like(as_role('outsider', 'SELECT count(*) FROM store_monitoring.sealed_poll_rows()'),
	qr/permission denied: sealed polls are read by those who may SELECT/, '... or their function');
like(as_role('outsider', 'SELECT count(*) FROM store_monitoring.polls'),
	qr/permission denied for table store_status/, '... and may not read the polls view');
like(as_role('outsider', 'SELECT * FROM store_monitoring.poll_storage()'),
	qr/permission denied: poll_storage\(\) needs SELECT on store_id, status and timestamp_utc/,
	'... nor call poll_storage()');
like(as_role('outsider', 'SELECT store_monitoring.compact_polls()'),
	qr/permission denied for function compact_polls/, '... nor compact_polls()');
$node->safe_psql('postgres',
	'GRANT EXECUTE ON FUNCTION store_monitoring.compact_polls(interval) TO outsider, reader');
like(as_role($_, "SELECT store_monitoring.compact_polls('0')"),
	qr/permission denied to seal polls: compact_polls\(\) needs DELETE on store_monitoring.store_status/,
	"with EXECUTE but without DELETE on store_status, $_ cannot compact either")
  for qw(outsider reader);
$node->safe_psql('postgres', 'INSERT INTO store_monitoring.store_status VALUES (\'s001\', \'active\', \'2023-03-02 10:00+00\')');
like(as_role('reader', "SELECT store_monitoring.compact_polls('0')"), qr/needs DELETE/,
	'... not even with a raw poll to seal');
is(storage('postgres'), '1|' . $poll_count, '... which stays raw');
$node->safe_psql('postgres', 'DELETE FROM store_monitoring.store_status');

# ---- 5. poll_retention ------------------------------------------------------
like(as_role('reader', "SELECT store_monitoring.check_time_zone('UTC'); SET store_monitoring.poll_retention = '1 day'"),
	qr/permission denied to set parameter "store_monitoring.poll_retention"/,
	'a plain role cannot SET poll_retention');
like(as_role('reader', "SELECT store_monitoring.check_time_zone('UTC'); SET store_monitoring.compact_after = '1 day'"),
	qr/permission denied to set parameter "store_monitoring.compact_after"/,
	'... nor compact_after');
$node->safe_psql('postgres', "ALTER DATABASE postgres SET store_monitoring.poll_retention = '10 days'");
is(psql_utc('postgres', 'SELECT store_monitoring.compact_polls()'), '0', 'compact_polls() with nothing raw seals nothing');
# The newest poll is 2023-03-29 00:00: the days that ended by 2023-03-19
# 00:00 go; 2023-03-19 stays.
my $newest = psql_utc('ref', 'SELECT max(timestamp_utc) FROM store_monitoring.store_status');
is($newest, '2023-03-29 00:00:00+00', 'the newest poll');
is(psql_utc('postgres', 'SELECT min(day) FROM store_monitoring.sealed_polls'), '2023-03-19',
	'no sealed day ended more than 10 days before the newest poll, and only those went');
is(psql_utc('postgres', 'SELECT min(day) FROM _store_monitoring_internal.sealed_day'), '2023-03-19',
	'... in the per-day counts too');
my $kept = psql_utc('ref', "SELECT count(*) FROM store_monitoring.store_status WHERE timestamp_utc >= '2023-03-19'");
is(storage('postgres'), "0|$kept", 'poll_storage() counts the polls of the kept days');
is(psql_utc('postgres', 'SELECT count(*) FROM store_monitoring.polls'), $kept, 'whole days went: the polls of the kept days remain');
$node->safe_psql('ref', "DELETE FROM store_monitoring.store_status WHERE timestamp_utc < '2023-03-19'");
is(rows_md5('postgres', 'store_monitoring.polls'), rows_md5('ref', 'store_monitoring.store_status'),
	'... exactly those');
my ($ret_csv) = reports('postgres', Ts => [ $T[3], 'latest' ]);
my ($ret_ref) = reports('ref', Ts => [ $T[3], 'latest' ]);
same_csv($ret_csv->{$_}, $ret_ref->{$_}, "after retention: the report at $_ equals the one over the kept polls")
  for ($T[3], 'latest');

# ---- 9. a role's lock on store_status does not hold the workers' sealing ----
# A role that may update store_status holds some of its oldest rows (FOR
# UPDATE) in an open transaction: the worker's compaction after each report
# waits a second for them at most, leaves the day for later (logged), and
# the reports behind it are not held.
new_db('locked');
$node->safe_psql('postgres', q{
CREATE ROLE locker LOGIN;
ALTER DATABASE locked SET store_monitoring.compact_after = '1 day';
});
$node->safe_psql('locked', 'GRANT SELECT, UPDATE ON store_monitoring.store_status TO locker');
my $log_offset = -s $node->logfile;
my $locker = start_psql($node, q{
BEGIN;
SELECT count(*) FROM (SELECT FROM store_monitoring.store_status
                      WHERE timestamp_utc < '2023-03-02' FOR UPDATE) held;
SELECT pg_sleep(30);
COMMIT;
}, db => 'locked', user => 'locker');
ok(poll_until($node, q{SELECT count(*) FROM pg_stat_activity WHERE usename = 'locker' AND query LIKE '%pg_sleep%'}, '1'),
	'the locker holds the rows of the oldest day')
  or diag 'locker: ' . join(' | ', finish_psql($locker));
my $t0 = time;
my ($locked_rows) = $node->safe_psql('locked', q{SELECT count(*) FROM store_monitoring.store_status WHERE timestamp_utc < '2023-03-02'});
ok($locked_rows > 0, "the oldest day has $locked_rows polls");
for my $k (1 .. 2)
{
	my $t = $T[$k];
	my ($rc) = reports('locked', Ts => [$t]);
	same_csv($rc->{$t}, $raw->{$t}, "report $k completes while a role holds rows the workers would seal");
}
ok(time - $t0 < 25, 'both reports were done before the locker let go (' . (time - $t0) . ' s)');
is(psql_utc('locked', 'SELECT count(*) FROM _store_monitoring_internal.sealed_day'), '0',
	'no day was sealed meanwhile (the oldest was held)');
my $gave_up;
for (1 .. 100)
{
	$gave_up = slurp_file($node->logfile, $log_offset) =~ /left sealing polls for later: canceling statement due to lock timeout/;
	last if $gave_up;
	usleep(100_000);
}
ok($gave_up, 'a worker waited a second for the held rows, then left sealing for later (logged)');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_stat_activity
	WHERE wait_event_type = 'Lock' AND usename IS DISTINCT FROM 'locker'}), '0',
	'no worker is left waiting for the locker');
$node->safe_psql('postgres', "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'locker'");
finish_psql($locker);
my ($unlocked) = reports('locked', Ts => [ $T[3] ]);
same_csv($unlocked->{ $T[3] }, $raw->{ $T[3] }, 'once the lock is gone, a report');
ok(poll_until($node, 'SELECT count(*) > 0 FROM _store_monitoring_internal.sealed_day', 't', db => 'locked'),
	'... after which its worker seals days again');

# ---- 10. a day over maintenance_work_mem is sealed in key ranges ------------
# 120,000 polls of 600 stores on one UTC day take about 1.9 MB while held:
# with maintenance_work_mem = 1MB the day is sealed in key ranges of
# store_id, and the polls and the report are those of the raw day.
$node->safe_psql('postgres', 'CREATE DATABASE batched');
$node->safe_psql('batched', q{
CREATE EXTENSION store_monitoring;
INSERT INTO store_monitoring.store_status
SELECT 'b' || lpad((i % 600)::text, 4, '0'),
       CASE WHEN (i / 7) % 5 = 0 THEN 'inactive' ELSE 'active' END::store_monitoring.poll_status,
       '2023-03-10 00:00+00'::timestamptz + (i / 600) * interval '432 seconds' + (i % 600) * interval '0.5 ms'
FROM generate_series(0, 119999) AS i;
-- Outliers any writer may add: they must not shrink the day's estimate.
INSERT INTO store_monitoring.store_status VALUES
    ('b-old', 'active', '1970-01-01 00:00+00'), ('b-old', 'active', '1970-01-01 00:00:01+00');
ANALYZE store_monitoring.store_status;
});
my $batched_rows = rows_md5('batched', 'store_monitoring.store_status');
my ($batched_raw) = reports('batched', Ts => ['2023-03-11 00:00+00']);
my $batch_offset = -s $node->logfile;
is($node->safe_psql('batched', "SET maintenance_work_mem = '1MB'; SELECT store_monitoring.compact_polls('0')"),
	'120002', 'the day is sealed (and the two polls of 1970)');
like(slurp_file($node->logfile, $batch_offset), qr/sealing it in ([2-9]|\d\d+) key ranges of store_id/,
	'... in key ranges of store_id');
is(rows_md5('batched', 'store_monitoring.polls'), $batched_rows, '... every poll once');
is(psql_utc('batched', q{SELECT count(*) FROM store_monitoring.sealed_polls WHERE day = '2023-03-10'}), '600',
	'... one row per store');
my ($batched_sealed) = reports('batched', Ts => ['2023-03-11 00:00+00']);
same_csv($batched_sealed->{'2023-03-11 00:00+00'}, $batched_raw->{'2023-03-11 00:00+00'},
	'the report over the day sealed in key ranges');

# ---- 7. the DROP guard --------------------------------------------------------
$node->safe_psql('postgres', 'CREATE DATABASE dropme');
$node->safe_psql('dropme', q{
CREATE EXTENSION store_monitoring;
INSERT INTO store_monitoring.store_status VALUES ('a', 'active', '2023-03-01 10:00+00'), ('a', 'inactive', '2023-03-02 10:00+00');
SELECT store_monitoring.compact_polls('0');
});
is($node->safe_psql('dropme', 'SELECT (SELECT count(*) FROM store_monitoring.store_status), (SELECT count(*) FROM store_monitoring.sealed_polls)'),
	'0|2', 'every poll sealed: store_status empty, two sealed rows');
($ret, $out, $err) = $node->psql('dropme', 'DROP EXTENSION store_monitoring');
isnt($ret, 0, 'DROP EXTENSION without CASCADE is refused while polls are sealed');
like($err, qr/store_monitoring\.sealed_polls/, '... naming store_monitoring.sealed_polls');
$node->safe_psql('dropme', 'DROP EXTENSION store_monitoring CASCADE');
is($node->safe_psql('dropme', "SELECT count(*) FROM pg_extension WHERE extname = 'store_monitoring'"), '0',
	'DROP EXTENSION ... CASCADE drops it');

done_testing();
