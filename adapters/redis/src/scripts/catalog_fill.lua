-- Fills a catalog cache entry, unless a write invalidated the catalog since the reader
-- looked (the reader's value may predate that write).
-- KEYS[1] the entry, KEYS[2] the catalog generation
-- ARGV[1] the generation the reader saw before loading, ARGV[2] the value, ARGV[3] TTL (ms)
-- Returns 1 when stored, 0 when a write got in between.
if (tonumber(redis.call('GET', KEYS[2])) or 0) ~= tonumber(ARGV[1]) then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
