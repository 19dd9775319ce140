-- wrk script of the delivery benchmark: POSTs the body crmd sent, with
-- its headers, over wrk's keep-alive connections, and prints one JSON
-- line at the end for bench/delivery/peers.py.
--
--   wrk ... -s post.lua URL -- BODY_FILE [HEADER]...
function init(args)
   local f = assert(io.open(args[1], "rb"))
   wrk.body = f:read("*a")
   f:close()
   for i = 2, #args do
      local name, value = args[i]:match("^([^:]+):%s*(.*)$")
      wrk.headers[name] = value
   end
   wrk.method = "POST"
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format('WRK_JSON {"requests": %d, "duration_us": %d, ' ..
      '"bytes": %d, "connect_errors": %d, "read_errors": %d, ' ..
      '"write_errors": %d, "status_errors": %d, "timeouts": %d, ' ..
      '"latency_p50_us": %d, "latency_p99_us": %d}\n',
      summary.requests, summary.duration, summary.bytes, e.connect,
      e.read, e.write, e.status, e.timeout, latency:percentile(50),
      latency:percentile(99)))
end
