//! The store suite lives in `ping_oidc::test_util::store_suite` (feature `test-util`), so that
//! any store can run it; re-exported here with what only this repository's tests need:
//! [`RedisServer`], a throw-away `redis-server` child process for outage tests, and
//! [`FlakyStore`], a memory store that fails on cue.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ping_oidc::store::StoreFuture;
use ping_oidc::store::{SessionData, SessionStore};
pub use ping_oidc::test_util::store_suite::*;

// ---------------------------------------------------------------------------------------
// A throw-away Redis server.

/// A `redis-server` child process on a free local port, without persistence; killed on drop.
pub struct RedisServer {
    port: u16,
    child: Option<Child>,
    /// With TLS: the directory of its certificates (removed on drop).
    tls: Option<std::path::PathBuf>,
}

impl RedisServer {
    /// Starts a server on a free port and waits until it accepts connections.
    pub fn start() -> Result<Self, String> {
        let port = free_port()?;
        let mut server = Self {
            port,
            child: None,
            tls: None,
        };
        server.restart()?;
        Ok(server)
    }

    /// Starts a TLS-only server (`rediss://`) with a certificate for `127.0.0.1` signed by a
    /// fresh CA (made with the `openssl` command); returns it and the CA certificate (PEM).
    pub fn start_tls() -> Result<(Self, Vec<u8>), String> {
        let dir = std::env::temp_dir().join(format!("ping-oidc-redis-tls-{}", random_hex()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let openssl = |args: &[&str]| -> Result<(), String> {
            let status = Command::new("openssl")
                .args(args)
                .current_dir(&dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map_err(|e| format!("cannot run openssl (is it installed?): {e}"))?;
            status
                .success()
                .then_some(())
                .ok_or_else(|| format!("openssl {args:?}: {status}"))
        };
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        openssl(
            &[
                &["req", "-x509"][..],
                &ec,
                &[
                    "-keyout",
                    "ca.key",
                    "-out",
                    "ca.pem",
                    "-days",
                    "2",
                    "-subj",
                    "/CN=ping-oidc test CA",
                ],
            ]
            .concat(),
        )?;
        openssl(
            &[
                &["req"][..],
                &ec,
                &[
                    "-keyout",
                    "server.key",
                    "-out",
                    "server.csr",
                    "-subj",
                    "/CN=127.0.0.1",
                ],
            ]
            .concat(),
        )?;
        std::fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1\n")
            .map_err(|e| e.to_string())?;
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "san.ext",
        ])?;
        let ca = std::fs::read(dir.join("ca.pem")).map_err(|e| e.to_string())?;
        let port = free_port()?;
        let mut server = Self {
            port,
            child: None,
            tls: Some(dir),
        };
        server.restart()?;
        Ok((server, ca))
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:<port>`, or `rediss://` for a TLS server.
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() {
            "rediss"
        } else {
            "redis"
        };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// Kills the server (as a crash would) and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port (a no-op when running).
    pub fn restart(&mut self) -> Result<(), String> {
        if self.child.is_some() {
            return Ok(());
        }
        let port = self.port.to_string();
        let mut args: Vec<String> = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
            .map(String::from)
            .to_vec();
        match &self.tls {
            None => args.extend(["--port".into(), port.clone()]),
            Some(dir) => {
                let file = |name: &str| dir.join(name).display().to_string();
                args.extend([
                    "--port".into(),
                    "0".into(),
                    "--tls-port".into(),
                    port.clone(),
                    "--tls-cert-file".into(),
                    file("server.pem"),
                    "--tls-key-file".into(),
                    file("server.key"),
                    "--tls-ca-cert-file".into(),
                    file("ca.pem"),
                    "--tls-auth-clients".into(),
                    "no".into(),
                ]);
            }
        }
        let child = Command::new("redis-server")
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start redis-server (is it installed?): {e}"))?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
                use std::io::{Read, Write};
                if self.tls.is_some() {
                    return Ok(()); // listening; the handshake is the client's to test
                }
                let mut reply = [0u8; 16];
                let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
                if stream.write_all(b"PING\r\n").is_ok()
                    && stream
                        .read(&mut reply)
                        .is_ok_and(|n| reply[..n].starts_with(b"+PONG"))
                {
                    return Ok(());
                }
            }
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    return Err(format!("redis-server exited: {status}"));
                }
            }
            if Instant::now() > deadline {
                self.stop();
                return Err("redis-server did not start within 10 s".into());
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        if let Some(dir) = self.tls.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A port nothing listens on right now.
pub fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

// ---------------------------------------------------------------------------------------
// A store that fails on demand.

/// A memory store whose next `delete_by_sid` / `delete_by_subject` fails when armed, as a
/// store outage would: for the cases where a store failure must answer 503 and change nothing.
#[derive(Default)]
pub struct FlakyStore {
    pub inner: ping_oidc::MemoryStore,
    pub fail_next_index_delete: std::sync::atomic::AtomicBool,
    /// When set, a lease can be taken but not renewed: as if another instance took it
    /// after ours ran out.
    pub lose_lease_renewals: std::sync::atomic::AtomicBool,
    /// Lease renewals refused so far.
    pub leases_lost: std::sync::atomic::AtomicU64,
}

/// Everything else is the memory store's (`len`, `is_empty`, …).
impl std::ops::Deref for FlakyStore {
    type Target = ping_oidc::MemoryStore;
    fn deref(&self) -> &ping_oidc::MemoryStore {
        &self.inner
    }
}

impl FlakyStore {
    fn fails_now(&self) -> bool {
        self.fail_next_index_delete
            .swap(false, std::sync::atomic::Ordering::SeqCst)
    }
}

fn outage<'a, T: Send + 'a>() -> StoreFuture<'a, T> {
    Box::pin(std::future::ready(Err(ping_oidc::StoreError::new(
        ping_oidc::store::StoreErrorKind::Unavailable,
        "test: store outage",
    ))))
}

impl SessionStore for FlakyStore {
    fn load<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<ping_oidc::store::LoadedSession>> {
        self.inner.load(id)
    }
    fn create<'a>(&'a self, id: &'a str, data: Arc<SessionData>, now: i64) -> StoreFuture<'a, ()> {
        self.inner.create(id, data, now)
    }
    fn update<'a>(
        &'a self,
        id: &'a str,
        data: Arc<SessionData>,
        expected_version: u64,
    ) -> StoreFuture<'a, ping_oidc::store::SaveOutcome> {
        self.inner.update(id, data, expected_version)
    }
    fn touch<'a>(&'a self, id: &'a str, now: i64) -> StoreFuture<'a, ()> {
        self.inner.touch(id, now)
    }
    fn delete<'a>(&'a self, id: &'a str) -> StoreFuture<'a, ()> {
        self.inner.delete(id)
    }
    fn delete_by_sid<'a>(&'a self, sid: &'a str) -> StoreFuture<'a, usize> {
        if self.fails_now() {
            return outage();
        }
        self.inner.delete_by_sid(sid)
    }
    fn delete_by_subject<'a>(&'a self, subject: &'a str) -> StoreFuture<'a, usize> {
        if self.fails_now() {
            return outage();
        }
        self.inner.delete_by_subject(subject)
    }
    fn consume_once<'a>(&'a self, key: &'a str, ttl: Duration) -> StoreFuture<'a, bool> {
        self.inner.consume_once(key, ttl)
    }
    fn is_consumed<'a>(&'a self, key: &'a str) -> StoreFuture<'a, bool> {
        self.inner.is_consumed(key)
    }
    fn put_record<'a>(
        &'a self,
        key: &'a str,
        value: &'a str,
        ttl: Duration,
    ) -> StoreFuture<'a, ()> {
        self.inner.put_record(key, value, ttl)
    }
    fn get_record<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<String>> {
        self.inner.get_record(key)
    }
    fn delete_record<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        self.inner.delete_record(key)
    }
    fn acquire_lease<'a>(
        &'a self,
        key: &'a str,
        owner: &'a str,
        ttl: Duration,
    ) -> StoreFuture<'a, bool> {
        let renewing = self
            .lose_lease_renewals
            .load(std::sync::atomic::Ordering::SeqCst);
        Box::pin(async move {
            // The first acquisition succeeds; the renewals that follow find it taken.
            let taken = self.inner.acquire_lease(key, owner, ttl).await?;
            if renewing && taken {
                let lost = self.leases_lost.fetch_add(1, Ordering::SeqCst);
                return Ok(lost == 0);
            }
            Ok(taken)
        })
    }
    fn release_lease<'a>(&'a self, key: &'a str, owner: &'a str) -> StoreFuture<'a, ()> {
        self.inner.release_lease(key, owner)
    }
}
