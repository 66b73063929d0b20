-- Every incident's sides and actors' names again: after a load that bypassed the triggers
-- (session_replication_role = replica, as bench/synthetic.py's).
CREATE OR REPLACE FUNCTION public.events_incident_sides_rebuild()
 RETURNS void
 LANGUAGE sql
AS $function$
    SELECT events_incident_sides_refresh(ARRAY(SELECT id FROM events_incident))
$function$;
