CREATE TRIGGER events_incidentcell_truncate AFTER TRUNCATE ON events_incident FOR EACH STATEMENT EXECUTE FUNCTION events_incidentcell_track();
