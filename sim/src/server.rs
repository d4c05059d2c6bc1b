//! Serving one vendor router on one port, wrapped in the fault layer and the request log, plus
//! the admin routes every port answers:
//!
//! - `POST /__sim/faults` — add a [`Fault`] (JSON); its `vendor` defaults to this port's vendor
//! - `GET /__sim/faults` — the live faults, as JSON
//! - `DELETE /__sim/faults` — remove them all
//! - `GET /__sim/log` — the request log of every port, as JSON lines (`?vendor=fly` filters)
//! - `DELETE /__sim/log` — empty the log
//!
//! Any other `/__sim/` path goes to the vendor's router (its own test levers), bypassing
//! faults and the log; a vendor without such a route answers its usual 404.
//!
//! The accept loop is hyper's, not `axum::serve`, because a `reset` fault must drop the
//! connection with a real TCP RST (zero linger) without writing a response — something no axum
//! handler can do. Vendor routers are called as plain tower services and know nothing of this.

use crate::faults::{Action, Fault, Faults};
use crate::log::{body_value, redact_header, LogEntry, RequestLog};
use axum::body::Body;
use axum::http::{header, Request, Response, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
use tower::ServiceExt;

/// What all ports share: the live faults and the request log.
#[derive(Debug, Default)]
pub struct Shared {
    faults: Mutex<Faults>,
    log: Mutex<RequestLog>,
}

/// A poisoned lock only means a test panicked elsewhere; the data is still usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    pub fn new(log: RequestLog, faults: Vec<Fault>) -> Self {
        let mut live = Faults::default();
        for f in faults {
            live.add(f);
        }
        Shared {
            faults: Mutex::new(live),
            log: Mutex::new(log),
        }
    }
    pub fn inject(&self, fault: Fault) {
        lock(&self.faults).add(fault);
    }
    pub fn clear_faults(&self) {
        lock(&self.faults).clear();
    }
    pub fn log(&self) -> Vec<LogEntry> {
        lock(&self.log).entries()
    }
    pub fn clear_log(&self) {
        lock(&self.log).clear();
    }
}

struct Port {
    vendor: &'static str,
    router: Router,
    shared: Arc<Shared>,
}

/// Serve `router` on `listener` until the returned task is aborted (which also aborts every
/// open connection, as they live in the task's `JoinSet`).
pub fn spawn(
    vendor: &'static str,
    listener: TcpListener,
    router: Router,
    shared: Arc<Shared>,
) -> JoinHandle<()> {
    let port = Arc::new(Port {
        vendor,
        router,
        shared,
    });
    tokio::spawn(async move {
        let mut connections = JoinSet::new();
        loop {
            while connections.try_join_next().is_some() {}
            let Ok((stream, _)) = listener.accept().await else {
                // Accept errors (e.g. too many open files) are transient; back off briefly.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            };
            connections.spawn(serve_connection(stream, port.clone()));
        }
    })
}

async fn serve_connection(stream: TcpStream, port: Arc<Port>) {
    // A second handle on the same socket, kept outside hyper, so a `reset` fault can set zero
    // linger: when both handles are closed the kernel sends RST instead of FIN.
    let Ok(std) = stream.into_std() else { return };
    let Ok(twin) = std.try_clone().and_then(TcpStream::from_std) else {
        return;
    };
    let Ok(stream) = TcpStream::from_std(std) else {
        return;
    };
    let twin = Arc::new(twin);
    let service = {
        let twin = twin.clone();
        hyper::service::service_fn(move |req| {
            // A vendor's server finishes what it started when the client hangs up (a client
            // that timed out does not undo its request): the work runs in a task of its own,
            // which dropping the connection does not cancel.
            let work = tokio::spawn(handle(req, port.clone(), twin.clone()));
            async move { work.await.unwrap_or_else(|e| Err(std::io::Error::other(e))) }
        })
    };
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

/// The error that makes hyper drop the connection without answering.
fn reset_error() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::ConnectionReset, "simulated reset")
}

async fn handle(
    req: Request<hyper::body::Incoming>,
    port: Arc<Port>,
    socket: Arc<TcpStream>,
) -> Result<Response<Body>, std::io::Error> {
    let (parts, body) = req.into_parts();
    let bytes = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return Err(std::io::Error::other(e)),
    };
    let path = parts.uri.path().to_string();
    if path.starts_with("/__sim/") {
        let answer = admin(
            &port,
            parts.method.as_str(),
            &path,
            parts.uri.query(),
            &bytes,
        );
        return Ok(match answer {
            Some(a) => a,
            // A vendor's own lever (e.g. GitHub's pull request state): its router answers,
            // untouched by faults and absent from the log.
            None => {
                let req = Request::from_parts(parts, Body::from(bytes));
                match port.router.clone().oneshot(req).await {
                    Ok(resp) => resp,
                    Err(never) => match never {},
                }
            }
        });
    }
    let mut entry = LogEntry {
        vendor: port.vendor.to_string(),
        method: parts.method.to_string(),
        path: path.clone(),
        query: parts.uri.query().map(str::to_string),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                let v = String::from_utf8_lossy(v.as_bytes());
                (k.as_str().to_string(), redact_header(k.as_str(), &v))
            })
            .collect(),
        body: body_value(&bytes),
        status: None,
    };
    let decision = lock(&port.shared.faults).decide(port.vendor, parts.method.as_str(), &path);
    let credentials = parts
        .headers
        .get(header::AUTHORIZATION)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    let (action, after_acting, echo) = match decision {
        Some(d) => {
            if d.delay_ms > 0 {
                tokio::time::sleep(Duration::from_millis(d.delay_ms)).await;
            }
            (d.action, d.after_acting, d.echo_credentials)
        }
        None => (Action::PassThrough, false, false),
    };
    let mut parts = Some(parts);
    let mut bytes = Some(bytes);
    if after_acting && action != Action::PassThrough {
        // The vendor does the work; only its answer is lost or replaced below.
        if let (Some(parts), Some(bytes)) = (parts.take(), bytes.take()) {
            let req = Request::from_parts(parts, Body::from(bytes));
            let _ = port.router.clone().oneshot(req).await;
        }
    }
    let response = match action {
        Action::Reset => {
            lock(&port.shared.log).push(entry);
            let _ = socket.set_zero_linger();
            return Err(reset_error());
        }
        Action::Malformed => json_response(200, r#"{"status":"success","data":{"no"#),
        Action::Respond {
            status,
            body,
            headers,
        } => {
            let body = if echo {
                serde_json::json!({
                    "message": format!("Unauthenticated: the credentials `{credentials}` are not valid"),
                    "error": format!("simulated fault: status {status}; sent {credentials}"),
                })
                .to_string()
            } else {
                body
            };
            let mut resp = json_response(status, &body);
            for (k, v) in headers {
                if let (Ok(k), Ok(v)) = (
                    header::HeaderName::try_from(k.as_str()),
                    header::HeaderValue::try_from(v.as_str()),
                ) {
                    resp.headers_mut().insert(k, v);
                }
            }
            resp
        }
        Action::PassThrough => match (parts.take(), bytes.take()) {
            (Some(parts), Some(bytes)) => {
                let req = Request::from_parts(parts, Body::from(bytes));
                match port.router.clone().oneshot(req).await {
                    Ok(resp) => resp,
                    Err(never) => match never {},
                }
            }
            _ => json_response(500, r#"{"message":"the simulator already answered"}"#),
        },
    };
    entry.status = Some(response.status().as_u16());
    lock(&port.shared.log).push(entry);
    Ok(response)
}

fn json_response(status: u16, body: &str) -> Response<Body> {
    let mut resp = Response::new(Body::from(body.to_string()));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    resp
}

/// The admin routes every port answers; `None` for any other `/__sim/` path.
fn admin(
    port: &Port,
    method: &str,
    path: &str,
    query: Option<&str>,
    body: &[u8],
) -> Option<Response<Body>> {
    let shared = &port.shared;
    let answer = match (method, path) {
        ("POST", "/__sim/faults") => match serde_json::from_slice::<Fault>(body) {
            Ok(mut fault) => {
                fault.vendor.get_or_insert_with(|| port.vendor.to_string());
                let answer = serde_json::to_string(&fault).unwrap_or_default();
                shared.inject(fault);
                json_response(201, &answer)
            }
            Err(e) => json_response(
                400,
                &serde_json::json!({ "error": format!("invalid fault: {e}") }).to_string(),
            ),
        },
        ("GET", "/__sim/faults") => json_response(
            200,
            &serde_json::to_string(&lock(&shared.faults).list()).unwrap_or_default(),
        ),
        ("DELETE", "/__sim/faults") => {
            shared.clear_faults();
            json_response(200, r#"{"ok":true}"#)
        }
        ("GET", "/__sim/log") => {
            let vendor = query.and_then(|q| {
                q.split('&')
                    .find_map(|kv| kv.strip_prefix("vendor="))
                    .map(str::to_string)
            });
            let mut out = String::new();
            for e in shared.log() {
                if vendor.as_deref().is_none_or(|v| v == e.vendor) {
                    out.push_str(&serde_json::to_string(&e).unwrap_or_default());
                    out.push('\n');
                }
            }
            let mut resp = Response::new(Body::from(out));
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("application/x-ndjson"),
            );
            resp
        }
        ("DELETE", "/__sim/log") => {
            shared.clear_log();
            json_response(200, r#"{"ok":true}"#)
        }
        _ => return None,
    };
    Some(answer)
}
