# Races of the report lifecycle: four sessions loop 25 times each over
# trigger_report, cancel_report, wait_report, delete_report and
# purge_reports, on their own reports and on each other's, while workers
# compute them. Every call either works or raises one of the documented
# errors (a report that is no longer Running cannot be canceled, a Running
# one cannot be deleted, a deleted one does not exist); afterwards no report
# is left Running, no result row lacks its report, no worker or lock
# remains, and every Complete report left has the undisturbed numbers.
# (Workers killed at each pause point: 006_faults.pl.)
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use StoreMonitoringTest;

my $node = new_node('lifecycle_races');
load_data($node, 30);
my $ref = trigger($node);
is(wait_report($node, $ref), 'Complete', 'reference report completes');
my $ref_csv = report_csv($node, $ref);
my $log_offset = -s $node->logfile;

$node->safe_psql('postgres', qq{
CREATE TABLE public.race_ids (report_id text PRIMARY KEY);
CREATE TABLE public.race_error (session int, step text, state text, message text);
-- One call, its error (if any) recorded.
CREATE FUNCTION public.race_call(session int, step text, call text) RETURNS void
LANGUAGE plpgsql AS \$\$
DECLARE
    state text;
    message text;
BEGIN
    EXECUTE call;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT;
    INSERT INTO public.race_error VALUES (session, step, state, message);
END \$\$;
CREATE PROCEDURE public.race(session int, loops int) LANGUAGE plpgsql AS \$\$
DECLARE
    id text;
    other text;
BEGIN
    FOR i IN 1 .. loops LOOP
        id := store_monitoring.trigger_report('$AS_OF');
        INSERT INTO public.race_ids VALUES (id);
        COMMIT;
        SELECT r.report_id INTO other FROM public.race_ids r ORDER BY random() LIMIT 1;
        CASE (i + session) % 4
        WHEN 0 THEN  -- cancel at once, then delete it
            PERFORM public.race_call(session, 'cancel own',
                format('SELECT store_monitoring.cancel_report(%L)', id));
            PERFORM public.race_call(session, 'wait own',
                format('SELECT store_monitoring.wait_report(%L, ''60 seconds'')', id));
            PERFORM public.race_call(session, 'delete own',
                format('SELECT store_monitoring.delete_report(%L)', id));
        WHEN 1 THEN  -- wait, then delete it and cancel another's
            PERFORM public.race_call(session, 'wait own',
                format('SELECT store_monitoring.wait_report(%L, ''60 seconds'')', id));
            PERFORM public.race_call(session, 'delete own',
                format('SELECT store_monitoring.delete_report(%L)', id));
            PERFORM public.race_call(session, 'cancel other',
                format('SELECT store_monitoring.cancel_report(%L)', other));
        WHEN 2 THEN  -- purge every finished report, delete another's
            PERFORM public.race_call(session, 'purge',
                'SELECT store_monitoring.purge_reports(''0''::interval)');
            PERFORM public.race_call(session, 'delete other',
                format('SELECT store_monitoring.delete_report(%L)', other));
        ELSE         -- delete while (probably) running, cancel, read
            PERFORM public.race_call(session, 'delete running',
                format('SELECT store_monitoring.delete_report(%L)', id));
            PERFORM public.race_call(session, 'cancel other',
                format('SELECT store_monitoring.cancel_report(%L)', other));
            PERFORM public.race_call(session, 'get own',
                format('SELECT store_monitoring.get_report(%L)', id));
        END CASE;
        COMMIT;
    END LOOP;
END \$\$;
});

# Workers linger a moment with each report computed and unwritten, so that
# cancels and deletes also meet reports mid-computation.
set_conf($node,
	'store_monitoring.debug_pause_point' => 'writing',
	'store_monitoring.debug_worker_delay' => 20);
my @sessions = map { start_psql($node, "CALL public.race($_, 25);") } 1 .. 4;
my $all_ok = 1;
for my $i (0 .. $#sessions)
{
	my ($ret, $out, $err) = finish_psql($sessions[$i]);
	$all_ok = 0 unless $ret == 0;
	diag "session " . ($i + 1) . ": $err" if $ret != 0;
}
ok($all_ok, 'four sessions ran 25 loops each without an unexpected error escaping');

# The only errors: the documented refusals.
my $documented = q{
    (state = '55000' AND message ~ '^report "[^"]+" is (Complete|Failed), not Running$')
 OR (state = '55000' AND message ~ '^report "[^"]+" is Running and cannot be deleted$')
 OR (state = '42704' AND message ~ '^report "[^"]+" does not exist$')};
is( $node->safe_psql('postgres',
		"SELECT coalesce(string_agg(DISTINCT step || ': ' || state || ' ' || message, E'\\n'), '') "
		  . "FROM public.race_error WHERE NOT ($documented)"),
	'', 'every error raised is a documented refusal');
note $node->safe_psql('postgres',
	"SELECT step || ' ' || state || ': ' || count(*) FROM public.race_error GROUP BY step, state ORDER BY step, state");
is($node->safe_psql('postgres', 'SELECT count(*) FROM public.race_ids'), '100', '100 reports triggered');

# Whatever is still Running ends (a worker or the next wait_report takes it).
my @running = split /\n/, $node->safe_psql('postgres',
	"SELECT report_id FROM _store_monitoring_internal.report WHERE status = 'Running'");
wait_report($node, $_) for @running;
is( $node->safe_psql('postgres',
		"SELECT count(*) FROM _store_monitoring_internal.report WHERE status = 'Running'"),
	'0', 'no report is left Running');
is( $node->safe_psql('postgres', q{
SELECT count(*) FROM _store_monitoring_internal.report_output o
WHERE NOT EXISTS (SELECT 1 FROM _store_monitoring_internal.report r
                  WHERE r.report_id = o.report_id AND r.status = 'Complete')}),
	'0', 'no stored result without its Complete report');
is( $node->safe_psql('postgres', q{
SELECT count(*) FROM _store_monitoring_internal.report r
WHERE r.status = 'Complete' AND r.csv IS NULL AND NOT EXISTS
    (SELECT 1 FROM _store_monitoring_internal.report_output o WHERE o.report_id = r.report_id)}),
	'0', 'no Complete report without its stored result');
is( $node->safe_psql('postgres', q{
SELECT count(*) FROM _store_monitoring_internal.report
WHERE status = 'Failed' AND error NOT LIKE 'canceled by %'}),
	'0', 'every Failed report was canceled, none failed otherwise');
my @complete = split /\n/, $node->safe_psql('postgres',
	"SELECT report_id FROM _store_monitoring_internal.report WHERE status = 'Complete'");
is(scalar(grep { report_csv($node, $_) ne $ref_csv } @complete), 0,
	'every Complete report left (' . scalar(@complete) . ') has the reference CSV');
ok(wait_no_workers($node), 'no worker remains');
is( $node->safe_psql('postgres',
		"SELECT count(*) FROM pg_catalog.pg_locks WHERE locktype = 'advisory' AND objsubid = 21325"),
	'0', 'no report lock remains');
unlike(slurp_file($node->logfile, $log_offset),
	qr/terminated by signal|PANIC|TRAP|server process .* exited/,
	'no process crashed');

$node->stop;
done_testing();
