//! A tiny GitHub stand-in for the tag and notes tests (until the GitHub simulator serves
//! these routes): one thread on 127.0.0.1:0, one request per connection, every request
//! recorded, answers from a handler closure.

use std::io::{BufRead, BufReader, Read, Write};
use std::sync::{Arc, Mutex};

/// One recorded request.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub body: serde_json::Value,
}

pub struct FakeGithub {
    pub url: String,
    pub log: Arc<Mutex<Vec<Request>>>,
}

impl FakeGithub {
    /// Serve `handler(request) -> (status, json body)`.
    pub fn start<F>(handler: F) -> FakeGithub
    where
        F: Fn(&Request) -> (u16, serde_json::Value) + Send + 'static,
    {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let log = Arc::new(Mutex::new(Vec::new()));
        let log2 = log.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let Some(request) = read_request(&stream) else {
                    continue;
                };
                log2.lock().unwrap().push(request.clone());
                let (status, body) = handler(&request);
                let text = body.to_string();
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
                    text.len()
                );
            }
        });
        FakeGithub { url, log }
    }

    pub fn requests(&self) -> Vec<Request> {
        self.log.lock().unwrap().clone()
    }
}

fn read_request(stream: &std::net::TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut len = 0;
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        if h.trim().is_empty() {
            break;
        }
        if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    let mut parts = line.split_whitespace();
    Some(Request {
        method: parts.next()?.to_string(),
        path: parts.next()?.to_string(),
        body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
    })
}

/// A release as GitHub lists it (the fields octocrab requires).
pub fn release(base: &str, id: u64, tag: &str, draft: bool) -> serde_json::Value {
    serde_json::json!({
        "url": format!("{base}/repos/o/r/releases/{id}"),
        "html_url": format!("{base}/o/r/releases/tag/{tag}"),
        "assets_url": format!("{base}/repos/o/r/releases/{id}/assets"),
        "upload_url": format!("{base}/repos/o/r/releases/{id}/assets{{?name,label}}"),
        "tarball_url": null, "zipball_url": null,
        "id": id, "node_id": format!("R_{id}"), "tag_name": tag, "target_commitish": "main",
        "name": tag, "body": "", "draft": draft, "prerelease": false,
        "created_at": "2024-01-01T00:00:00Z", "published_at": "2024-01-01T00:00:00Z",
        "author": null, "assets": []
    })
}
