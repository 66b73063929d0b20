CREATE TRIGGER events_incidentcell_delete AFTER DELETE ON events_incident REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION events_incidentcell_track();
