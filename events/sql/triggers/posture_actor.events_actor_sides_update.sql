CREATE TRIGGER events_actor_sides_update AFTER UPDATE ON posture_actor REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION events_actor_sides_track();
