-- wrk script: seed 002 inbound, POST /api/v1/<appid>/staffService/message?timestamp=&signature=
-- from a random customer of SB_CUSTOMERS. The signature does not cover the body (seed 002), so one
-- signed query (SB_QUERY, computed by run.ts) serves the whole run, as the reference clients reuse it
-- within a second.
--   SB_PATH   /api/v1/<appid>/staffService/message?timestamp=…&signature=…
--   SB_CUSTOMERS  number of customers (FromUserId c1..cN)
--   SB_DELAY_MS   optional: each connection waits this long before its next request (a fixed offered
--                 rate of about connections × 1000 / SB_DELAY_MS, to compare CPU per message at one rate)
local path = os.getenv("SB_PATH")
local customers = tonumber(os.getenv("SB_CUSTOMERS") or "200")
local pause = tonumber(os.getenv("SB_DELAY_MS") or "0")

if pause > 0 then
  delay = function() return pause end
end

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() + (tonumber(tostring({}):match("0x(%x+)"), 16) or 0) % 100000)
  bad = 0
end

-- A reply other than {"errcode":0,…} (bare Fastify answers the same body) counts as an error.
response = function(status, headers, body)
  if status ~= 200 or not string.find(body, '"errcode":0', 1, true) then bad = bad + 1 end
end

request = function()
  local body = '{"FromUserId":"c' .. math.random(1, customers) .. '","FromUserName":"Customer","MsgType":"text","Content":"hello"}'
  return wrk.format("POST", path, { ["Content-Type"] = "application/json" }, body)
end

done = function(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  local refused = 0
  for _, t in ipairs(threads) do refused = refused + (t:get("bad") or 0) end
  io.write(string.format(
    "RESULT requests=%d seconds=%.2f rps=%.1f p50_ms=%.3f p99_ms=%.3f err=%d\n",
    summary.requests, secs, summary.requests / secs, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.connect + e.read + e.write + e.status + e.timeout + refused))
end
