-- KEYS: record, index. Removes the record and its index entry.
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], KEYS[1])
return 1
