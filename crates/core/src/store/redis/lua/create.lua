-- KEYS: session. ARGV: prefix, id, data, last_seen, exp, idle, ttl_ms, sub, has_sid, sid.
local key, prefix, id = KEYS[1], ARGV[1], ARGV[2]
unindex(prefix, key, id)
redis.call('DEL', key)
local ttl = tonumber(ARGV[7])
if ttl <= 0 then return 0 end
redis.call('HSET', key, 'd', ARGV[3], 'v', '1', 'ls', ARGV[4], 'exp', ARGV[5], 'idle', ARGV[6], 'sub', ARGV[8])
if ARGV[9] == '1' then redis.call('HSET', key, 'sid', ARGV[10]) end
redis.call('PEXPIRE', key, ms(ttl))
index(prefix, prefix .. 'sub:' .. ARGV[8], id, ttl)
if ARGV[9] == '1' then index(prefix, prefix .. 'sid:' .. ARGV[10], id, ttl) end
return 1
