-- wrk script for bench/contact_me_vs_kamailio.sh: Kamailio's side of
-- ContactMe (bench/kamailio/contact_me.cfg), GET /contact-me?device=&request=
-- round robin over the same bench devices as contact_me.lua; counts the
-- answers that say the NOTIFY was sent.
-- Env: DEVICES (per prefix), PREFIXES ("d1x,d2x"), RUN (makes ids unique).
local devices = tonumber(os.getenv("DEVICES") or "500")
local prefixes = {}
for p in string.gmatch(os.getenv("PREFIXES") or "d1x", "[^,]+") do prefixes[#prefixes + 1] = p end
local run = os.getenv("RUN") or tostring(os.time())
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  threads[#threads + 1] = thread
end

function init(args)
  n, sent, other = 0, 0, 0
end

function request()
  n = n + 1
  local k = n * 7 + tid
  local device = prefixes[(k % #prefixes) + 1] .. tostring(math.floor(k / #prefixes) % devices + 1)
  return wrk.format("GET", "/contact-me?device=" .. device .. "&request=w-" .. run .. "-" .. tid .. "-" .. n)
end

function response(status, headers, body)
  if status == 200 then sent = sent + 1 else other = other + 1 end
end

function done(summary, latency, requests)
  local s, o = 0, 0
  for _, t in ipairs(threads) do
    s = s + t:get("sent")
    o = o + t:get("other")
  end
  local secs = summary.duration / 1e6
  io.write(string.format("wrk: requests=%d delivered=%d not_delivered_or_error=%d socket_errors=%d " ..
    "delivered_per_s=%.0f p50_ms=%.2f p99_ms=%.2f\n", summary.requests, s, o,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    s / secs, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
