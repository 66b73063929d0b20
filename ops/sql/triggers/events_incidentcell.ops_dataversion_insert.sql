CREATE TRIGGER ops_dataversion_insert AFTER INSERT ON events_incidentcell REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ops_dataversion_track();
