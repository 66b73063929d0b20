CREATE TRIGGER events_incidentcell_update AFTER UPDATE ON events_incident REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION events_incidentcell_track();
