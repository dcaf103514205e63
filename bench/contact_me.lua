-- wrk script: ContactMe requests with unique requestIds, round robin over the
-- registered bench devices; counts the answers that say "delivered".
-- Env: DEVICES (per prefix), PREFIXES ("d1x,d2x"), RUN (makes ids unique).
local devices = tonumber(os.getenv("DEVICES") or "500")
local prefixes = {}
for p in string.gmatch(os.getenv("PREFIXES") or "d1x", "[^,]+") do prefixes[#prefixes + 1] = p end
local run = os.getenv("RUN") or tostring(os.time())
local threads = {}
local id = 0

function setup(thread)
  thread:set("tid", #threads)
  threads[#threads + 1] = thread
end

function init(args)
  n, delivered, other = 0, 0, 0
end

function request()
  n = n + 1
  local k = n * 7 + tid
  local device = prefixes[(k % #prefixes) + 1] .. tostring(math.floor(k / #prefixes) % devices + 1)
  local body = '<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" ' ..
    'xmlns:cm="urn:beckon:contact-me:1"><s:Body><cm:ContactMe><cm:deviceId>' .. device ..
    '</cm:deviceId><cm:requestId>w-' .. run .. '-' .. tid .. '-' .. n ..
    '</cm:requestId><cm:server>crm.example.com:8443</cm:server></cm:ContactMe></s:Body></s:Envelope>'
  return wrk.format("POST", "/", {["Content-Type"] = "text/xml; charset=utf-8"}, body)
end

function response(status, headers, body)
  if status == 200 and string.find(body, "<cm:state>delivered</cm:state>", 1, true) then
    delivered = delivered + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local d, o = 0, 0
  for _, t in ipairs(threads) do
    d = d + t:get("delivered")
    o = o + t:get("other")
  end
  local secs = summary.duration / 1e6
  io.write(string.format("wrk: requests=%d delivered=%d not_delivered_or_error=%d socket_errors=%d " ..
    "delivered_per_s=%.0f p50_ms=%.2f p99_ms=%.2f\n", summary.requests, d, o,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    d / secs, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
