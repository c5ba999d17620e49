//! `spawn` runs the site on its own thread from a single-threaded tokio test, and stops it on
//! drop. (The flows themselves are tested for both examples by the shared harness.)

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};

use ping_oidc::{Config, PingOidc};
use ping_oidc_dev_provider::DevProvider;

/// One `GET` over a fresh connection; the whole response as text.
async fn get(address: SocketAddr, path: &'static str) -> String {
    tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(address).expect("connect to the site");
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
        )
        .expect("send");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read");
        response
    })
    .await
    .expect("the request thread")
}

#[tokio::test]
async fn spawned_site_serves_until_dropped() {
    let provider = DevProvider::builder().start().await.expect("dev provider");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    let config = Config::builder()
        .issuer(provider.issuer())
        .client_id("spawn-test")
        .app_url(format!("http://{address}"))
        .build()
        .expect("config");
    let oidc = PingOidc::new(config).await.expect("engine");

    let server = ping_oidc_example_actix::spawn(listener, oidc.clone()).expect("spawn");
    assert_eq!(server.address(), address);

    let healthz = get(address, "/healthz").await;
    assert!(healthz.starts_with("HTTP/1.1 200"), "{healthz}");
    assert!(healthz.ends_with("\r\n\r\nok"), "{healthz}");

    let me = get(address, "/api/me").await;
    assert!(me.starts_with("HTTP/1.1 401"), "{me}");
    assert!(me.contains("\"login_url\":\"/auth/login\""), "{me}");

    drop(server);
    assert!(
        TcpStream::connect(address).is_err(),
        "the site still listens after drop"
    );

    // A graceful stop, with nothing in flight, returns at once.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let server = ping_oidc_example_actix::spawn(listener, oidc).expect("spawn again");
    let address = server.address();
    assert!(get(address, "/healthz").await.ends_with("ok"));
    server.stop().expect("stop");
    assert!(
        TcpStream::connect(address).is_err(),
        "the site still listens after stop"
    );
    provider.shutdown().await;
}
