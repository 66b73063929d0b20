-- After a restore (ops/backups.py) the numbers may come round again with other data behind them: a new
-- epoch, which every cache key holds, so that answers cached for the database as it was never match it.
CREATE OR REPLACE FUNCTION public.ops_dataversion_new_epoch()
 RETURNS void
 LANGUAGE sql
AS $function$
    UPDATE ops_dataversion SET epoch = gen_random_uuid(), version = nextval('ops_dataversion_seq'),
        changed_at = clock_timestamp()
$function$;
