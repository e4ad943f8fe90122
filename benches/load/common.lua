-- Shared by the stateful wrk scripts (add_to_cart.lua, checkout.lua): request ids,
-- per-kind counters and latencies, and the report printed by done().
--
-- wrk gives Lua no connection identity, so every request carries an X-Request-Id the
-- shop echoes; response() finds the request (its kind, its cart, its send time) by it.
-- Latency here is measured in Lua (CLOCK_MONOTONIC through LuaJIT's FFI), from building
-- the request to handling its response, per kind of request.
--
-- Statuses: a response counts as ok only with the status its kind expects (201 for a new
-- cart or an order, 200 for a line); anything else is counted as "bad" per kind, status
-- and problem code, and never enters the throughput.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } loadkit_timespec;
int clock_gettime(int clk_id, loadkit_timespec *tp);
]]
local timespec = ffi.new("loadkit_timespec")
local CLOCK_MONOTONIC = 1

function now_us()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
  return tonumber(timespec.tv_sec) * 1e6 + tonumber(timespec.tv_nsec) / 1e3
end

-- The expected status of each kind of request.
EXPECTED = { create = 201, add = 200, checkout = 201, order = 201 }

-- Main state: the threads, to read their counters in done().
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

-- Thread state (tid is set by setup through thread:set). Only flat tables: wrk's
-- thread:get crashes on nested ones.
KINDS = { "create", "add", "checkout", "order" }
ok = {}         -- kind -> n
bad = {}        -- kind -> n
for _, kind in ipairs(KINDS) do
  ok[kind] = 0
  bad[kind] = 0
  _G["lat_" .. kind] = {} -- latencies in µs of the ok ones
end
errors = {}     -- "kind status code" -> n
unmatched = 0   -- responses without a known request id
local inflight = {}
local seq = 0
local run_id = os.getenv("LOAD_RUN_ID") or "run"

-- Builds a request of `kind` and remembers it (with `state`) under a fresh request id.
function send(kind, state, method, path, headers, body)
  seq = seq + 1
  local id = string.format("lt-%s-%d-%d", run_id, tid or 0, seq)
  headers["X-Request-Id"] = id
  inflight[id] = { kind = kind, state = state, t0 = now_us() }
  return wrk.format(method, path, headers, body), id
end

-- Records the outcome of a response; returns the request's kind, state and send time
-- (nil kind when the response cannot be matched) and whether it was ok.
function receive(status, headers, body)
  local id = headers["x-request-id"] or headers["X-Request-Id"]
  local r = id and inflight[id]
  if not r then
    unmatched = unmatched + 1
    return nil, nil, nil, false
  end
  inflight[id] = nil
  local good = status == EXPECTED[r.kind]
  if good then
    record_ok(r.kind, now_us() - r.t0)
  else
    bad[r.kind] = bad[r.kind] + 1
    local code = body and string.match(body, '"code"%s*:%s*"([^"]+)"') or "-"
    local key = string.format("%s %d %s", r.kind, status, code)
    errors[key] = (errors[key] or 0) + 1
  end
  return r.kind, r.state, r.t0, good
end

-- Records a derived measurement (the whole order flow) as ok with latency `us`.
function record_ok(kind, us)
  ok[kind] = ok[kind] + 1
  local lat = _G["lat_" .. kind]
  lat[#lat + 1] = us
end

function json_headers(extra)
  local h = { ["Content-Type"] = "application/json" }
  for k, v in pairs(extra or {}) do h[k] = v end
  return h
end

function split(s, sep)
  local out = {}
  for part in string.gmatch(s or "", "([^" .. sep .. "]+)") do out[#out + 1] = part end
  return out
end

local function percentile(sorted, p)
  if #sorted == 0 then return 0 end
  local i = math.ceil(p / 100 * #sorted)
  if i < 1 then i = 1 end
  return sorted[i]
end

-- Prints one LOADRESULT line per kind and one LOADERR line per kind/status/code, plus
-- wrk's own totals (socket errors) as LOADWRK.
function done(summary, latency, requests)
  local merged, errs, lost = {}, {}, 0
  for _, kind in ipairs(KINDS) do merged[kind] = { ok = 0, bad = 0, lat = {} } end
  for _, thread in ipairs(threads) do
    local oks, bads = thread:get("ok") or {}, thread:get("bad") or {}
    for _, kind in ipairs(KINDS) do
      local m = merged[kind]
      m.ok = m.ok + (oks[kind] or 0)
      m.bad = m.bad + (bads[kind] or 0)
      for _, v in ipairs(thread:get("lat_" .. kind) or {}) do m.lat[#m.lat + 1] = v end
    end
    for key, n in pairs(thread:get("errors") or {}) do errs[key] = (errs[key] or 0) + n end
    lost = lost + (thread:get("unmatched") or 0)
  end
  local e = summary.errors
  io.write(string.format("LOADWRK requests=%d duration_us=%d sockerr=%d unmatched=%d\n",
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, lost))
  for _, kind in ipairs(KINDS) do
    local m = merged[kind]
    table.sort(m.lat)
    io.write(string.format("LOADRESULT kind=%s ok=%d bad=%d p50_us=%.0f p99_us=%.0f duration_us=%d\n",
      kind, m.ok, m.bad, percentile(m.lat, 50), percentile(m.lat, 99), summary.duration))
  end
  for key, n in pairs(errs) do
    io.write(string.format("LOADERR %s count=%d\n", string.gsub(key, " ", ":"), n))
  end
end
