-- GCRA (generic cell rate algorithm): one request of one client, on the server's clock.
-- KEYS[1] the client's theoretical arrival time (TAT, microseconds)
-- ARGV[1] emission interval (microseconds per request), ARGV[2] burst (requests at once)
-- Returns {1, 0} allowed | {0, wait in microseconds} limited.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - interval * burst
if now < allow_at then
  return {0, allow_at - now}
end
-- Integers formatted explicitly: Lua would print 16-digit numbers in exponent notation.
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX',
  string.format('%d', math.ceil((new_tat - now) / 1000)))
return {1, 0}
