//! Locks that stay usable after a holder panicked: every value behind them is valid at each
//! step, so a poisoned lock's data is still the right data.

use std::sync::{Mutex, MutexGuard};

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
