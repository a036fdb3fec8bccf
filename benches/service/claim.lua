-- wrk script: POST /v1/claim with a unique request id and a distinct
-- (person, period) pair per request, so that every claim can really pay.
--
--   wrk -t T -c C -d SECS --latency -s claim.lua URL/v1/claim -- TOKEN NIKS T TAG [PROGRAM] [PERIODS]
--
-- NIKS: payable persons of PROGRAM (default PBI_JK), one NIK a line.
-- PERIODS: the open periods to claim, comma-separated (default 2026-12).
-- T: wrk's thread count. Thread t of T (0-based) takes the list's lines
-- t+1, t+1+T, ...; its k-th request claims its share's line k mod (the
-- share's length) for period k div (the share's length), with request id
-- TAG-t-k. So no two requests of a run, on any thread or connection, share
-- a request id or a (person, period) until the list runs out (run.sh
-- checks afterwards that every answer was a payment). response() counts
-- the outcomes; done() prints them with the latency in one RESULT line.

local threads = {}

function setup(thread)
    thread:set("tid", #threads)
    table.insert(threads, thread)
end

local mine = {}
local k = 0
local headers
local tag, program
local periods = {}
paid, refused, other = 0, 0, 0

function init(args)
    local token = assert(args[1], "token")
    local nthreads = assert(tonumber(args[3]), "thread count")
    tag = assert(args[4], "request id tag")
    program = args[5] or "PBI_JK"
    for p in string.gmatch(args[6] or "2026-12", "[^,]+") do
        periods[#periods + 1] = p
    end
    local file = assert(io.open(assert(args[2], "NIK list"), "r"))
    local n = 0
    for line in file:lines() do
        if n % nthreads == tid then
            mine[#mine + 1] = line
        end
        n = n + 1
    end
    file:close()
    assert(#mine > 0, "this thread's share of the NIK list is empty")
    headers = {
        ["Authorization"] = "Bearer " .. token,
        ["Content-Type"] = "application/json",
    }
end

function request()
    local nik = mine[k % #mine + 1]
    local period = periods[math.floor(k / #mine) % #periods + 1]
    local body = '{"request_id":"' .. tag .. '-' .. tid .. '-' .. k .. '","nik":"' .. nik
        .. '","program":"' .. program .. '","period":"' .. period
        .. '","meta":"Kantor Pos 40111; Rp 42000"}'
    k = k + 1
    return wrk.format("POST", nil, headers, body)
end

function response(status, headers, body)
    if status == 200 then
        if string.find(body, '"outcome":"paid"', 1, true) then
            paid = paid + 1
        else
            refused = refused + 1
        end
    else
        other = other + 1
    end
end

function done(summary, latency, requests)
    local p, r, o = 0, 0, 0
    for _, t in ipairs(threads) do
        p = p + t:get("paid")
        r = r + t:get("refused")
        o = o + t:get("other")
    end
    local e = summary.errors
    io.write(string.format(
        "RESULT requests=%d secs=%.3f rps=%.0f p50_us=%d p75_us=%d p90_us=%d p99_us=%d p999_us=%d max_us=%d mean_us=%.0f non2xx=%d connect=%d read=%d write=%d timeout=%d paid=%d refused=%d other=%d\n",
        summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
        latency:percentile(50), latency:percentile(75), latency:percentile(90),
        latency:percentile(99), latency:percentile(99.9), latency.max, latency.mean,
        e.status, e.connect, e.read, e.write, e.timeout, p, r, o))
end
