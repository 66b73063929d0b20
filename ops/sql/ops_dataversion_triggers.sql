-- Used only by the migrations ops 0001 and 0002, which created the data version's triggers through it and
-- must still replay on an empty database. A table tracked today has its four files in triggers/ instead.
CREATE OR REPLACE FUNCTION public.ops_dataversion_triggers(tbl regclass)
 RETURNS void
 LANGUAGE plpgsql
AS $function$
BEGIN
    EXECUTE format('CREATE TRIGGER ops_dataversion_insert AFTER INSERT ON %s REFERENCING NEW TABLE AS new_rows'
        ' FOR EACH STATEMENT EXECUTE FUNCTION ops_dataversion_track()', tbl);
    EXECUTE format('CREATE TRIGGER ops_dataversion_update AFTER UPDATE ON %s REFERENCING NEW TABLE AS new_rows'
        ' FOR EACH STATEMENT EXECUTE FUNCTION ops_dataversion_track()', tbl);
    EXECUTE format('CREATE TRIGGER ops_dataversion_delete AFTER DELETE ON %s REFERENCING OLD TABLE AS old_rows'
        ' FOR EACH STATEMENT EXECUTE FUNCTION ops_dataversion_track()', tbl);
    EXECUTE format('CREATE TRIGGER ops_dataversion_truncate AFTER TRUNCATE ON %s'
        ' FOR EACH STATEMENT EXECUTE FUNCTION ops_dataversion_track()', tbl);
END
$function$;
