CREATE TRIGGER events_involvement_sides_insert AFTER INSERT ON events_involvement REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION events_involvement_sides_track();
