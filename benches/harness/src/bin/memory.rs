//! `ping-oidc-bench-memory [--sessions 100000]`: memory per session in the memory store.
//!
//! Signs one real session in at the development provider and takes it as the template. Then
//! counts, with a counting global allocator and with the process's RSS, what inserting
//! `--sessions` sessions like it (each with its own id, provider `sid` and tokens of the same
//! lengths, each parsed from JSON like a real one) into an empty `MemoryStore` adds, and
//! subtracts the token bytes (ID token, access token, refresh token).
//!
//! `--show-template` prints the template session (tokens left out) to stderr.
//!
//! A separate binary, so that the counting allocator never runs under wrk.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use ping_oidc::store::{SessionData, SessionStore};
use ping_oidc::{Claims, MemoryStore, PingOidc};
use ping_oidc_bench::{config, session_id, sign_in, start_provider};
use serde_json::Value;

/// The system allocator, counting live bytes (as requested) and live allocations.
struct Counting;

static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);
static LIVE_BLOCKS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
            LIVE_BLOCKS.fetch_add(1, Ordering::Relaxed);
        }
        ptr
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        LIVE_BLOCKS.fetch_sub(1, Ordering::Relaxed);
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
            LIVE_BLOCKS.fetch_add(1, Ordering::Relaxed);
        }
        ptr
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            LIVE_BYTES.fetch_add(new_size, Ordering::Relaxed);
            LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Resident set size in bytes (Linux), or 0.
fn rss() -> usize {
    let page = 4096;
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<usize>().ok())
        .map_or(0, |pages| pages * page)
}

/// A string of `len` characters made from `seed`, unlike any other seed's.
/// Exactly as long as asked (capacity included), like a string parsed from JSON.
fn unique(seed: usize, len: usize, tag: char) -> String {
    let len = len.max(13);
    let mut out = String::with_capacity(len);
    out.push_str(&format!("{tag}{seed:012}"));
    while out.len() < len {
        out.push('x');
    }
    out
}

fn main() {
    let mut sessions = 100_000usize;
    let mut show = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--show-template" {
            show = true;
            continue;
        }
        match (arg.as_str(), args.next()) {
            ("--sessions", Some(n)) => match n.parse() {
                Ok(n) if n > 0 && n <= 1_000_000 => sessions = n,
                _ => fail("--sessions takes 1..=1000000"),
            },
            _ => fail("usage: ping-oidc-bench-memory [--sessions N] [--show-template]"),
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail(&e.to_string()));
    let template = runtime.block_on(template()).unwrap_or_else(|e| fail(&e));
    let token_bytes = ["id_token", "access_token", "refresh_token"]
        .iter()
        .map(|k| template[*k].as_str().map_or(0, str::len))
        .sum::<usize>();
    let claims = template["claims"].as_object().map_or(0, |m| m.len());
    if show {
        // The session as stored, tokens shortened.
        let mut shown = template.clone();
        for key in ["id_token", "access_token", "refresh_token"] {
            if let Some(token) = shown[key].as_str() {
                shown[key] = Value::String(format!("<{} bytes>", token.len()));
            }
        }
        eprintln!("{shown:#}");
    }

    // Room for every session: the store's per-shard bound must not evict any.
    let store = MemoryStore::new(sessions * 2);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    // Ids are made up front (43 characters, like the engine's), outside the measurement.
    let ids: Vec<String> = (0..sessions).map(|i| unique(i, 43, 'i')).collect();
    let lengths = |k: &str| template[k].as_str().map_or(0, str::len);
    let (id_len, at_len, rt_len) = (
        lengths("id_token"),
        lengths("access_token"),
        lengths("refresh_token"),
    );

    let snapshot = || {
        (
            LIVE_BYTES.load(Ordering::Relaxed),
            LIVE_BLOCKS.load(Ordering::Relaxed),
            rss(),
        )
    };
    let make = |i: usize| -> SessionData {
        let mut value = template.clone();
        value["sid"] = Value::String(unique(i, 36, 's'));
        value["id_token"] = Value::String(unique(i, id_len, 'd'));
        value["access_token"] = Value::String(unique(i, at_len, 'a'));
        if rt_len > 0 {
            value["refresh_token"] = Value::String(unique(i, rt_len, 'r'));
        }
        serde_json::from_value(value).unwrap_or_else(|e| fail(&format!("template: {e}")))
    };

    // The whole: sessions made and inserted.
    let before = snapshot();
    runtime.block_on(async {
        for (i, id) in ids.iter().enumerate() {
            store
                .create(id, Arc::new(make(i)), now)
                .await
                .unwrap_or_else(|e| fail(&e.to_string()));
        }
    });
    let after = snapshot();
    if store.len() != sessions {
        fail(&format!(
            "the store holds {} of {sessions} sessions",
            store.len()
        ));
    }
    let per = |before: usize, after: usize| after.saturating_sub(before) as f64 / sessions as f64;
    let heap = per(before.0, after.0);
    let blocks = per(before.1, after.1);
    let resident = per(before.2, after.2);
    println!(
        "MEMORY sessions={sessions} claims={claims} token_bytes={token_bytes} \
         heap_bytes_per_session={heap:.0} allocations_per_session={blocks:.1} \
         heap_beyond_tokens={:.0} rss_bytes_per_session={resident:.0} rss_beyond_tokens={:.0}",
        heap - token_bytes as f64,
        resident - token_bytes as f64,
    );
    drop(store);

    // Where it goes: the session records alone (kept in a Vec, not in a store), and of
    // those, the claims. The store's own bookkeeping is the whole minus the records.
    let before = snapshot();
    let records: Vec<Arc<SessionData>> = (0..sessions).map(|i| Arc::new(make(i))).collect();
    let after = snapshot();
    let vec_bytes = records.capacity() * std::mem::size_of::<Arc<SessionData>>();
    let record = per(before.0, after.0 - vec_bytes);
    drop(records);
    let claims_template = template["claims"].clone();
    let before = snapshot();
    let maps: Vec<Claims> = (0..sessions)
        .map(|_| serde_json::from_value(claims_template.clone()).unwrap_or_default())
        .collect();
    let after = snapshot();
    let vec_bytes = maps.capacity() * std::mem::size_of::<Claims>();
    let claims_heap = per(before.0, after.0 - vec_bytes);
    drop(maps);
    let claims_json = serde_json::to_string(&claims_template).map_or(0, |s| s.len());
    println!(
        "BREAKDOWN record_bytes={record:.0} (of which claims_heap={claims_heap:.0}, \
         tokens={token_bytes}) store_bookkeeping_bytes={:.0} claims_as_json_bytes={claims_json}",
        heap - record,
    );
}

/// One real session, signed in at the development provider, as JSON.
async fn template() -> Result<Value, String> {
    let base = "http://127.0.0.1:9";
    let provider = start_provider(base, None).await?;
    let oidc = PingOidc::new(config(base, &provider)?)
        .await
        .map_err(|e| e.to_string())?;
    let cookie = sign_in(&oidc, &provider, None).await?;
    let id = session_id(&cookie).ok_or("no session id in the cookie")?;
    let loaded = oidc
        .store()
        .load(id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("the signed-in session is not in the store")?;
    let json = loaded.data.to_stored_json().map_err(|e| e.to_string())?;
    let value: serde_json::Value = serde_json::from_slice(&json).map_err(|e| e.to_string())?;
    provider.shutdown().await;
    Ok(value)
}

fn fail(message: &str) -> ! {
    eprintln!("ping-oidc-bench-memory: {message}");
    std::process::exit(2)
}
