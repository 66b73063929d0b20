-- The map's counted cells (events_incidentcell) follow every write to events_incident, whoever writes (admin,
-- API, imports, raw SQL): the four statement-level triggers of triggers/events_incident.events_incidentcell_*
-- run this once per statement with the rows it wrote, so a bulk import adds its rows in one aggregate and an
-- admin save costs one small upsert. An UPDATE counts only the rows whose location, kind, status or casualty
-- total changed. Each branch adds, per zoom level, +1 for a row there now and -1 for one that was; a cell
-- back at zero is kept, its sums reset, since one statement cannot both update and delete a row.
-- The zooms' cell widths are IncidentCell.degrees(zoom) for zoom 0 to IncidentCell.MAX_ZOOM (8), the same
-- floats api/clusters.py computes, and events_incidentcell_rebuild() repeats the INSERT over every incident.
-- Nested loops are off: the planner takes each transition table for one row and joined old and new rows in
-- a nested loop (an UPDATE of 5,000 incidents compared 25 million pairs, twice, for 18 s); hashed instead.
-- Triggers do not fire under session_replication_role = replica (bench/synthetic.py's bulk load), which
-- calls events_incidentcell_rebuild() afterwards.
CREATE OR REPLACE FUNCTION public.events_incidentcell_track()
 RETURNS trigger
 LANGUAGE plpgsql
 SET enable_nestloop TO 'off'
AS $function$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO events_incidentcell AS t (zoom, x, y, kind, status, count, sum_lon, sum_lat, sum_id, casualties)
        SELECT z.zoom, floor(c.lon / z.cell)::integer, floor(c.lat / z.cell)::integer, c.kind, c.status,
               sum(c.sign), sum(c.sign * c.lon), sum(c.sign * c.lat), sum(c.sign * c.id),
               sum(c.sign * c.casualties_best)
        FROM (
            SELECT r.id, ST_X(r.location) AS lon, ST_Y(r.location) AS lat, r.kind, r.status, r.casualties_best,
                   r.sign
            FROM (
                SELECT n.id, n.location, n.kind, n.status, n.casualties_best, 1 AS sign FROM new_rows AS n
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
        -- The same order in every statement, so that two writers lock shared cells in the same order.
        ORDER BY 1, 2, 3, 4, 5
        ON CONFLICT (zoom, x, y, kind, status) DO UPDATE SET
            count = t.count + EXCLUDED.count,
            sum_lon = CASE WHEN t.count + EXCLUDED.count = 0 THEN 0 ELSE t.sum_lon + EXCLUDED.sum_lon END,
            sum_lat = CASE WHEN t.count + EXCLUDED.count = 0 THEN 0 ELSE t.sum_lat + EXCLUDED.sum_lat END,
            sum_id = t.sum_id + EXCLUDED.sum_id,
            casualties = t.casualties + EXCLUDED.casualties;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO events_incidentcell AS t (zoom, x, y, kind, status, count, sum_lon, sum_lat, sum_id, casualties)
        SELECT z.zoom, floor(c.lon / z.cell)::integer, floor(c.lat / z.cell)::integer, c.kind, c.status,
               sum(c.sign), sum(c.sign * c.lon), sum(c.sign * c.lat), sum(c.sign * c.id),
               sum(c.sign * c.casualties_best)
        FROM (
            SELECT r.id, ST_X(r.location) AS lon, ST_Y(r.location) AS lat, r.kind, r.status, r.casualties_best,
                   r.sign
            FROM (
                SELECT o.id, o.location, o.kind, o.status, o.casualties_best, -1 AS sign
                FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id
                WHERE (o.kind, o.status, o.casualties_best) IS DISTINCT FROM (n.kind, n.status, n.casualties_best)
                   OR o.location IS DISTINCT FROM n.location
                UNION ALL
                SELECT n.id, n.location, n.kind, n.status, n.casualties_best, 1 AS sign
                FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id
                WHERE (o.kind, o.status, o.casualties_best) IS DISTINCT FROM (n.kind, n.status, n.casualties_best)
                   OR o.location IS DISTINCT FROM n.location
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
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO events_incidentcell AS t (zoom, x, y, kind, status, count, sum_lon, sum_lat, sum_id, casualties)
        SELECT z.zoom, floor(c.lon / z.cell)::integer, floor(c.lat / z.cell)::integer, c.kind, c.status,
               sum(c.sign), sum(c.sign * c.lon), sum(c.sign * c.lat), sum(c.sign * c.id),
               sum(c.sign * c.casualties_best)
        FROM (
            SELECT r.id, ST_X(r.location) AS lon, ST_Y(r.location) AS lat, r.kind, r.status, r.casualties_best,
                   r.sign
            FROM (
                SELECT o.id, o.location, o.kind, o.status, o.casualties_best, -1 AS sign FROM old_rows AS o
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
    ELSE
        -- Not TRUNCATE: a TRUNCATE that names both tables (as Django's flush does) is still using this one.
        DELETE FROM events_incidentcell;
    END IF;
    RETURN NULL;
END
$function$;
