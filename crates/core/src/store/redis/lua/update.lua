-- KEYS: session. ARGV: prefix, id, expected version, data, exp, idle, sub, has_sid, sid, now_ms.
-- Returns the new version, or 0 on conflict.
local key, prefix, id = KEYS[1], ARGV[1], ARGV[2]
local cur = redis.call('HMGET', key, 'v', 'ls')
if not cur[1] or not cur[2] or cur[1] ~= ARGV[3] then return 0 end
local deadline = math.min(tonumber(ARGV[5]), tonumber(cur[2]) + tonumber(ARGV[6]))
local ttl = deadline * 1000 - tonumber(ARGV[10])
unindex(prefix, key, id)
if ttl <= 0 then
  redis.call('DEL', key)
  return 0
end
local version = redis.call('HINCRBY', key, 'v', 1)
redis.call('HSET', key, 'd', ARGV[4], 'exp', ARGV[5], 'idle', ARGV[6], 'sub', ARGV[7])
if ARGV[8] == '1' then
  redis.call('HSET', key, 'sid', ARGV[9])
else
  redis.call('HDEL', key, 'sid')
end
redis.call('PEXPIRE', key, ms(ttl))
index(prefix, prefix .. 'sub:' .. ARGV[7], id, ttl)
if ARGV[8] == '1' then index(prefix, prefix .. 'sid:' .. ARGV[9], id, ttl) end
return version
