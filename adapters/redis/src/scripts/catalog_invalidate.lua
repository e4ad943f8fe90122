-- Invalidates catalog cache entries after a write: bumps the generation first (so fills of
-- values loaded before the write are refused), then deletes the entries.
-- KEYS[1] the catalog generation, KEYS[2..] the entries; ARGV[1] generation TTL (ms)
-- The generation may expire (it only has to outlive the fills in flight): a reader that
-- saw it before expiry then finds 0 and is refused, which is safe.
redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
if #KEYS > 1 then
  redis.call('DEL', unpack(KEYS, 2))
end
return 1
