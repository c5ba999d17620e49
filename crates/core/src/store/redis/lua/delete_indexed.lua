-- KEYS: index set. ARGV: prefix. Deletes every session in the set; returns how many existed.
local set, prefix = KEYS[1], ARGV[1]
local n = 0
for _, id in ipairs(redis.call('SMEMBERS', set)) do
  local key = prefix .. 's:' .. id
  unindex(prefix, key, id)
  n = n + redis.call('DEL', key)
  redis.call('SREM', set, id)
end
return n
