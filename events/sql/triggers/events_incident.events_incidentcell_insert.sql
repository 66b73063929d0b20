CREATE TRIGGER events_incidentcell_insert AFTER INSERT ON events_incident REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION events_incidentcell_track();
