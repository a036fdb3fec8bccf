-- wrk script: POST /v1/check (and the same request against nginx, the floor).
--
--   wrk -t T -c C -d SECS --latency -s check.lua URL/v1/check -- TOKEN NIKS [PROGRAM] [PERIOD]
--
-- NIKS: a file of NIKs, one a line (payable persons). Each thread walks the
-- list from its own offset, one NIK per request. done() prints one RESULT
-- line with p99.9 (wrk --latency itself stops at p99).

local threads = {}

function setup(thread)
    thread:set("tid", #threads)
    table.insert(threads, thread)
end

local niks = {}
local next_i = 1
local headers
local program, period

function init(args)
    local token = assert(args[1], "token")
    local file = assert(io.open(assert(args[2], "NIK list"), "r"))
    for line in file:lines() do
        niks[#niks + 1] = line
    end
    file:close()
    assert(#niks > 0, "the NIK list is empty")
    program = args[3] or "PBI_JK"
    period = args[4] or "2026-12"
    headers = {
        ["Authorization"] = "Bearer " .. token,
        ["Content-Type"] = "application/json",
    }
    -- Threads start far apart in the list.
    next_i = (tid * 7919) % #niks + 1
end

function request()
    local nik = niks[next_i]
    next_i = next_i % #niks + 1
    local body = '{"nik":"' .. nik .. '","program":"' .. program .. '","period":"' .. period .. '"}'
    return wrk.format("POST", nil, headers, body)
end

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "RESULT requests=%d secs=%.3f rps=%.0f p50_us=%d p75_us=%d p90_us=%d p99_us=%d p999_us=%d max_us=%d mean_us=%.0f non2xx=%d connect=%d read=%d write=%d timeout=%d\n",
        summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
        latency:percentile(50), latency:percentile(75), latency:percentile(90),
        latency:percentile(99), latency:percentile(99.9), latency.max, latency.mean,
        e.status, e.connect, e.read, e.write, e.timeout))
end
