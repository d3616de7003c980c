-- wrk script: checkout = POST /v1/payments (sandbox, pm_sandbox_ok) then POST /v1/payments/{id}/confirm.
-- usage: wrk ... -s checkout.lua URL -- <api key> <use idempotency keys: 1|0> <run id> [<create body JSON>]
-- Idempotency keys are "<run id>-<thread>-<n>": unique across wrk runs against one server.
-- Each thread keeps a queue of created payments; the next request a connection sends
-- confirms one of them when there is one, else creates a new payment.

-- report.lua sits beside this script
local here = string.match(debug.getinfo(1, "S").source, "^@(.*/)") or "./"
local report = dofile(here .. "report.lua")

setup = report.setup

local pending, head, tail = {}, 1, 0
local auth, use_keys, run_id
local seq = 0
local create_body = '{"amount":1250,"currency":"eur","gateway":"sandbox","payment_method":"pm_sandbox_ok"}'
created, succeeded, failed, other = 0, 0, 0, 0

function init(args)
  auth = "Bearer " .. args[1]
  use_keys = args[2] ~= "0"
  run_id = args[3] or "run"
  create_body = args[4] or create_body  -- bench/ledger.py: payee, commission_type, customer
end

local function headers()
  local h = { ["Authorization"] = auth, ["Content-Type"] = "application/json" }
  if use_keys then
    seq = seq + 1
    h["Idempotency-Key"] = string.format("%s-%d-%d", run_id, tid, seq)
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
    if failed <= 3 then
      io.write(string.format("BENCH_NOTE checkout answered %d: %s\n", status, string.sub(body, 1, 300)))
    end
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
  report.write(summary, latency, { "created", "succeeded", "failed", "other" })
end
