-- KEYS: session. ARGV: prefix, id, now (s), now_ms. Writes `ls` and the TTLs only.
local key, prefix, id = KEYS[1], ARGV[1], ARGV[2]
local f = redis.call('HMGET', key, 'ls', 'exp', 'idle', 'sub', 'sid')
if not f[1] or not f[2] or not f[3] then return 0 end
local ls = math.max(tonumber(f[1]), tonumber(ARGV[3]))
local deadline = math.min(tonumber(f[2]), ls + tonumber(f[3]))
local ttl = deadline * 1000 - tonumber(ARGV[4])
if ttl <= 0 then
  unindex(prefix, key, id)
  redis.call('DEL', key)
  return 0
end
redis.call('HSET', key, 'ls', ms(ls))
redis.call('PEXPIRE', key, ms(ttl))
if f[4] then extend(prefix .. 'sub:' .. f[4], ttl) end
if f[5] then extend(prefix .. 'sid:' .. f[5], ttl) end
return 1
