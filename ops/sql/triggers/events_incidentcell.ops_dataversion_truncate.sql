CREATE TRIGGER ops_dataversion_truncate AFTER TRUNCATE ON events_incidentcell FOR EACH STATEMENT EXECUTE FUNCTION ops_dataversion_track();
