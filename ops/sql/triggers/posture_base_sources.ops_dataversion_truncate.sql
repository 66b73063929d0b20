CREATE TRIGGER ops_dataversion_truncate AFTER TRUNCATE ON posture_base_sources FOR EACH STATEMENT EXECUTE FUNCTION ops_dataversion_track();
