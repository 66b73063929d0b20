-- An incident's sides and actors' names, derived from its involvements: the side keys (Actor.side_key: the
-- side's slug, or "actor:<slug>" for an actor on no side) of its attackers and claimants, and of its targets,
-- and the names of its attackers, targets and claimants. Read by events_incident_sides_refresh() (the
-- involvement, actor and side triggers), by an import's INSERT of new incidents (events/imports/bulk.py) and by
-- an editor's save (events/derived.py, write_one), which write the five columns with the row since its
-- involvements are written before it.
CREATE OR REPLACE FUNCTION public.events_incident_sides_of(ids bigint[])
 RETURNS TABLE(id bigint, attacking text[], targeted text[], attackers text[], targets text[], claimants text[])
 LANGUAGE sql
 STABLE
AS $function$
    SELECT t.id,
           coalesce(array_agg(DISTINCT k.key ORDER BY k.key) FILTER (WHERE v.role IN ('attacker', 'claimed_by')),
                    '{}') AS attacking,
           coalesce(array_agg(DISTINCT k.key ORDER BY k.key) FILTER (WHERE v.role = 'target'), '{}') AS targeted,
           coalesce(array_agg(a.name::text ORDER BY a.name) FILTER (WHERE v.role = 'attacker'), '{}') AS attackers,
           coalesce(array_agg(a.name::text ORDER BY a.name) FILTER (WHERE v.role = 'target'), '{}') AS targets,
           coalesce(array_agg(a.name::text ORDER BY a.name) FILTER (WHERE v.role = 'claimed_by'), '{}') AS claimants
    FROM (SELECT DISTINCT unnest(ids) AS id) AS t
    LEFT JOIN events_involvement AS v ON v.incident_id = t.id
    LEFT JOIN posture_actor AS a ON a.id = v.actor_id
    LEFT JOIN posture_side AS s ON s.id = a.side_id
    CROSS JOIN LATERAL (SELECT coalesce(s.slug::text, 'actor:' || a.slug) AS key) AS k
    GROUP BY t.id
$function$;
