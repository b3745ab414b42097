# Attacks and faults that need workers (TAP):
#   1. a role holding advisory locks on the keys the workers used to take
#      (worker slots, next report keys, many bigint keys) cannot stall or
#      spin reports: the workers' locks are in a tag space no SQL function
#      reaches, and the workers exit when the queue is empty;
#   2. list_reports() says why a queued report waits;
#   3. a superuser's cancel of a worker ends its report Failed, whether it
#      strikes between transactions or inside the computing one;
#   4. a database made read-only by default still gets its reports written;
#   5. a persistent write failure (a constraint that refuses 'Failed', or
#      'computing') makes the worker back off and give up, logged once, with
#      the reason in the report where it can be written, and the claim's
#      locks released;
#   6. get_report() on another role's id does not read the CSV;
#   7. worker_memory_kb is at least what the worker held after writing.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use StoreMonitoringTest;

my $node = new_node('security');
my $superuser = $node->safe_psql('postgres', 'SELECT current_user');
load_data($node, 300, hours => 30);
my $ref = trigger($node);
is(wait_report($node, $ref), 'Complete', 'reference report completes');
my $ref_csv = report_csv($node, $ref);
ok(wait_no_workers($node), 'its worker has exited');

my $tag_space = 0x534D;
my $report_class = 0x534D5200;
my $slot_class = 0x534D5301;

sub warnings_since
{
	my ($offset, $pattern) = @_;
	my $log = slurp_file($node->logfile, $offset);
	return scalar(() = $log =~ /WARNING:  [^\n]*$pattern/g);
}

# --- 1. the old advisory keys ---------------------------------------------------
$node->safe_psql('postgres', 'CREATE ROLE regress_hostile LOGIN');
my $next_key = $node->safe_psql('postgres',
	'SELECT max(lock_key) + 1 FROM _store_monitoring_internal.report');
my $hostile = start_psql(
	$node, qq{
SET ROLE regress_hostile;
SELECT count(pg_catalog.pg_advisory_lock($slot_class, s)) FROM generate_series(0, 63) s;
SELECT count(pg_catalog.pg_advisory_lock($report_class, s))
FROM generate_series($next_key, $next_key + 199) s;
SELECT count(pg_catalog.pg_advisory_lock(s::bigint)) FROM generate_series(1, 100) s;
SELECT pg_catalog.pg_sleep(3600);
});
ok( poll_until($node, q{
SELECT count(*) >= 364 FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a USING (pid)
WHERE a.usename = current_user AND a.query LIKE '%pg_sleep%' AND l.locktype = 'advisory'},
		't'),
	'a hostile session holds the slot keys, the next 200 report keys and 100 bigint keys');
my $offset = -s $node->logfile;
my @ids = map { trigger($node) } 1 .. 6;
my @done = grep { wait_report($node, $_) eq 'Complete' && report_csv($node, $_) eq $ref_csv } @ids;
is(scalar @done, 6, 'six reports triggered while the keys are held all complete, same CSV');
ok(wait_no_workers($node), 'the workers exit once the queue is empty (no spinning)');
is(warnings_since($offset, 'store_monitoring'), 0, 'no warning logged');
$node->safe_psql('postgres', q{
SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity
WHERE query LIKE '%pg_sleep(3600)%' AND pid <> pg_catalog.pg_backend_pid()});
finish_psql($hostile);

# --- 2 and 3. waiting_for, and cancels --------------------------------------------
set_conf($node,
	'store_monitoring.debug_pause_point' => 'claimed',
	'store_monitoring.debug_worker_delay' => 600_000);
my $a = trigger($node);
my $a_pid = wait_for_pause_point($node, $a, 'claimed');
ok(defined $a_pid, 'report A: its worker sleeps between claim and computing') or die;
my $b = trigger($node);
my $b_pid = wait_for_pause_point($node, $b, 'claimed');
ok(defined $b_pid, 'report B: a second worker sleeps too (max_workers = 2)') or die;
my $c = trigger($node);
is( $node->safe_psql('postgres',
		"SELECT phase || ': ' || waiting_for FROM store_monitoring.list_reports() WHERE report_id = '$c'"),
	'queued: a worker: all 2 report workers of this database (store_monitoring.max_workers) are busy',
	'report C is queued, and list_reports() says it waits for a busy worker');
is( $node->safe_psql('postgres',
		"SELECT count(*) FROM store_monitoring.list_reports() WHERE report_id IN ('$a', '$b') AND waiting_for IS NULL"),
	'2', 'the computing reports wait for nothing');
is( $node->safe_psql('postgres', qq{
SELECT count(*) FROM pg_catalog.pg_locks WHERE locktype = 'advisory' AND objsubid = $tag_space
  AND classid IN ($slot_class, $report_class) AND pid IN ($a_pid, $b_pid)}),
	'4', 'the workers hold their slot and report locks in the private tag space');

# The next pause is inside the computing transaction, after the snapshot.
set_conf($node, 'store_monitoring.debug_pause_point' => 'reading');
$node->safe_psql('postgres', "SELECT pg_catalog.pg_cancel_backend($a_pid)");
ok( poll_until($node,
		"SELECT status FROM _store_monitoring_internal.report WHERE report_id = '$a'", 'Failed'),
	'a cancel between claim and computing ends report A Failed');
my $c_pid = wait_for_pause_point($node, $c, 'reading');
ok(defined $c_pid, "report C: A's worker claims it and sleeps inside the computing transaction")
  or die;
$node->safe_psql('postgres', "SELECT pg_catalog.pg_cancel_backend($c_pid)");
ok( poll_until($node,
		"SELECT status FROM _store_monitoring_internal.report WHERE report_id = '$c'", 'Failed'),
	'a cancel inside the computing transaction ends report C Failed');
for my $id ($a, $c)
{
	my $row = report_row($node, $id);
	is("$row->{status}/$row->{attempts}/$row->{error}",
		'Failed/1/canceling statement due to user request',
		"report $id: Failed on its first attempt with the cancel's message");
}
set_conf($node, 'store_monitoring.debug_worker_delay' => 0);
$node->safe_psql('postgres', "SELECT pg_catalog.pg_cancel_backend($b_pid)");
ok( poll_until($node,
		"SELECT status FROM _store_monitoring_internal.report WHERE report_id = '$b'", 'Failed'),
	'report B: Failed too');
ok(wait_no_workers($node), 'the workers exit after the cancels');

# --- 4. a database read-only by default ---------------------------------------
$node->safe_psql(
	'postgres', q{
CREATE ROLE regress_dbo LOGIN;
CREATE DATABASE regress_ro OWNER regress_dbo;
});
$node->safe_psql('regress_ro', 'CREATE EXTENSION store_monitoring');
load_data($node, 300, hours => 30, db => 'regress_ro');
$node->safe_psql('regress_ro',
	'SET ROLE regress_dbo; ALTER DATABASE regress_ro SET default_transaction_read_only = on');
my $writable = 'SET default_transaction_read_only = off;';
my $ro = $node->safe_psql('regress_ro',
	"$writable SELECT store_monitoring.trigger_report('$AS_OF')");
is(wait_report($node, $ro, db => 'regress_ro'), 'Complete',
	'a report completes in a database whose owner made it read-only by default');
is(report_csv($node, $ro, 'regress_ro'), $ref_csv, '... with the reference CSV');

# A report out of attempts must be marked Failed there too (it used to spin).
sub exhausted_report
{
	my ($db) = @_;
	return $node->safe_psql(
		$db, qq{$writable
BEGIN;
SELECT store_monitoring.trigger_report('$AS_OF') AS id \\gset
UPDATE _store_monitoring_internal.report SET attempts = 3 WHERE report_id = :'id';
COMMIT;
SELECT :'id';
});
}
$offset = -s $node->logfile;
my $ex = exhausted_report('regress_ro');
ok( poll_until($node,
		"SELECT status FROM _store_monitoring_internal.report WHERE report_id = '$ex'",
		'Failed', db => 'regress_ro'),
	'a report out of attempts is marked Failed in the read-only database');
like(report_row($node, $ex, 'regress_ro')->{error}, qr/interrupted 3 times/, '... saying why');
ok(wait_no_workers($node, 'regress_ro'), '... and its worker exits');
is(warnings_since($offset, 'store_monitoring'), 0, '... without a warning');

# --- 5. persistent write failures --------------------------------------------------
# A report out of attempts that cannot be marked Failed.
$node->safe_psql('postgres', q{
ALTER TABLE _store_monitoring_internal.report
    ADD CONSTRAINT regress_no_failed CHECK (status <> 'Failed') NOT VALID});
$offset = -s $node->logfile;
$ex = exhausted_report('postgres');
ok( poll_until($node, qq{
SELECT error LIKE 'could not be marked Failed (%' FROM store_monitoring.list_reports()
WHERE report_id = '$ex' AND status = 'Running'}, 't'),
	'a report that cannot be marked Failed stays Running, with the reason in list_reports()');
like( $node->safe_psql('postgres', "SELECT status || ': ' || error FROM store_monitoring.get_report('$ex')"),
	qr/^Running: could not be marked Failed \(new row .* violates check constraint "regress_no_failed".*\) after: .*interrupted 3 times/,
	'get_report() shows it too');
ok(wait_no_workers($node), 'the worker gives up and exits (no spinning)');
is(warnings_since($offset, 'could not mark report'), 1, 'the failure is logged once');
$node->safe_psql('postgres',
	'ALTER TABLE _store_monitoring_internal.report DROP CONSTRAINT regress_no_failed');
is(wait_report($node, $ex), 'Failed', 'once writable, the report is marked Failed');

# A claim that cannot be written: its lock must be released at once.
$node->safe_psql('postgres', q{
ALTER TABLE _store_monitoring_internal.report
    ADD CONSTRAINT regress_no_computing CHECK (phase <> 'computing') NOT VALID});
# One session watches (every 10 ms, in one query) for the worker waiting
# between tries after a failed claim, and counts the report locks it holds.
my $key = $node->safe_psql('postgres',
	'SELECT max(lock_key) + 1 FROM _store_monitoring_internal.report');
my $watcher = start_psql(
	$node, qq{
CREATE FUNCTION pg_temp.backing_off() RETURNS text LANGUAGE plpgsql AS \$\$
DECLARE
    seen text;
BEGIN
    FOR i IN 1 .. 6000 LOOP
        PERFORM pg_catalog.pg_stat_clear_snapshot();
        SELECT 'holds ' || (SELECT count(*) FROM pg_catalog.pg_locks l
                            WHERE l.pid = a.pid AND l.locktype = 'advisory'
                              AND l.classid = $report_class AND l.objsubid = $tag_space)
               || ' report locks' INTO seen
        FROM pg_catalog.pg_stat_activity a
        WHERE a.backend_type = 'store_monitoring worker' AND a.wait_event = 'Extension'
          AND EXISTS (SELECT 1 FROM _store_monitoring_internal.report r
                      WHERE r.lock_key = $key AND r.error LIKE 'could not be claimed:%');
        IF seen IS NOT NULL THEN
            RETURN seen;
        END IF;
        PERFORM pg_catalog.pg_sleep(0.01);
    END LOOP;
    RETURN 'not seen';
END
\$\$;
SELECT pg_temp.backing_off();
});
$offset = -s $node->logfile;
my $cl = trigger($node);
is( $node->safe_psql('postgres',
		"SELECT lock_key FROM _store_monitoring_internal.report WHERE report_id = '$cl'"),
	$key, 'the watched report is the one triggered');
my (undef, $backing_off) = finish_psql($watcher);
is($backing_off, 'holds 0 report locks',
	'after a failed claim the worker waits before retrying, without the report lock');
ok(wait_no_workers($node), 'it gives up after a bounded number of tries');
is(warnings_since($offset, 'could not claim a report'), 1, 'the failure is logged once');
my $row = report_row($node, $cl);
like("$row->{status}/$row->{phase}/$row->{error}",
	qr{^Running/queued/could not be claimed: new row .* violates check constraint "regress_no_computing"},
	'the report stays queued, with the reason');
$node->safe_psql('postgres',
	'ALTER TABLE _store_monitoring_internal.report DROP CONSTRAINT regress_no_computing');
is(wait_report($node, $cl), 'Complete', 'once writable, the report completes');
is(report_row($node, $cl)->{error}, '', '... and its error is cleared');

# --- 6. get_report() on another role's id reads no CSV ------------------------
$node->safe_psql('postgres', 'CREATE ROLE regress_other');
my $toast_blocks = q{
SELECT pg_catalog.pg_stat_force_next_flush();
SELECT 1;
SELECT pg_catalog.pg_stat_clear_snapshot();
SELECT coalesce(heap_blks_read, 0) + coalesce(heap_blks_hit, 0) + coalesce(toast_blks_read, 0)
       + coalesce(toast_blks_hit, 0) + coalesce(tidx_blks_read, 0) + coalesce(tidx_blks_hit, 0)
FROM pg_catalog.pg_statio_all_tables
WHERE relid = '_store_monitoring_internal.report_output'::regclass;};
sub toast_blocks_after
{
	my ($sql) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', "$sql\n$toast_blocks", on_error_stop => 0);
	my @lines = split /\n/, $out;
	return ($lines[-1], $err);
}
my ($before) = toast_blocks_after('');
my ($after_foreign, $err) = toast_blocks_after(
	"SET ROLE regress_other; SELECT csv IS NOT NULL FROM store_monitoring.get_report('$ref'); RESET ROLE;");
like($err, qr/report "\Q$ref\E" does not exist/, "another role's id: does not exist");
is($after_foreign, $before, '... and the results were not read (no block of report_output touched)');
my ($after_own) = toast_blocks_after("SELECT csv IS NOT NULL FROM store_monitoring.get_report('$ref');");
cmp_ok($after_own, '>', $after_foreign, "the owner's get_report() reads the CSV (the measure works)");

# --- 7. worker_memory_kb covers the writing of the result ---------------------------
$node->safe_psql('postgres', q{
TRUNCATE store_monitoring.store_status, store_monitoring.business_hours, store_monitoring.store_timezone});
load_data($node, 20000, hours => 10);
set_conf($node,
	'store_monitoring.debug_pause_point' => 'committing',
	'store_monitoring.debug_worker_delay' => 2000);
my $m = trigger($node);
my $m_pid = wait_for_pause_point($node, $m, 'committing');
ok(defined $m_pid, 'the worker has written the result and sleeps before the record') or die;
open my $status, '<', "/proc/$m_pid/status" or die "/proc/$m_pid/status: $!";
my ($later) = map { /^RssAnon:\s+(\d+)/ ? $1 : () } <$status>;
close $status;
is(wait_report($node, $m), 'Complete', 'the report completes');
my $recorded = $node->safe_psql('postgres',
	"SELECT worker_memory_kb FROM _store_monitoring_internal.report WHERE report_id = '$m'");
cmp_ok($recorded, '>=', $later,
	"worker_memory_kb ($recorded kB) is at least the private memory sampled after the write ($later kB)");

$node->stop;
done_testing();
