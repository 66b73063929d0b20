CREATE TRIGGER events_side_sides_update AFTER UPDATE ON posture_side REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION events_side_sides_track();
