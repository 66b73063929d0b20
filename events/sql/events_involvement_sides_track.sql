-- The incidents' sides and actors' names follow their involvements, whoever writes them (admin, API, the
-- import's set-based SQL, sync): the four statement-level triggers of
-- triggers/events_involvement.events_involvement_sides_* refresh the incidents a statement touched, in one
-- UPDATE. A TRUNCATE of the involvements empties the five columns of every incident.
CREATE OR REPLACE FUNCTION public.events_involvement_sides_track()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM events_incident_sides_refresh(ARRAY(SELECT incident_id FROM new_rows));
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM events_incident_sides_refresh(
            ARRAY(SELECT incident_id FROM new_rows UNION SELECT incident_id FROM old_rows));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM events_incident_sides_refresh(ARRAY(SELECT incident_id FROM old_rows));
    ELSE
        UPDATE events_incident SET attacking_sides = '{}', targeted_sides = '{}',
               attacker_names = '{}', target_names = '{}', claimant_names = '{}'
        WHERE attacking_sides <> '{}' OR targeted_sides <> '{}' OR attacker_names <> '{}'
           OR target_names <> '{}' OR claimant_names <> '{}';
    END IF;
    RETURN NULL;
END
$function$;
