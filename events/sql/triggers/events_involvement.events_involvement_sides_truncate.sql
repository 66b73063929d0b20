CREATE TRIGGER events_involvement_sides_truncate AFTER TRUNCATE ON events_involvement FOR EACH STATEMENT EXECUTE FUNCTION events_involvement_sides_track();
