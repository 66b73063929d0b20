-- Counts every map cell again from the incidents: after a load that bypassed the triggers
-- (session_replication_role = replica, as bench/synthetic.py's), and IncidentCell.rebuild(). The INSERT is
-- events_incidentcell_track()'s, over every incident counted once.
CREATE OR REPLACE FUNCTION public.events_incidentcell_rebuild()
 RETURNS void
 LANGUAGE sql
AS $function$
    TRUNCATE events_incidentcell;
    INSERT INTO events_incidentcell AS t (zoom, x, y, kind, status, count, sum_lon, sum_lat, sum_id, casualties)
    SELECT z.zoom, floor(c.lon / z.cell)::integer, floor(c.lat / z.cell)::integer, c.kind, c.status,
           sum(c.sign), sum(c.sign * c.lon), sum(c.sign * c.lat), sum(c.sign * c.id),
           sum(c.sign * c.casualties_best)
    FROM (
        SELECT r.id, ST_X(r.location) AS lon, ST_Y(r.location) AS lat, r.kind, r.status, r.casualties_best, r.sign
        FROM (
            SELECT i.id, i.location, i.kind, i.status, i.casualties_best, 1 AS sign FROM events_incident AS i
        ) AS r
        WHERE r.location IS NOT NULL
        OFFSET 0  -- a fence: each row's coordinates are read once, not once per zoom level
    ) AS c
    CROSS JOIN (VALUES (0, 84.375::float8), (1, 42.1875::float8), (2, 21.09375::float8),
                       (3, 10.546875::float8), (4, 5.2734375::float8), (5, 2.63671875::float8),
                       (6, 1.318359375::float8), (7, 0.6591796875::float8), (8, 0.32958984375::float8)
    ) AS z (zoom, cell)
    GROUP BY 1, 2, 3, 4, 5
    HAVING sum(c.sign) <> 0 OR sum(c.sign * c.id) <> 0 OR sum(c.sign * c.casualties_best) <> 0
        OR sum(c.sign * c.lon) <> 0 OR sum(c.sign * c.lat) <> 0
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (zoom, x, y, kind, status) DO UPDATE SET
        count = t.count + EXCLUDED.count,
        sum_lon = CASE WHEN t.count + EXCLUDED.count = 0 THEN 0 ELSE t.sum_lon + EXCLUDED.sum_lon END,
        sum_lat = CASE WHEN t.count + EXCLUDED.count = 0 THEN 0 ELSE t.sum_lat + EXCLUDED.sum_lat END,
        sum_id = t.sum_id + EXCLUDED.sum_id,
        casualties = t.casualties + EXCLUDED.casualties;
$function$;
