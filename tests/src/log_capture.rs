//! Captures this test process's `tracing` output so a case can check what was logged.
//!
//! One global subscriber (installed on first use) writes every event, at every level and from
//! every crate, into a shared buffer. The engine, the adapters, the example apps and the dev
//! provider all run in the test process, so their events all land here. A [`LogCapture`] is
//! also a turn: cases holding one run one at a time, so the part of the buffer written since
//! the capture began belongs to that case.

use std::io;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

static BUFFER: Mutex<Vec<u8>> = Mutex::new(Vec::new());
static INSTALLED: OnceLock<()> = OnceLock::new();
static TURN: OnceLock<tokio::sync::Mutex<()>> = OnceLock::new();

fn buffer() -> MutexGuard<'static, Vec<u8>> {
    BUFFER
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

struct BufferWriter;

impl io::Write for BufferWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        buffer().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Installs the capturing subscriber once for the process.
fn install() {
    INSTALLED.get_or_init(|| {
        let installed = tracing_subscriber::fmt()
            .with_writer(|| BufferWriter)
            .with_ansi(false)
            .with_max_level(tracing_subscriber::filter::LevelFilter::TRACE)
            .try_init();
        if let Err(error) = installed {
            panic!("another global tracing subscriber is installed: {error}");
        }
    });
}

/// The log lines written since a case began, for that case only while it holds its turn.
pub struct LogCapture {
    _turn: tokio::sync::MutexGuard<'static, ()>,
    start: usize,
}

impl LogCapture {
    /// Waits for this case's turn, then starts capturing.
    pub async fn begin() -> Self {
        install();
        let turn = TURN
            .get_or_init(|| tokio::sync::Mutex::new(()))
            .lock()
            .await;
        let start = buffer().len();
        Self { _turn: turn, start }
    }

    /// Everything logged since [`begin`](Self::begin).
    pub fn text(&self) -> String {
        let buffer = buffer();
        String::from_utf8_lossy(&buffer[self.start..]).into_owned()
    }

    /// The lines logged since the start that contain `needle`.
    pub fn lines_with(&self, needle: &str) -> Vec<String> {
        self.text()
            .lines()
            .filter(|line| line.contains(needle))
            .map(str::to_string)
            .collect()
    }

    /// Waits (briefly: the event is written before the response leaves) until a line contains
    /// every one of `needles`, and returns it.
    pub async fn expect_line(&self, needles: &[&str]) -> String {
        for _ in 0..40 {
            if let Some(line) = self
                .text()
                .lines()
                .find(|line| needles.iter().all(|needle| line.contains(needle)))
            {
                return line.to_string();
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!(
            "no log line contains all of {needles:?}; captured:\n{}",
            self.text()
        );
    }

    /// Asserts that no secret appears in the captured logs: none of `secrets` (codes, tokens
    /// the test knows), nothing that looks like a JWT (every JWS the provider issues starts
    /// with the base64url of `{"`, `eyJ`), and no long opaque value such as a refresh token,
    /// except those in `allowed` (issuers, provider session ids, the subject).
    pub fn assert_no_secrets(&self, secrets: &[&str], allowed: &[&str]) {
        let text = self.text();
        for secret in secrets.iter().filter(|s| s.len() >= 8) {
            if let Some(line) = text.lines().find(|line| line.contains(secret)) {
                panic!("a secret value is in the logs: {line}");
            }
        }
        if let Some(line) = text.lines().find(|line| line.contains("eyJ")) {
            panic!("a JWT is in the logs: {line}");
        }
        for line in text.lines() {
            for run in line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_')) {
                if run.len() >= 40 && !allowed.iter().any(|a| a.contains(run)) {
                    panic!("a long opaque value (a token?) is in the logs: {run:?} in {line}");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn capture_with(line: &str) -> LogCapture {
        let capture = LogCapture::begin().await;
        buffer().extend_from_slice(line.as_bytes());
        capture
    }

    #[tokio::test]
    async fn finds_secrets() {
        let jwt = "2030-01-01 WARN reason=x token=eyJhbGciOiJSUzI1NiJ9.e30.c2ln\n";
        let refresh = format!("2030-01-01 INFO refreshed rt={}\n", "Ab-_9".repeat(9));
        let code = "2030-01-01 WARN code=SplxlOBeZQQYbYS6WxSbIA\n";
        for (line, secrets) in [
            (jwt, vec![]),
            (refresh.as_str(), vec![]),
            (code, vec!["SplxlOBeZQQYbYS6WxSbIA"]),
        ] {
            let capture = capture_with(line).await;
            let found = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                capture.assert_no_secrets(&secrets, &[]);
            }));
            assert!(found.is_err(), "not detected: {line}");
        }
    }

    #[tokio::test]
    async fn allows_plain_lines() {
        let issuer = "http://127.0.0.1:1/00000000-0000-4000-8000-000000000001-0000000/as";
        let capture = capture_with(&format!(
            "2030-01-01 WARN sign-in rejected status=502 reason=claim `iss` has the wrong value\n\
             2030-01-01 INFO ready issuer={issuer}\n"
        ))
        .await;
        capture.assert_no_secrets(&["not-logged-secret"], &[issuer]);
        assert_eq!(capture.lines_with("sign-in rejected").len(), 1);
    }
}
