"""GCRA shared by every instance through Redis: one atomic Lua script per request (SPEC 8, notes D).

The script reads each policy's TAT, decides on all of them at once with Redis's own
clock (`TIME`: instances need not agree on theirs), takes from every policy only when
all allow, and returns each TAT - now in microseconds: the same `ahead` numbers the
in-process table gives, so both report through `gcra.Report`. A key expires when its
TAT has passed (nothing is kept for an idle client). TATs are written as integers:
Lua's numbers are doubles, exact for microsecond timestamps (below 2^53) but printed
with 14 digits by `tostring`.
"""

from __future__ import annotations

from typing import Any, Final

from payedge_server.ratelimit.gcra import Policy, Report

PREFIX: Final = "payedge:rl:"

SCRIPT: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local n = #KEYS
local aheads = {}
local allowed = 1
for i = 1, n do
  local tat = tonumber(redis.call('GET', KEYS[i]) or now) or now
  local ahead = tat - now
  if ahead < 0 then ahead = 0 end
  aheads[i] = ahead
  if ahead > tonumber(ARGV[2 * i]) then allowed = 0 end
end
if allowed == 1 then
  for i = 1, n do
    local ahead = aheads[i] + tonumber(ARGV[2 * i - 1])
    aheads[i] = ahead
    redis.call('SET', KEYS[i], string.format('%.0f', now + ahead), 'PX', math.ceil(ahead / 1000) + 1)
  end
end
local out = {allowed}
for i = 1, n do out[i + 1] = aheads[i] end
return out
"""


def redis_args(policies: tuple[Policy, ...]) -> list[int]:
    """ARGV of the script: interval then tolerance of each policy, in KEYS order."""
    args: list[int] = []
    for policy in policies:
        args.extend((policy.interval, policy.tolerance))
    return args


def report_of(reply: Any, policies: tuple[Policy, ...]) -> Report:
    """The script's reply (`[allowed, ahead...]`) as a Report."""
    values = [int(v) for v in reply]
    return Report(values[0] == 1, policies, tuple(values[1:]))
