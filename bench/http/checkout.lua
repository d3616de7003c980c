-- wrk script: checkout = POST /v1/payments (sandbox, pm_sandbox_ok) then POST /v1/payments/{id}/confirm.
-- usage: wrk ... -s checkout.lua URL -- <api key> <use idempotency keys: 1|0>
-- Each thread keeps a queue of created payments; the next request a connection sends
-- confirms one of them when there is one, else creates a new payment.

local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local pending, head, tail = {}, 1, 0
local auth, use_keys
local seq = 0
local create_body = '{"amount":1250,"currency":"eur","gateway":"sandbox","payment_method":"pm_sandbox_ok"}'
created, succeeded, failed, other = 0, 0, 0, 0

function init(args)
  auth = "Bearer " .. args[1]
  use_keys = args[2] ~= "0"
end

local function headers()
  local h = { ["Authorization"] = auth, ["Content-Type"] = "application/json" }
  if use_keys then
    seq = seq + 1
    h["Idempotency-Key"] = string.format("bench-%d-%d-%d", tid, os.time(), seq)
  end
  return h
end

function request()
  if tail >= head then
    local id = pending[head]
    pending[head] = nil
    head = head + 1
    return wrk.format("POST", "/v1/payments/" .. id .. "/confirm", headers(), "{}")
  end
  return wrk.format("POST", "/v1/payments", headers(), create_body)
end

function response(status, hdrs, body)
  if status ~= 200 and status ~= 201 then
    failed = failed + 1
    return
  end
  local state = string.match(body, '"status"%s*:%s*"([%w_]+)"')
  if state == "succeeded" then
    succeeded = succeeded + 1
  elseif state == "requires_confirmation" or state == "requires_payment_method" then
    local id = string.match(body, '"id"%s*:%s*"([%w_]+)"')
    created = created + 1
    tail = tail + 1
    pending[tail] = id
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local c, s, f, o = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    c = c + (t:get("created") or 0)
    s = s + (t:get("succeeded") or 0)
    f = f + (t:get("failed") or 0)
    o = o + (t:get("other") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"status_errors":%d,"timeouts":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"max_us":%d,"mean_us":%.1f,"created":%d,"succeeded":%d,"failed":%d,"other":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    c, s, f, o))
end
