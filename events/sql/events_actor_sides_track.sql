-- An actor moved to another side, or given another slug or name: the incidents it is involved in are
-- refreshed (trigger triggers/posture_actor.events_actor_sides_update).
CREATE OR REPLACE FUNCTION public.events_actor_sides_track()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    PERFORM events_incident_sides_refresh(ARRAY(
        SELECT v.incident_id FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id
        JOIN events_involvement AS v ON v.actor_id = n.id
        WHERE (o.side_id, o.slug, o.name) IS DISTINCT FROM (n.side_id, n.slug, n.name)));
    RETURN NULL;
END
$function$;
