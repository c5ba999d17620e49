//! `ping-oidc-bench`: the benchmark harness `scripts/bench.sh` drives (see `BENCHMARKS.md`).
//!
//! ```text
//! ping-oidc-bench serve  --adapter axum|actix [--store memory|redis://...] [--workers N]
//!                        [--max-seconds S]
//!     Starts the development provider and the example app on a loopback port, signs a
//!     session in (and a second one with `orders:read`), prints URL=, COOKIE=,
//!     SCOPED_COOKIE= and READY, then serves until SIGTERM/SIGINT or S seconds (default 900).
//! ping-oidc-bench storm  --adapter axum|actix [--store ...] [--concurrency 200] [--rounds 3]
//!                        [--ttl-seconds 2] [--workers N]
//!     Signs in with a short access-token lifetime, opens the connections, and each round
//!     waits for the token to expire and sends `concurrency` requests to /api/ok at once.
//!     Prints the token-endpoint refresh calls the provider counted, and the latencies.
//! ping-oidc-bench inproc --adapter axum|actix --path /api/ok [--requests N] [--scoped|--bearer]
//!     The example app called in-process (no sockets, one thread) N times: run it under
//!     `valgrind --tool=callgrind` to count instructions per request.
//! ```
//!
//! The harness bounds itself: `serve` stops after `--max-seconds`, `storm` after its rounds.

use std::io::{self, Write};
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::{Duration, Instant};

use ping_oidc::store::RedisStore;
use ping_oidc::store::SessionStore;
use ping_oidc::PingOidc;
use ping_oidc_bench::{bearer_token, config, session_id, sign_in, start_provider};
use ping_oidc_dev_provider::DevProvider;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const USAGE: &str = "usage: ping-oidc-bench serve|storm|inproc [--adapter axum|actix] \
    [--store memory|redis://host:port] [--workers N] [--max-seconds S] [--concurrency N] \
    [--rounds N] [--ttl-seconds S] [--path /api/ok] [--requests N] [--scoped|--bearer]";

/// `--name value` options, and bare `--flag`s (value `""`).
struct Options(Vec<(String, String)>);

impl Options {
    fn parse(args: impl Iterator<Item = String>) -> Result<Self, String> {
        let mut out = Vec::new();
        let mut args = args.peekable();
        while let Some(arg) = args.next() {
            let name = arg
                .strip_prefix("--")
                .ok_or_else(|| format!("unexpected argument `{arg}`"))?;
            let value = match args.peek() {
                Some(next) if !next.starts_with("--") => args.next().unwrap_or_default(),
                _ => String::new(),
            };
            out.push((name.to_string(), value));
        }
        Ok(Self(out))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn flag(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    fn num<T: FromStr>(&self, name: &str, default: T) -> Result<T, String> {
        match self.get(name) {
            None => Ok(default),
            Some(text) => text
                .parse()
                .map_err(|_| format!("--{name}: `{text}` is not a number")),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Adapter {
    Axum,
    Actix,
}

impl Adapter {
    fn from_options(options: &Options) -> Result<Self, String> {
        match options.get("adapter").unwrap_or("axum") {
            "axum" => Ok(Self::Axum),
            "actix" => Ok(Self::Actix),
            other => Err(format!("--adapter: `{other}` is neither axum nor actix")),
        }
    }
}

fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn main() {
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_default();
    let result = Options::parse(args).and_then(|options| match command.as_str() {
        "serve" => serve(&options),
        "storm" => storm(&options),
        "inproc" => inproc(&options),
        _ => Err(USAGE.to_string()),
    });
    if let Err(error) = result {
        eprintln!("ping-oidc-bench: {error}");
        std::process::exit(2);
    }
}

fn runtime(workers: usize) -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers.max(1))
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
}

/// The example app, served on a loopback port, with its provider and engine.
struct Running {
    base: String,
    address: SocketAddr,
    provider: DevProvider,
    oidc: PingOidc,
    _server: Server,
}

enum Server {
    Tokio(tokio::task::JoinHandle<()>),
    Actix(actix_web::dev::ServerHandle),
}

impl Drop for Server {
    fn drop(&mut self) {
        match self {
            Server::Tokio(task) => task.abort(),
            Server::Actix(handle) => drop(handle.stop(false)),
        }
    }
}

/// Starts the provider, the engine (memory store, or Redis under a bench-only key prefix) and
/// the example app with `adapter`.
async fn start(
    adapter: Adapter,
    store: &str,
    workers: usize,
    access_token_ttl: Option<Duration>,
) -> Result<Running, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    let base = format!("http://{address}");
    let provider = start_provider(&base, access_token_ttl).await?;
    let mut engine = PingOidc::builder(config(&base, &provider)?);
    if store.starts_with("redis://") {
        let redis = RedisStore::builder(store)
            .key_prefix("ping_oidc_bench:")
            .connect()
            .await
            .map_err(|e| format!("--store {store}: {e}"))?;
        engine = engine.store(redis);
    } else if store != "memory" {
        return Err(format!(
            "--store: `{store}` is neither memory nor redis://..."
        ));
    }
    let oidc = engine.start().await.map_err(|e| e.to_string())?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let server = match adapter {
        Adapter::Axum => {
            let listener =
                tokio::net::TcpListener::from_std(listener).map_err(|e| e.to_string())?;
            let router = ping_oidc_example_axum::router(oidc.clone());
            Server::Tokio(tokio::spawn(async move {
                let _ = axum::serve(listener, router).await;
            }))
        }
        Adapter::Actix => Server::Actix(spawn_actix(listener, oidc.clone(), workers)?),
    };
    Ok(Running {
        base,
        address,
        provider,
        oidc,
        _server: server,
    })
}

/// The actix example app on its own thread and actix system, with `workers` workers.
fn spawn_actix(
    listener: std::net::TcpListener,
    oidc: PingOidc,
    workers: usize,
) -> Result<actix_web::dev::ServerHandle, String> {
    let (started, handle) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("bench-actix".into())
        .spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server =
                    actix_web::HttpServer::new(move || ping_oidc_example_actix::app(oidc.clone()))
                        .workers(workers.max(1))
                        .disable_signals()
                        .shutdown_timeout(1)
                        .listen(listener);
                match server {
                    Ok(server) => {
                        let server = server.run();
                        let _ = started.send(Ok(server.handle()));
                        let _ = server.await;
                    }
                    Err(error) => {
                        let _ = started.send(Err(error.to_string()));
                    }
                }
            })
        })
        .map_err(|e| e.to_string())?;
    handle
        .recv()
        .map_err(|_| "the actix thread ended before it started".to_string())?
}

/// One keep-alive HTTP/1.1 connection, for the checks and the storm.
struct Connection {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Connection {
    async fn open(address: SocketAddr) -> io::Result<Self> {
        let stream = TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            buffer: Vec::with_capacity(4096),
        })
    }

    /// `GET path` with the cookie; the status. Bodies must have a `Content-Length`.
    async fn get(&mut self, path: &str, cookie: Option<&str>) -> io::Result<u16> {
        self.get_with(path, cookie.map(|cookie| ("Cookie", cookie)))
            .await
    }

    async fn get_with(&mut self, path: &str, header: Option<(&str, &str)>) -> io::Result<u16> {
        let mut request =
            format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n");
        if let Some((name, value)) = header {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        self.stream.write_all(request.as_bytes()).await?;
        let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
        let head_end = loop {
            if let Some(at) = self.buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            self.fill().await?;
        };
        let head = std::str::from_utf8(&self.buffer[..head_end]).map_err(|_| bad("head"))?;
        let status: u16 = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("status line"))?;
        let length: usize = head
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().ok())?
            })
            .ok_or_else(|| bad("no content-length"))?;
        while self.buffer.len() < head_end + length {
            self.fill().await?;
        }
        self.buffer.drain(..head_end + length);
        Ok(status)
    }

    async fn fill(&mut self) -> io::Result<()> {
        let mut chunk = [0u8; 4096];
        let n = self.stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed",
            ));
        }
        self.buffer.extend_from_slice(&chunk[..n]);
        Ok(())
    }
}

/// The app answers the routes the benchmark uses as expected.
async fn check(app: &Running, cookie: &str, scoped: &str, bearer: &str) -> Result<(), String> {
    let mut connection = Connection::open(app.address)
        .await
        .map_err(|e| e.to_string())?;
    for (path, cookie, want) in [
        ("/healthz", None, 200),
        ("/api/ok", Some(cookie), 200),
        ("/api/ok", None, 401),
        ("/api/orders", Some(scoped), 200),
        ("/api/orders", Some(cookie), 403),
    ] {
        let got = connection
            .get(path, cookie)
            .await
            .map_err(|e| format!("GET {path}: {e}"))?;
        if got != want {
            return Err(format!("GET {path} answered {got}, expected {want}"));
        }
    }
    let authorization = format!("Bearer {bearer}");
    for (header, want) in [
        (Some(("Authorization", authorization.as_str())), 200),
        (None, 401),
    ] {
        let got = connection
            .get_with("/api/resource", header)
            .await
            .map_err(|e| format!("GET /api/resource: {e}"))?;
        if got != want {
            return Err(format!("GET /api/resource answered {got}, expected {want}"));
        }
    }
    Ok(())
}

fn serve(options: &Options) -> Result<(), String> {
    let adapter = Adapter::from_options(options)?;
    let store = options.get("store").unwrap_or("memory").to_string();
    let workers = options.num("workers", default_workers())?;
    let max_seconds: u64 = options.num("max-seconds", 900)?;
    // axum runs on this runtime's workers; actix on its own, and this one only hosts the
    // provider (idle while wrk runs).
    let rt_workers = if adapter == Adapter::Axum { workers } else { 1 };
    runtime(rt_workers)?.block_on(async move {
        let app = start(adapter, &store, workers, None).await?;
        let cookie = sign_in(&app.oidc, &app.provider, None).await?;
        let scoped = sign_in(&app.oidc, &app.provider, Some("orders:read")).await?;
        let bearer = bearer_token(&app.oidc).await?;
        check(&app, &cookie, &scoped, &bearer).await?;
        let mut out = io::stdout().lock();
        let _ = writeln!(out, "URL={}", app.base);
        let _ = writeln!(out, "BEARER={bearer}");
        let _ = writeln!(out, "COOKIE={cookie}");
        let _ = writeln!(out, "SCOPED_COOKIE={scoped}");
        let _ = writeln!(out, "READY");
        let _ = out.flush();
        drop(out);

        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
        let mut int = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
            _ = tokio::time::sleep(Duration::from_secs(max_seconds)) => {
                eprintln!("ping-oidc-bench: --max-seconds reached, stopping");
            }
        }
        // Leave nothing behind in a shared Redis.
        for c in [&cookie, &scoped] {
            if let Some(id) = session_id(c) {
                let _ = app.oidc.store().delete(id).await;
            }
        }
        Ok::<_, String>(())
    })?;
    // The actix thread is stopped without waiting for it.
    std::process::exit(0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

fn storm(options: &Options) -> Result<(), String> {
    let adapter = Adapter::from_options(options)?;
    let store = options.get("store").unwrap_or("memory").to_string();
    let workers = options.num("workers", default_workers())?;
    let concurrency: usize = options.num("concurrency", 200)?;
    let rounds: usize = options.num("rounds", 3)?;
    let ttl: u64 = options.num("ttl-seconds", 2)?;
    if !(1..=2000).contains(&concurrency) || !(1..=20).contains(&rounds) || !(1..=30).contains(&ttl)
    {
        return Err("--concurrency 1..=2000, --rounds 1..=20, --ttl-seconds 1..=30".into());
    }
    let rt_workers = if adapter == Adapter::Axum { workers } else { 1 };
    // The server (and provider) run on this runtime's worker threads; the client below runs
    // on the main thread with its own runtime, apart from the server's scheduler.
    let server_rt = runtime(rt_workers)?;
    let (app, cookie) = server_rt.block_on(async {
        let app = start(adapter, &store, workers, Some(Duration::from_secs(ttl))).await?;
        let cookie = sign_in(&app.oidc, &app.provider, None).await?;
        Ok::<_, String>((app, cookie))
    })?;
    let signed_in = Instant::now();
    let client_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let (latencies, grants, failures) = client_rt.block_on(async {
        // Open and warm every connection first, so the storm measures requests, not connects.
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..concurrency {
            let address = app.address;
            set.spawn(async move {
                let mut c = Connection::open(address).await?;
                c.get("/healthz", None).await?;
                Ok::<_, io::Error>(c)
            });
        }
        let mut connections = Vec::with_capacity(concurrency);
        while let Some(joined) = set.join_next().await {
            connections.push(
                joined
                    .map_err(|e| e.to_string())?
                    .map_err(|e| e.to_string())?,
            );
        }
        let mut latencies = Vec::new();
        let mut grants = Vec::new();
        let mut failures = 0usize;
        let mut issued = signed_in;
        for _ in 0..rounds {
            // Past expiry: the engine refreshes when `now >= refresh_at` (whole seconds).
            tokio::time::sleep_until((issued + Duration::from_millis(ttl * 1000 + 1100)).into())
                .await;
            app.provider.reset_stats();
            let mut set = tokio::task::JoinSet::new();
            for mut c in connections.drain(..) {
                let cookie = cookie.clone();
                set.spawn(async move {
                    let started = Instant::now();
                    let status = c.get("/api/ok", Some(&cookie)).await;
                    (c, status, started.elapsed())
                });
            }
            let mut answered = 0;
            while let Some(joined) = set.join_next().await {
                if let Ok((c, status, took)) = joined {
                    answered += 1;
                    if status.as_ref().ok() != Some(&200) {
                        failures += 1;
                    }
                    latencies.push(took);
                    connections.push(c);
                }
            }
            failures += concurrency - answered;
            issued = Instant::now();
            grants.push(app.provider.stats().refresh_grants);
        }
        Ok::<_, String>((latencies, grants, failures))
    })?;
    let mut latencies = latencies;
    latencies.sort();
    let total: u64 = grants.iter().sum();
    let per_round = grants
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    println!(
        "STORM adapter={adapter:?} store={} concurrency={concurrency} rounds={rounds} \
         refresh_calls={total} per_round={per_round} non_200={failures} \
         p50_ms={} p99_ms={} max_ms={}",
        if store.starts_with("redis://") {
            "redis"
        } else {
            "memory"
        },
        ms(percentile(&latencies, 50.0)),
        ms(percentile(&latencies, 99.0)),
        ms(latencies.last().copied().unwrap_or_default()),
    );
    server_rt.block_on(async {
        if let Some(id) = session_id(&cookie) {
            let _ = app.oidc.store().delete(id).await;
        }
    });
    // The actix thread and the runtimes are left to the process's exit.
    std::process::exit(0)
}

fn inproc(options: &Options) -> Result<(), String> {
    let adapter = Adapter::from_options(options)?;
    let path = options.get("path").unwrap_or("/api/ok").to_string();
    let requests: usize = options.num("requests", 10_000)?;
    let scope = options.flag("scoped").then_some("orders:read");
    // `--bearer`: `Authorization: Bearer <the worker's token>` instead of the cookie.
    let bearer = options.flag("bearer");
    // Not served: the app is called directly. The base only names the redirect URI.
    let base = "http://127.0.0.1:9";
    let setup = || async move {
        let provider = start_provider(base, None).await?;
        let oidc = PingOidc::new(config(base, &provider)?)
            .await
            .map_err(|e| e.to_string())?;
        let (name, value) = if bearer {
            let token = bearer_token(&oidc).await?;
            ("authorization", format!("Bearer {token}"))
        } else {
            ("cookie", sign_in(&oidc, &provider, scope).await?)
        };
        Ok::<_, String>((provider, oidc, (name, value)))
    };
    let took = match adapter {
        Adapter::Axum => {
            use tower::ServiceExt;
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(async {
                let (_provider, oidc, (name, value)) = setup().await?;
                let router = ping_oidc_example_axum::router(oidc);
                let started = Instant::now();
                for _ in 0..requests {
                    let request = http::Request::get(path.as_str())
                        .header("accept", "application/json")
                        .header(name, value.as_str())
                        .body(axum::body::Body::empty())
                        .map_err(|e| e.to_string())?;
                    let response = router
                        .clone()
                        .oneshot(request)
                        .await
                        .map_err(|e| e.to_string())?;
                    if response.status() != 200 {
                        return Err(format!("GET {path} answered {}", response.status()));
                    }
                }
                Ok::<_, String>(started.elapsed())
            })?
        }
        Adapter::Actix => actix_web::rt::System::new().block_on(async {
            use actix_web::test;
            let (_provider, oidc, (name, value)) = setup().await?;
            let app = test::init_service(ping_oidc_example_actix::app(oidc)).await;
            let started = Instant::now();
            for _ in 0..requests {
                let request = test::TestRequest::get()
                    .uri(&path)
                    .insert_header(("accept", "application/json"))
                    .insert_header((name, value.as_str()))
                    .to_request();
                let response = test::call_service(&app, request).await;
                if response.status() != 200 {
                    return Err(format!("GET {path} answered {}", response.status()));
                }
            }
            Ok::<_, String>(started.elapsed())
        })?,
    };
    println!(
        "INPROC adapter={adapter:?} path={path} requests={requests} ns_per_request={:.0}",
        took.as_nanos() as f64 / requests.max(1) as f64
    );
    Ok(())
}
