-- KEYS: session. ARGV: prefix, id.
local key, prefix, id = KEYS[1], ARGV[1], ARGV[2]
unindex(prefix, key, id)
return redis.call('DEL', key)
