-- A side's slug changed: the incidents of its actors are refreshed (trigger
-- triggers/posture_side.events_side_sides_update).
CREATE OR REPLACE FUNCTION public.events_side_sides_track()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    PERFORM events_incident_sides_refresh(ARRAY(
        SELECT v.incident_id FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id
        JOIN posture_actor AS a ON a.side_id = n.id
        JOIN events_involvement AS v ON v.actor_id = a.id
        WHERE o.slug IS DISTINCT FROM n.slug));
    RETURN NULL;
END
$function$;
