-- The incidents' sides and actors' names follow their involvements, whoever writes them (admin, API, the
-- import's set-based SQL, sync): the four statement-level triggers of
-- triggers/events_involvement.events_involvement_sides_* refresh the incidents a statement touched, in one
-- UPDATE. A TRUNCATE of the involvements empties the five columns of every incident.
-- One incident is left alone: the one named by the transaction-local setting events.incident_written_next.
-- An editor's save of an existing incident (events.actions.write_incident) writes its involvements first and
-- then its row, once, with the five columns computed in that UPDATE (events/derived.py, write_one), and
-- clears the setting as it does; a new incident has no row yet for the refresh to rewrite.
CREATE OR REPLACE FUNCTION public.events_involvement_sides_track()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
DECLARE
    written_next bigint := nullif(current_setting('events.incident_written_next', true), '')::bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM events_incident_sides_refresh(ARRAY(
            SELECT incident_id FROM new_rows WHERE incident_id IS DISTINCT FROM written_next));
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM events_incident_sides_refresh(ARRAY(
            SELECT incident_id FROM new_rows WHERE incident_id IS DISTINCT FROM written_next
            UNION SELECT incident_id FROM old_rows WHERE incident_id IS DISTINCT FROM written_next));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM events_incident_sides_refresh(ARRAY(
            SELECT incident_id FROM old_rows WHERE incident_id IS DISTINCT FROM written_next));
    ELSE
        UPDATE events_incident SET attacking_sides = '{}', targeted_sides = '{}',
               attacker_names = '{}', target_names = '{}', claimant_names = '{}'
        WHERE attacking_sides <> '{}' OR targeted_sides <> '{}' OR attacker_names <> '{}'
           OR target_names <> '{}' OR claimant_names <> '{}';
    END IF;
    RETURN NULL;
END
$function$;
