CREATE TRIGGER ops_dataversion_truncate AFTER TRUNCATE ON events_incidentlink FOR EACH STATEMENT EXECUTE FUNCTION ops_dataversion_track();
