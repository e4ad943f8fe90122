-- A customer's open carts, most recently updated first, in one round trip. Index entries of
-- carts Redis has expired are dropped on the way.
-- KEYS[1] the customer's index; ARGV[1] the cart key prefix, ARGV[2] at most this many
-- Returns {{version, body}, ...}
local ids = redis.call('ZREVRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1)
local found = {}
for _, id in ipairs(ids) do
  local cart = redis.call('HMGET', ARGV[1] .. id, 'version', 'body')
  if cart[1] and cart[2] then
    table.insert(found, cart)
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return found
