-- The data version (table ops_dataversion) changes whenever a write that can change an API answer commits:
-- the API's ETags and shared response cache (api/caching.py) are keyed on it. Every table an answer is
-- built from has four statement-level triggers running this (triggers/<table>.ops_dataversion_*.sql; a new
-- table the API reads gets its four files). A statement that touched no row leaves the version alone; one
-- that did counts itself in the transaction-local setting ops.data_writes, which tells the transaction's
-- own reads that they see uncommitted data, and inserts its row into ops_datawrite, whose deferred
-- constraint trigger bumps the version at commit (ops_datawrite_commit()). Triggers do not fire under
-- session_replication_role = replica (bench/synthetic.py's bulk load), which calls ops_dataversion_bump().
CREATE OR REPLACE FUNCTION public.ops_dataversion_track()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
DECLARE
    writes integer := coalesce(nullif(current_setting('ops.data_writes', true), ''), '0')::integer + 1;
BEGIN
    IF TG_OP = 'INSERT' OR TG_OP = 'UPDATE' THEN
        IF NOT EXISTS (SELECT FROM new_rows) THEN
            RETURN NULL;
        END IF;
    ELSIF TG_OP = 'DELETE' THEN
        IF NOT EXISTS (SELECT FROM old_rows) THEN
            RETURN NULL;
        END IF;
    END IF;
    PERFORM set_config('ops.data_writes', writes::text, true);
    INSERT INTO ops_datawrite (txid, n) VALUES (txid_current(), writes);
    RETURN NULL;
END
$function$;
