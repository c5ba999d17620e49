//! The sessions this instance decoded (see "Local cache" on [`super::RedisStore`]).

use std::sync::Arc;

use crate::session::SessionData;
use crate::slot_table::SlotTable;

/// Sessions this instance decoded, by id, with the version they were decoded at.
///
/// Direct-mapped ([`SlotTable`]): each id has one slot, and a newer session in the slot
/// replaces the older. An entry is used only when Redis answers that the session still
/// exists at that version, so a session changed or deleted elsewhere is never served from
/// here. Versions only grow, and the engine never reuses a session id.
pub(super) struct LocalCache {
    sessions: SlotTable<Cached>,
}

struct Cached {
    id: Box<str>,
    version: u64,
    data: Arc<SessionData>,
}

impl LocalCache {
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            sessions: SlotTable::new(capacity),
        }
    }

    pub(super) fn get(&self, id: &str) -> Option<(u64, Arc<SessionData>)> {
        let slot = self.sessions.read(id)?;
        slot.as_ref()
            .filter(|cached| &*cached.id == id)
            .map(|cached| (cached.version, Arc::clone(&cached.data)))
    }

    pub(super) fn put(&self, id: &str, version: u64, data: Arc<SessionData>) {
        if let Some(mut slot) = self.sessions.write(id) {
            *slot = Some(Cached {
                id: id.into(),
                version,
                data,
            });
        }
    }

    pub(super) fn remove(&self, id: &str) {
        if let Some(mut slot) = self.sessions.write(id) {
            if slot.as_ref().is_some_and(|cached| &*cached.id == id) {
                *slot = None;
            }
        }
    }
}
