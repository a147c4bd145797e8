-- The OSB lifecycle, one cycle after another on each connection:
--   PUT instance (201) -> PUT binding (201) -> DELETE binding (200) -> DELETE instance (200)
-- Ids are unique per cycle (run tag, thread number, counter), so no cycle ever meets
-- another one's state. Run with as many wrk threads as connections (-t N -c N): a
-- thread's Lua state then drives exactly one connection, strictly in order.
--
-- wrk calls request() once on the first thread's state to inspect the request before
-- the run starts: so request() only builds the current step, and response() advances.
--
-- Script arguments: <run tag> <service_id> <plan_id>.
-- Environment: BENCH_OUT = file the main state writes the JSON summary to.

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clock_id, bench_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local timespec = ffi.new("bench_timespec")

local function now_us()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
  return tonumber(timespec.tv_sec) * 1000000 + tonumber(timespec.tv_nsec) / 1000
end

local threads = {}
local counter = 1

function setup(thread)
  thread:set("number", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local STEPS = {"provision", "bind", "unbind", "deprovision"}
local EXPECTED = {provision = 201, bind = 201, unbind = 200, deprovision = 200}

local tag, service_id, plan_id, query
local step, cycle, started, failed = 1, 0, 0, false
local instance_path, binding_path
cycles, errors, latencies, unexpected = 0, 0, {}, ""

function init(args)
  tag, service_id, plan_id = args[1], args[2], args[3]
  query = "?service_id=" .. service_id .. "&plan_id=" .. plan_id
  wrk.headers["Authorization"] = "Basic YnJva2VyOmJyb2tlcg=="
  wrk.headers["X-Broker-API-Version"] = "2.17"
  wrk.headers["Content-Type"] = "application/json"
end

local function start_cycle()
  cycle = cycle + 1
  local id = string.format("%s-%d-%d", tag, number, cycle)
  instance_path = "/v2/service_instances/bench-i-" .. id
  binding_path = instance_path .. "/service_bindings/bench-b-" .. id
  failed = false
  started = now_us()
end

function request()
  local name = STEPS[step]
  if name == "provision" then
    start_cycle()
    return wrk.format("PUT", instance_path, nil, string.format(
      '{"service_id":"%s","plan_id":"%s","organization_guid":"bench-org","space_guid":"bench-space"}',
      service_id, plan_id))
  elseif name == "bind" then
    return wrk.format("PUT", binding_path, nil, string.format(
      '{"service_id":"%s","plan_id":"%s"}', service_id, plan_id))
  elseif name == "unbind" then
    return wrk.format("DELETE", binding_path .. query, nil, nil)
  end
  return wrk.format("DELETE", instance_path .. query, nil, nil)
end

function response(status, headers, body)
  local name = STEPS[step]
  if status ~= EXPECTED[name] then
    errors = errors + 1
    failed = true
    if #unexpected < 400 then
      unexpected = unexpected .. string.format("%s -> %d %s\n", name, status, string.sub(body or "", 1, 120))
    end
  end
  if name == "deprovision" and not failed then
    cycles = cycles + 1
    latencies[cycles] = now_us() - started
  end
  step = step % 4 + 1
end

local function json_escape(text)
  return (text:gsub('[%c"\\]', function(char)
    return string.format("\\u%04x", string.byte(char))
  end))
end

function done(summary, latency, requests)
  local out = assert(io.open(os.getenv("BENCH_OUT"), "w"))
  local all, total_cycles, total_errors, problems = {}, 0, 0, ""
  for _, thread in ipairs(threads) do
    total_cycles = total_cycles + thread:get("cycles")
    total_errors = total_errors + thread:get("errors")
    problems = problems .. thread:get("unexpected")
    for _, value in ipairs(thread:get("latencies")) do
      all[#all + 1] = string.format("%.0f", value)
    end
  end
  out:write(string.format(
    '{"duration_us":%d,"requests":%d,"bytes":%d,"socket_errors":%d,"status_errors":%d,' ..
    '"cycles":%d,"cycle_errors":%d,"problems":"%s","request_latency_us":{"p50":%d,"p99":%d,"max":%d},' ..
    '"cycle_latency_us":[%s]}',
    summary.duration, summary.requests, summary.bytes,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, total_cycles, total_errors, json_escape(problems),
    latency:percentile(50), latency:percentile(99), latency.max, table.concat(all, ",")))
  out:close()
end
