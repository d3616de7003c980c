-- Shared by webhook.lua and checkout.lua: print wrk's results, plus per-thread counters,
-- as one JSON line "BENCH_JSON {...}" that run.py parses.
local M = {}

-- setup(): number the threads ("tid" in each) and keep them for done()
M.threads = {}
local counter = 0
function M.setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(M.threads, thread)
end

function M.write(summary, latency, counters)
  local e = summary.errors
  local out = string.format(
    '{"requests":%d,"duration_us":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"status_errors":%d,"timeouts":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"max_us":%d,"mean_us":%.1f',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean)
  for _, name in ipairs(counters) do
    local total = 0
    for _, t in ipairs(M.threads) do
      total = total + (t:get(name) or 0)
    end
    out = out .. string.format(',"%s":%d', name, total)
  end
  io.write("BENCH_JSON " .. out .. "}\n")
end

return M
