-- wrk_report.lua: the Lua side of tests/bench/run.py's wrk runs.
--
-- Owns: taking the request headers from the environment (BENCH_HEADERS, "Name: value" lines,
-- so credentials never appear on a command line or in a process list) and printing one
-- machine-readable summary line at the end (no per-response Lua callback: that would slow wrk
-- down and skew the numbers). run.py checks from it that every response had the expected
-- status class (wrk counts statuses >= 400 in errors.status) and the expected size
-- (bytes / requests against the exact size of a pre-checked response).

local raw = os.getenv("BENCH_HEADERS") or ""
for line in string.gmatch(raw, "[^\n]+") do
  local name, value = string.match(line, "^([^:]+):%s*(.*)$")
  if name then
    wrk.headers[name] = value
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "bytes": %d, "duration_us": %d, "connect": %d, "read": %d, ' ..
    '"write": %d, "status": %d, "timeout": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.bytes, summary.duration, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
