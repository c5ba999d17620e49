//! What the README's first command promises, checked against a built example binary: with no
//! provider configured it starts the embedded development provider, prints the URL to open
//! and the test user's credentials, serves the site, and sends sign-in to that provider.
//! Each example's `tests/readme_run.rs` calls [`check`] with its own binary.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use ping_oidc_dev_provider::{DEFAULT_PASSWORD, DEFAULT_USERNAME};

/// Kills the example when the check ends, passed or not.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One request over a fresh connection; the whole response as text.
fn request(port: u16, head: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the example");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        stream,
        "{head}Host: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    response
}

fn header<'a>(response: &'a str, name: &str) -> Option<&'a str> {
    response.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

/// Runs `binary` with no provider variables and checks what the README promises.
pub fn check(binary: &str) {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let app_url = format!("http://127.0.0.1:{port}");
    let mut command = Command::new(binary);
    for name in [
        "OIDC_ISSUER",
        "PINGONE_ENV_ID",
        "PINGONE_REGION",
        "PINGONE_CUSTOM_DOMAIN",
        "OIDC_CLIENT_ID",
        "OIDC_CLIENT_SECRET",
        "OIDC_SCOPES",
        "SESSION_STORE",
        "SESSION_KEY",
    ] {
        command.env_remove(name);
    }
    let mut child = command
        .env("APP_URL", &app_url)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the example");
    let stdout = child.stdout.take().expect("stdout");
    let _running = Running(child);

    // Its output, line by line, until it listens.
    let (lines, printed) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let mut output = String::new();
    loop {
        match printed.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => {
                output.push_str(&line);
                output.push('\n');
                if line.starts_with("Example (") && line.contains("listening on") {
                    break;
                }
            }
            Err(_) => panic!("the example did not start; it printed:\n{output}"),
        }
    }
    assert!(
        output.contains("Development provider (not for production)"),
        "{output}"
    );
    assert!(output.contains(&format!("Open {app_url}/")), "{output}");
    assert!(
        output.contains(DEFAULT_USERNAME) && output.contains(DEFAULT_PASSWORD),
        "the test user's credentials are printed: {output}"
    );

    let home = request(port, "GET / HTTP/1.1\r\n");
    assert!(home.starts_with("HTTP/1.1 200"), "{home}");
    assert!(home.contains("You are not signed in"), "{home}");

    // Sign-in goes to the embedded provider, whose sign-in page answers.
    let login = request(port, "GET /auth/login?return_to=/profile HTTP/1.1\r\n");
    assert!(login.starts_with("HTTP/1.1 302"), "{login}");
    let authorize = header(&login, "location").expect("a redirect to the provider");
    let rest = authorize
        .strip_prefix("http://127.0.0.1:")
        .expect("the provider is on loopback");
    let (provider_port, path) = rest.split_once('/').expect("a path");
    let provider_port: u16 = provider_port.parse().expect("a port");
    assert_ne!(provider_port, port);
    assert!(path.contains("code_challenge_method=S256"), "{authorize}");
    let page = request(
        provider_port,
        &format!("GET /{path} HTTP/1.1\r\nAccept: text/html\r\n"),
    );
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(
        page.contains("<form"),
        "the provider's sign-in page: {page}"
    );
}
