-- Tests only (feature test-util). ARGV: key prefix, ms. Makes `ms` pass for every key under
-- the prefix: its TTL shrinks by `ms`, and a key whose TTL runs out is deleted, as Redis
-- would have expired it. Keys without a TTL are left alone.
local pattern = string.gsub(ARGV[1], '([%*%?%[%]\\])', '\\%1') .. '*'
local by = tonumber(ARGV[2])
local cursor = '0'
repeat
  local page = redis.call('SCAN', cursor, 'MATCH', pattern, 'COUNT', 1000)
  cursor = page[1]
  for _, key in ipairs(page[2]) do
    local ttl = redis.call('PTTL', key)
    if ttl > 0 then
      if ttl > by then
        redis.call('PEXPIRE', key, string.format('%d', ttl - by))
      else
        redis.call('DEL', key)
      end
    end
  end
until cursor == '0'
return 1
