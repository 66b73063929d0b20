CREATE TRIGGER ops_dataversion_insert AFTER INSERT ON posture_basestatus REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ops_dataversion_track();
