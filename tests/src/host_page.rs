//! A customer's web site for browser tests: a tiny HTTP server on its own port (so its pages
//! are another origin, and as `localhost` another site, than the Bellhop server at
//! `127.0.0.1`) serving fixed pages, each with its own `Content-Security-Policy`.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// One page of the site.
#[derive(Clone)]
pub struct Page {
    pub path: &'static str,
    pub html: String,
    /// The page's policy; `None` sends none.
    pub csp: Option<String>,
}

/// The running site; it stops when dropped.
pub struct HostSite {
    pub port: u16,
    pages: Arc<Mutex<Vec<Page>>>,
    task: tokio::task::JoinHandle<()>,
}

impl HostSite {
    /// Starts serving no pages yet (see [`HostSite::set_pages`]): the port, and so the origin a
    /// Bellhop site must allow, is known first.
    pub async fn start() -> Self {
        let pages: Arc<Mutex<Vec<Page>>> = Arc::default();
        let served = pages.clone();
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the host site");
        let port = listener.local_addr().expect("its address").port();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let pages = served.lock().map(|p| p.clone()).unwrap_or_default();
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buf[..n]),
                        }
                        if request.len() > 64 * 1024 {
                            return;
                        }
                    }
                    let head = String::from_utf8_lossy(&request);
                    let target = head.split_whitespace().nth(1).unwrap_or("/");
                    let path = target.split('?').next().unwrap_or("/");
                    let response = match pages.iter().find(|p| p.path == path) {
                        Some(page) => {
                            let csp = page
                                .csp
                                .as_ref()
                                .map(|c| format!("Content-Security-Policy: {c}\r\n"))
                                .unwrap_or_default();
                            format!(
                                "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\
                                 Cache-Control: no-store\r\n{csp}Content-Length: {}\r\n\
                                 Connection: close\r\n\r\n{}",
                                page.html.len(),
                                page.html
                            )
                        }
                        None => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                            .to_owned(),
                    };
                    let _ = stream.write_all(response.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        Self { port, pages, task }
    }

    pub fn set_pages(&self, pages: Vec<Page>) {
        if let Ok(mut current) = self.pages.lock() {
            *current = pages;
        }
    }

    /// This site's origin as browsers see it (`localhost`: another site than `127.0.0.1`).
    pub fn origin(&self) -> String {
        format!("http://localhost:{}", self.port)
    }
}

impl Drop for HostSite {
    fn drop(&mut self) {
        self.task.abort();
    }
}
