-- wrk script: replays a plan written by loadtests/wrk.py (the plan file is the script argument).
-- Requests go round-robin over the plan's paths and bearer tokens; a plan with bodies sends token i
-- with body i and a fresh Idempotency-Key each time. Run with one wrk thread (-t 1): the counter that
-- makes the keys unique is per thread. Non-2xx answers are counted by status for the report.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  plan = dofile(args[1])
  sent = 0
  statuses = {}
end

function request()
  sent = sent + 1
  local headers = {}
  local body = nil
  local count = #plan.tokens
  if count > 0 then
    local i = (sent - 1) % count + 1
    headers["Authorization"] = "Bearer " .. plan.tokens[i]
    if plan.bodies ~= nil then
      body = plan.bodies[i]
      headers["Content-Type"] = "application/json"
      headers["Idempotency-Key"] = plan.key_prefix .. sent
    end
  end
  return wrk.format(plan.method, plan.paths[(sent - 1) % #plan.paths + 1], headers, body)
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    local code = tostring(status)
    statuses[code] = (statuses[code] or 0) + 1
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRK_RESULT duration_us=%d requests=%d p50_us=%d p99_us=%d socket_errors=%d\n",
    summary.duration, summary.requests, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout))
  for _, thread in ipairs(threads) do
    for code, count in pairs(thread:get("statuses")) do
      io.write(string.format("WRK_STATUS %s %d\n", code, count))
    end
  end
end
