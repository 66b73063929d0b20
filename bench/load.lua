-- wrk script for bench/load.sh: each connection is a "user" going round the requests one page view of
-- the dashboard makes (the map page, then the API calls its modules send), with no think time.
-- Prints one JSON line with latency percentiles and the count of every status, for load.sh to report.

local paths = {}
counts = {}  -- a global: done() reads it from every thread with thread:get
local next_path = 1
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  -- args: a year "YYYY" for the date window, then an incident id for the detail view.
  local year, incident = args[1] or "2021", args[2] or "1"
  local range = "start=" .. year .. "-01-01&end=" .. year .. "-12-31"
  paths = {
    "/",
    "/api/v1/kinds/",
    "/api/v1/bases/",
    "/api/v1/actors/",
    "/api/v1/deployments/",
    "/api/v1/timeline/?bucket=week&" .. range,
    "/api/v1/incidents/clusters/?zoom=5&" .. range,
    "/api/v1/incidents/?limit=2500&" .. range,
    "/api/v1/incidents/?limit=100&ordering=occurred_on&" .. range,
    "/api/v1/links/?page_size=1000&" .. range,
    "/api/v1/incidents/" .. incident .. "/",
  }
  -- Start each connection at a different place so that the mix is even from the first second.
  next_path = math.random(#paths)
end

function request()
  local path = paths[next_path]
  next_path = next_path % #paths + 1
  return wrk.format("GET", path, { ["X-Forwarded-Proto"] = "https", ["Accept"] = "application/json, text/html" })
end

function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
end

function done(summary, latency, requests)
  local statuses = {}
  for _, thread in ipairs(threads) do
    local c = thread:get("counts")
    for status, n in pairs(c) do
      statuses[tostring(status)] = (statuses[tostring(status)] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(statuses) do
    table.insert(parts, string.format('"%s": %d', status, n))
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_s": %.3f, "bytes": %d, "p50_ms": %.2f, "p90_ms": %.2f, "p95_ms": %.2f, ' ..
    '"p99_ms": %.2f, "max_ms": %.2f, "socket_errors": %d, "statuses": {%s}}\n',
    summary.requests, summary.duration / 1e6, summary.bytes,
    latency:percentile(50) / 1e3, latency:percentile(90) / 1e3, latency:percentile(95) / 1e3,
    latency:percentile(99) / 1e3, latency.max / 1e3,
    e.connect + e.read + e.write + e.timeout, table.concat(parts, ", ")))
end
