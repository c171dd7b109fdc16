//! The server as a child process, for tests that must kill it (SIGKILL) and start it again on
//! the same database.

use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

use crate::ADMIN_PASSWORD;

pub struct ChildServer {
    pub port: u16,
    child: Child,
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The abuse limits, turned off for child servers of tests that are not about them.
const LIMITS_OFF: &[&str] = &[
    "BELLHOP_LIMITS__WIDGET_SESSIONS_PER_MINUTE",
    "BELLHOP_LIMITS__LEADS_PER_HOUR",
    "BELLHOP_LIMITS__VISITOR_MESSAGES_PER_SECOND",
    "BELLHOP_LIMITS__VISITOR_TYPING_PER_SECOND",
    "BELLHOP_LIMITS__VISITOR_CONVERSATIONS_PER_HOUR",
    "BELLHOP_LIMITS__ADDRESS_CONVERSATIONS_PER_HOUR",
    "BELLHOP_LIMITS__SOCKETS_PER_ADDRESS",
    "BELLHOP_LIMITS__SOCKETS_PER_VISITOR",
    "BELLHOP_LIMITS__SOCKETS_PER_AGENT",
    "BELLHOP_LIMITS__AGENT_TYPING_PER_SECOND",
];

impl ChildServer {
    /// Starts `binary serve` on a free port and waits until it is ready.
    pub async fn start(binary: &str, database_url: &str) -> Self {
        Self::start_with_env(binary, database_url, &[]).await
    }

    /// [`start`](Self::start) with extra environment variables (`BELLHOP_*` settings).
    pub async fn start_with_env(binary: &str, database_url: &str, env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let show_logs = std::env::var_os("RUST_LOG").is_some();
        let child = Command::new(binary)
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .args(["--database-url", database_url])
            .env("BELLHOP_ADMIN_PASSWORD", ADMIN_PASSWORD)
            // As in `test_config`: these tests stream from one address faster than any person.
            .envs(LIMITS_OFF.iter().map(|name| (*name, "0")))
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(if show_logs {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .kill_on_drop(true)
            .spawn()
            .expect("start the server binary");
        let mut server = Self { port, child };
        server.wait_ready().await;
        server
    }

    async fn wait_ready(&mut self) {
        let url = format!("http://127.0.0.1:{}/readyz", self.port);
        let http = reqwest::Client::new();
        for _ in 0..300 {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the server exited during start-up: {status}");
            }
            if let Ok(response) = http.get(&url).send().await
                && response.status().is_success()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server did not become ready in 15 s");
    }

    /// The server's process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// The server's resident memory in KiB (`VmRSS` in `/proc/PID/status`).
    pub fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()?)).ok()?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// SIGKILL: no shutdown code runs, nothing is flushed.
    pub async fn kill(mut self) {
        self.child.kill().await.expect("kill the server");
    }
}
