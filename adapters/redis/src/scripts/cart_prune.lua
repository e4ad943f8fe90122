-- Drops index entries whose cart Redis has expired (checked here, atomically, so a cart
-- saved in the meantime keeps its entry).
-- KEYS[1] the index; ARGV[1] the cart key prefix, ARGV[2..] candidate cart ids
local dropped = 0
for i = 2, #ARGV do
  if redis.call('EXISTS', ARGV[1] .. ARGV[i]) == 0 then
    dropped = dropped + redis.call('ZREM', KEYS[1], ARGV[i])
  end
end
return dropped
