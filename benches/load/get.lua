-- Plain GETs (product detail, list, search, and the static baseline): wrk's own
-- latency histogram (measured in C) and its status counter; no response() callback, so
-- the client costs the same for the shop and for the baseline.
--
-- wrk counts a status of 400 or more as a status error: those are reported as non-2xx
-- and left out of the throughput (no 1xx/3xx can occur: no If-None-Match, no redirects).

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("LOADWRK requests=%d duration_us=%d sockerr=%d unmatched=0\n",
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout))
  io.write(string.format("LOADRESULT kind=get ok=%d bad=%d p50_us=%.0f p99_us=%.0f duration_us=%d\n",
    summary.requests - e.status, e.status, latency:percentile(50), latency:percentile(99),
    summary.duration))
end
