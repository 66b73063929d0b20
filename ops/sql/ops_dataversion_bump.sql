-- A new data version. The number comes from a sequence, which a rollback does not give back, so a number
-- is never reused for other data. Called at commit by ops_datawrite_commit(), and by bulk loads that
-- bypass the triggers (bench/synthetic.py).
CREATE OR REPLACE FUNCTION public.ops_dataversion_bump()
 RETURNS void
 LANGUAGE sql
AS $function$
    UPDATE ops_dataversion SET version = nextval('ops_dataversion_seq'), changed_at = clock_timestamp()
$function$;
