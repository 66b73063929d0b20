CREATE TRIGGER ops_dataversion_update AFTER UPDATE ON events_involvement REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ops_dataversion_track();
