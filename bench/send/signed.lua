-- wrk script: POST /admin/message/send signed the way Wildfire's SDK signs
-- (headers nonce, timestamp in ms, sign = sha1(nonce|secret|timestamp) in lowercase hex).
-- Every request gets a fresh (nonce, timestamp) pair, so none is refused as a replay.
--   SB_SECRET  admin secret
--   SB_MODE    single: u1 -> random u2..uSB_USERS;  group: u1 -> random <prefix>1..<prefix>SB_GROUPS
--   SB_GROUP_PREFIX  group id prefix (default g)
--   SB_USERS, SB_GROUPS
--   SB_DELAY_MS  optional: a pause before each request of a connection (a fixed offered rate)
local bit = require("bit")
local ffi = require("ffi")
local band, bor, bxor, bnot, lshift, rshift, rol, tobit, tohex =
  bit.band, bit.bor, bit.bxor, bit.bnot, bit.lshift, bit.rshift, bit.rol, bit.tobit, bit.tohex

ffi.cdef [[
  typedef struct { long tv_sec; long tv_usec; } sb_timeval;
  int gettimeofday(sb_timeval *tv, void *tz);
]]
local tv = ffi.new("sb_timeval")
local function now_ms()
  ffi.C.gettimeofday(tv, nil)
  return tonumber(tv.tv_sec) * 1000 + math.floor(tonumber(tv.tv_usec) / 1000)
end

-- SHA-1 (FIPS 180-4) for short messages (< 2^29 bytes).
local w = {}
local function sha1(msg)
  local h0, h1, h2, h3, h4 = tobit(0x67452301), tobit(0xEFCDAB89), tobit(0x98BADCFE), tobit(0x10325476), tobit(0xC3D2E1F0)
  local ml = #msg
  local bits = ml * 8
  msg = msg .. "\128" .. string.rep("\0", (55 - ml) % 64) .. "\0\0\0\0" ..
    string.char(band(rshift(bits, 24), 255), band(rshift(bits, 16), 255), band(rshift(bits, 8), 255), band(bits, 255))
  for chunk = 1, #msg, 64 do
    for i = 0, 15 do
      local a, b, c, d = msg:byte(chunk + i * 4, chunk + i * 4 + 3)
      w[i] = bor(lshift(a, 24), lshift(b, 16), lshift(c, 8), d)
    end
    for i = 16, 79 do w[i] = rol(bxor(w[i - 3], w[i - 8], w[i - 14], w[i - 16]), 1) end
    local a, b, c, d, e = h0, h1, h2, h3, h4
    for i = 0, 79 do
      local f, k
      if i < 20 then f = bor(band(b, c), band(bnot(b), d)); k = 0x5A827999
      elseif i < 40 then f = bxor(b, c, d); k = 0x6ED9EBA1
      elseif i < 60 then f = bor(band(b, c), band(b, d), band(c, d)); k = 0x8F1BBCDC
      else f = bxor(b, c, d); k = 0xCA62C1D6 end
      local t = tobit(rol(a, 5) + f + e + k + w[i])
      e = d; d = c; c = rol(b, 30); b = a; a = t
    end
    h0 = tobit(h0 + a); h1 = tobit(h1 + b); h2 = tobit(h2 + c); h3 = tobit(h3 + d); h4 = tobit(h4 + e)
  end
  return tohex(h0) .. tohex(h1) .. tohex(h2) .. tohex(h3) .. tohex(h4)
end
assert(sha1("76616|123456|1558350862502") == "b98f9b0717f59febccf1440067a7f50d9b31bdde", "sha1 self-test failed")

local secret = os.getenv("SB_SECRET") or "bench-secret"
local mode = os.getenv("SB_MODE") or "single"
local users = tonumber(os.getenv("SB_USERS") or "1000")
local groups = tonumber(os.getenv("SB_GROUPS") or "20")
local gprefix = os.getenv("SB_GROUP_PREFIX") or "g"
-- SB_DELAY_MS (optional): each connection waits this long before its next request (a fixed offered rate).
local pause = tonumber(os.getenv("SB_DELAY_MS") or "0")
if pause > 0 then
  delay = function() return pause end
end
local nonce = 0

function init(args)
  math.randomseed(os.time() + (tonumber(tostring({}):match("0x(%x+)"), 16) or 0) % 100000)
  nonce = math.random(1, 1000000000)
end

request = function()
  nonce = nonce + 1
  local n = tostring(nonce)
  local ts = string.format("%d", now_ms())
  local conv
  if mode == "group" then
    conv = '{"type":1,"target":"' .. gprefix .. math.random(1, groups) .. '","line":0}'
  else
    conv = '{"type":0,"target":"u' .. math.random(2, users) .. '","line":0}'
  end
  local body = '{"sender":"u1","conv":' .. conv ..
    ',"payload":{"type":1,"searchableContent":"hello","persistFlag":3}}'
  local headers = {
    ["Content-Type"] = "application/json; charset=utf-8",
    ["nonce"] = n, ["timestamp"] = ts, ["sign"] = sha1(n .. "|" .. secret .. "|" .. ts),
  }
  return wrk.format("POST", "/admin/message/send", headers, body)
end

done = function(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d seconds=%.2f rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f " ..
    "err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d\n",
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000,
    e.connect, e.read, e.write, e.status, e.timeout))
end
