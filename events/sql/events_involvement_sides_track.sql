-- The incidents' sides and actors' names follow their involvements, whoever writes them (admin, API, the
-- import's set-based SQL, sync): the four statement-level triggers of
-- triggers/events_involvement.events_involvement_sides_* refresh the incidents a statement touched, in one
-- UPDATE. A TRUNCATE of the involvements empties the five columns of every incident.
-- The incidents whose rows the transaction writes next, sides included, are left alone: the transaction-local
-- setting events.incidents_written_next holds their ids as an array literal ('{1,2}'; unset or '' for none).
-- An editor's save of an existing incident (events.actions.write_incident) names its one incident, an import
-- (events/imports/bulk.py) the incidents it stages; each writes its involvements first and then the rows, once,
-- with the five columns computed in that INSERT or UPDATE, and clears the setting. The ids are read once per
-- statement and taken out with EXCEPT, hashed, not compared with each row (70,000 by 70,000 in an import).
CREATE OR REPLACE FUNCTION public.events_involvement_sides_track()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
DECLARE
    written_next bigint[] := nullif(current_setting('events.incidents_written_next', true), '')::bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM events_incident_sides_refresh(ARRAY(
            SELECT incident_id FROM new_rows EXCEPT SELECT unnest(written_next)));
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM events_incident_sides_refresh(ARRAY(
            SELECT incident_id FROM new_rows UNION SELECT incident_id FROM old_rows
            EXCEPT SELECT unnest(written_next)));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM events_incident_sides_refresh(ARRAY(
            SELECT incident_id FROM old_rows EXCEPT SELECT unnest(written_next)));
    ELSE
        UPDATE events_incident SET attacking_sides = '{}', targeted_sides = '{}',
               attacker_names = '{}', target_names = '{}', claimant_names = '{}'
        WHERE attacking_sides <> '{}' OR targeted_sides <> '{}' OR attacker_names <> '{}'
           OR target_names <> '{}' OR claimant_names <> '{}';
    END IF;
    RETURN NULL;
END
$function$;
