-- Saves a cart with an optimistic version check, and keeps its indexes, atomically.
-- KEYS[1] the cart hash, KEYS[2] the guest token index, KEYS[3] the open-carts sorted set
-- ARGV[1] the version the caller read (0: insert), ARGV[2] the cart JSON (at the new version),
-- ARGV[3] the cart id, ARGV[4] the customer id or '', ARGV[5] '1' when the cart is open,
-- ARGV[6] updated_at (microseconds), ARGV[7] TTL (ms), ARGV[8] the customer index key prefix,
-- ARGV[9] the layout version of the body
-- Returns {1, new version} | {2, 0} id taken | {3, 0} not stored | {4, stored version}
-- conflict | {5, 0} token taken by another cart.
local expected = tonumber(ARGV[1])
local stored = redis.call('HGET', KEYS[1], 'version')
if expected == 0 then
  if stored then return {2, 0} end
else
  if not stored then return {3, 0} end
  if tonumber(stored) ~= expected then return {4, tonumber(stored)} end
end
local owner = redis.call('GET', KEYS[2])
if owner and owner ~= ARGV[3] then return {5, 0} end

local ttl = tonumber(ARGV[7])
local old_customer = redis.call('HGET', KEYS[1], 'customer')
local version = expected + 1
redis.call('HSET', KEYS[1], 'version', version, 'body', ARGV[2], 'customer', ARGV[4], 'format', ARGV[9])
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('SET', KEYS[2], ARGV[3], 'PX', ttl)

if old_customer and old_customer ~= '' and old_customer ~= ARGV[4] then
  redis.call('ZREM', ARGV[8] .. old_customer, ARGV[3])
end
if ARGV[4] ~= '' then
  local index = ARGV[8] .. ARGV[4]
  if ARGV[5] == '1' then
    redis.call('ZADD', index, ARGV[6], ARGV[3])
    -- The index lives as long as its longest-lived cart.
    if redis.call('PTTL', index) < ttl then redis.call('PEXPIRE', index, ttl) end
  else
    redis.call('ZREM', index, ARGV[3])
  end
end
if ARGV[5] == '1' then
  redis.call('ZADD', KEYS[3], ARGV[6], ARGV[3])
  if redis.call('PTTL', KEYS[3]) < ttl then redis.call('PEXPIRE', KEYS[3], ttl) end
else
  redis.call('ZREM', KEYS[3], ARGV[3])
end
return {1, version}
