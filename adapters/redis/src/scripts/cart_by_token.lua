-- The cart a guest token points to, in one round trip.
-- KEYS[1] the token index; ARGV[1] the cart key prefix
-- Returns nil, or {version, body} (both nil if the cart itself has gone).
local id = redis.call('GET', KEYS[1])
if not id then return false end
return redis.call('HMGET', ARGV[1] .. id, 'version', 'body')
