CREATE TRIGGER events_involvement_sides_delete AFTER DELETE ON events_involvement REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION events_involvement_sides_track();
