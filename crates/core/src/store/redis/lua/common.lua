-- Helpers shared by the scripts (prepended to each).
-- Numbers go to Redis as integer strings (`ms`), never in Lua's float notation.
local function ms(x) return string.format('%d', x) end
local function extend(k, ttl)
  local cur = redis.call('PTTL', k)
  if cur == -1 or (cur >= 0 and cur < ttl) then
    redis.call('PEXPIRE', k, ms(ttl))
  end
end
local function index(prefix, k, id, ttl)
  redis.call('SADD', k, id)
  extend(k, ttl)
  local n = redis.call('SCARD', k)
  if n >= 16 and n % 16 == 0 then
    for _, other in ipairs(redis.call('SMEMBERS', k)) do
      if redis.call('EXISTS', prefix .. 's:' .. other) == 0 then
        redis.call('SREM', k, other)
      end
    end
  end
end
local function unindex(prefix, key, id)
  local f = redis.call('HMGET', key, 'sub', 'sid')
  if f[1] then redis.call('SREM', prefix .. 'sub:' .. f[1], id) end
  if f[2] then redis.call('SREM', prefix .. 'sid:' .. f[2], id) end
end
