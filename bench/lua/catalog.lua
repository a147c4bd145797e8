-- GET /v2/catalog with OSB credentials, as fast as the connection allows.
-- Environment: BENCH_OUT = file the main state writes the JSON summary to.

wrk.method = "GET"
wrk.path = "/v2/catalog"
wrk.headers["Authorization"] = "Basic YnJva2VyOmJyb2tlcg=="
wrk.headers["X-Broker-API-Version"] = "2.17"

function done(summary, latency, requests)
  local out = assert(io.open(os.getenv("BENCH_OUT"), "w"))
  out:write(string.format(
    '{"duration_us":%d,"requests":%d,"bytes":%d,"socket_errors":%d,"status_errors":%d,' ..
    '"request_latency_us":{"p50":%d,"p99":%d,"max":%d}}',
    summary.duration, summary.requests, summary.bytes,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, latency:percentile(50), latency:percentile(99), latency.max))
  out:close()
end
