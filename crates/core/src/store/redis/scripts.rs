//! The Lua scripts: every write that reads first (compare-and-set, touch, delete, leases)
//! is one script, so it is atomic. The scripts are `.lua` files beside this one.

use ::redis::Script;

/// Helpers shared by the scripts (prepended to each).
/// Numbers go to Redis as integer strings (`ms`), never in Lua's float notation.
const LUA_COMMON: &str = include_str!("lua/common.lua");
/// KEYS: session. ARGV: prefix, id, data, last_seen, exp, idle, ttl_ms, sub, has_sid, sid.
const LUA_CREATE: &str = include_str!("lua/create.lua");
/// KEYS: session. ARGV: prefix, id, expected version, data, exp, idle, sub, has_sid, sid, now_ms.
/// Returns the new version, or 0 on conflict.
const LUA_UPDATE: &str = include_str!("lua/update.lua");
/// KEYS: session. ARGV: prefix, id, now (s), now_ms. Writes `ls` and the TTLs only.
const LUA_TOUCH: &str = include_str!("lua/touch.lua");
/// KEYS: session. ARGV: prefix, id.
const LUA_DELETE: &str = include_str!("lua/delete.lua");
/// KEYS: index set. ARGV: prefix. Deletes every session in the set; returns how many existed.
const LUA_DELETE_INDEXED: &str = include_str!("lua/delete_indexed.lua");
/// KEYS: lease. ARGV: owner, ttl_ms.
const LUA_ACQUIRE: &str = include_str!("lua/acquire_lease.lua");
/// KEYS: lease. ARGV: owner.
const LUA_RELEASE: &str = include_str!("lua/release_lease.lua");
/// KEYS: record, index. ARGV: value, ttl_ms, now_ms, expires_ms, max.
const LUA_PUT_RECORD: &str = include_str!("lua/put_record.lua");
/// KEYS: record, index.
const LUA_DELETE_RECORD: &str = include_str!("lua/delete_record.lua");
/// Tests only. ARGV: prefix, ms. Shrinks every TTL under the prefix by `ms`.
#[cfg(feature = "test-util")]
const LUA_ADVANCE_TIME: &str = include_str!("lua/advance_time.lua");

pub(super) struct Scripts {
    pub(super) create: Script,
    pub(super) update: Script,
    pub(super) touch: Script,
    pub(super) delete: Script,
    pub(super) delete_indexed: Script,
    pub(super) acquire: Script,
    pub(super) release: Script,
    pub(super) put_record: Script,
    pub(super) delete_record: Script,
    #[cfg(feature = "test-util")]
    pub(super) advance_time: Script,
}

impl Scripts {
    pub(super) fn new() -> Self {
        let with_common = |body: &str| Script::new(&format!("{LUA_COMMON}{body}"));
        Self {
            create: with_common(LUA_CREATE),
            update: with_common(LUA_UPDATE),
            touch: with_common(LUA_TOUCH),
            delete: with_common(LUA_DELETE),
            delete_indexed: with_common(LUA_DELETE_INDEXED),
            acquire: Script::new(LUA_ACQUIRE),
            release: Script::new(LUA_RELEASE),
            put_record: Script::new(LUA_PUT_RECORD),
            delete_record: Script::new(LUA_DELETE_RECORD),
            #[cfg(feature = "test-util")]
            advance_time: Script::new(LUA_ADVANCE_TIME),
        }
    }
}
