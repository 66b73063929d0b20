CREATE TRIGGER ops_dataversion_delete AFTER DELETE ON events_involvement REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION ops_dataversion_track();
