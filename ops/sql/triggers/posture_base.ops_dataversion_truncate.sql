CREATE TRIGGER ops_dataversion_truncate AFTER TRUNCATE ON posture_base FOR EACH STATEMENT EXECUTE FUNCTION ops_dataversion_track();
