-- Writes the sides and actors' names (events_incident_sides_of()) of the incidents `ids` into their five
-- columns, skipping the rows where they are unchanged. The planner inlines events_incident_sides_of(): one
-- plan for the whole UPDATE.
CREATE OR REPLACE FUNCTION public.events_incident_sides_refresh(ids bigint[])
 RETURNS void
 LANGUAGE sql
AS $function$
    UPDATE events_incident AS i SET attacking_sides = c.attacking, targeted_sides = c.targeted,
           attacker_names = c.attackers, target_names = c.targets, claimant_names = c.claimants
    FROM (SELECT * FROM events_incident_sides_of(ids)) AS c
    WHERE i.id = c.id
      AND (i.attacking_sides, i.targeted_sides, i.attacker_names, i.target_names, i.claimant_names)
          IS DISTINCT FROM (c.attacking, c.targeted, c.attackers, c.targets, c.claimants)
$function$;
