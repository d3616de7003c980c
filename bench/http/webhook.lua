-- wrk script: POST pre-signed, DISTINCT Stripe events (see events.py).
-- usage: wrk -t2 -c64 -d10s -s webhook.lua http://127.0.0.1:PORT -- <events dir> <path> <threads>
-- Thread k of T sends events k, k+T, k+2T, ...: no two requests carry the same event
-- unless a thread runs out (then it wraps and "wrapped" is reported > 0).

-- report.lua sits beside this script
local here = string.match(debug.getinfo(1, "S").source, "^@(.*/)") or "./"
local report = dofile(here .. "report.lua")

setup = report.setup

local p1, p2, p3
local evts, pis, sigs
local n, i = 0, 0
local path
sent = 0
wrapped = 0

local function read_all(name)
  local f = assert(io.open(name, "rb"))
  local data = f:read("*a")
  f:close()
  return data
end

function init(args)
  local dir = args[1]
  path = args[2] or "/v1/webhooks/stripe"
  local nthreads = tonumber(args[3] or "1")
  local tpl = read_all(dir .. "/template.json")
  local a, b = string.find(tpl, "@@EVT@@", 1, true)
  local c, d = string.find(tpl, "@@PI@@", 1, true)
  p1 = string.sub(tpl, 1, a - 1)
  p2 = string.sub(tpl, b + 1, c - 1)
  p3 = string.sub(tpl, d + 1)
  evts, pis, sigs = {}, {}, {}
  local line_no = 0
  for line in io.lines(dir .. "/events.txt") do
    if line_no % nthreads == tid then
      local e, p, s = string.match(line, "^(%S+) (%S+) (%S+)$")
      n = n + 1
      evts[n], pis[n], sigs[n] = e, p, s
    end
    line_no = line_no + 1
  end
end

function request()
  i = i + 1
  if i > n then
    i = 1
    wrapped = wrapped + 1
  end
  sent = sent + 1
  local body = p1 .. evts[i] .. p2 .. pis[i] .. p3
  return wrk.format("POST", path, {
    ["Content-Type"] = "application/json",
    ["Stripe-Signature"] = sigs[i],
  }, body)
end

function done(summary, latency, requests)
  report.write(summary, latency, { "sent", "wrapped" })
end
