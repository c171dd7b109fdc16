//! Files for the attachment and privacy tests: a valid tiny PNG, an upload as the visitor's
//! widget makes it, and where a test server keeps attachments' bytes.

use std::path::{Path, PathBuf};

use bellhop_protocol::ConversationId;

use crate::{Client, TestApp, TestVisitor};

/// A valid 1×1 grey PNG: signature, IHDR, one stored-deflate IDAT, IEND.
pub fn tiny_png() -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xffff_ffffu32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut typed = kind.to_vec();
        typed.extend_from_slice(data);
        out.extend_from_slice(&typed);
        out.extend_from_slice(&crc32(&typed).to_be_bytes());
    }
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    // 1×1, 8-bit greyscale, deflate, no filter method, no interlace.
    chunk(&mut png, b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]);
    // zlib header, one final stored block of 2 bytes (filter 0, pixel 0xff), Adler-32.
    let idat = [
        0x78, 0x01, 0x01, 0x02, 0x00, 0xfd, 0xff, 0x00, 0xff, 0x01, 0x01, 0x01, 0x00,
    ];
    chunk(&mut png, b"IDAT", &idat);
    chunk(&mut png, b"IEND", &[]);
    png
}

/// Uploads `bytes` as the visitor's widget does (visitor token, from the page's origin).
pub async fn visitor_upload(
    app: &Client,
    visitor: &TestVisitor,
    conversation: ConversationId,
    client_id: &str,
    name: &str,
    declared: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    app.http
        .post(format!("{}/api/v1/widget/attachments", app.address))
        .query(&[
            ("conversation_id", conversation.to_string().as_str()),
            ("client_id", client_id),
            ("name", name),
        ])
        .bearer_auth(&visitor.token)
        .header("Origin", &visitor.origin)
        .header("Content-Type", declared)
        .body(bytes)
        .send()
        .await
        .expect("visitor upload")
}

/// The folder the server keeps attachments' bytes in.
pub fn files_dir(app: &TestApp) -> PathBuf {
    match &app.files {
        Some(dir) => dir.path().to_path_buf(),
        None => PathBuf::from(format!(
            "{}.files",
            app.db.url().trim_start_matches("sqlite://")
        )),
    }
}

/// How many blobs the folder holds (temporary files included).
pub fn blob_count(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .map(|e| e.unwrap().path())
        .map(|p| if p.is_dir() { blob_count(&p) } else { 1 })
        .sum()
}
