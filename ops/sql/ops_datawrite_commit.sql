-- The data version is bumped at commit, not at the write: this runs as the deferred constraint trigger on
-- ops_datawrite (triggers/ops_datawrite.ops_datawrite_commit.sql), last among the transaction's deferred
-- checks. Bumping at the write would lock the shared row from a transaction's first write to its end,
-- queueing every other writer behind a long import and opening deadlocks with the row locks they hold.
CREATE OR REPLACE FUNCTION public.ops_datawrite_commit()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    DELETE FROM ops_datawrite WHERE txid = NEW.txid AND n = NEW.n;
    -- Only the transaction's last tracked statement bumps: its check comes after every earlier statement's.
    IF NEW.n = coalesce(nullif(current_setting('ops.data_writes', true), ''), '0')::integer THEN
        PERFORM ops_dataversion_bump();
    END IF;
    RETURN NULL;
END
$function$;
