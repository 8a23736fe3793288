//! The accept loop: HTTP/1.1 connections under a connection limit, a header-read timeout and an
//! idle timeout, and a graceful shutdown.
//!
//! `axum::serve` has none of these, so a client that sent half a request (or one header line now
//! and then) held its connection for ever. Here each connection is watched:
//!
//! - a **request head** (request line and headers) must arrive whole within the header-read
//!   timeout, counted from the connection's start for its first request and from the head's
//!   first byte on a kept-alive connection; sending a line now and then does not move the deadline;
//! - a kept-alive connection with no request in flight and no byte of a new one is closed after
//!   the **idle** timeout;
//! - while a request is being answered neither applies (the request timeout bounds handlers);
//! - past the **connection limit** new connections are not accepted: they wait in the kernel's
//!   listen queue (bounded by its backlog, costing the service nothing) until one closes.
//!
//! Hyper's own `header_read_timeout` is not used: it also runs while a kept-alive connection
//! waits for its next request, so the idle timeout could never be longer than it.
//!
//! On shutdown the listener closes, connections with no request in flight close at once, and
//! those answering one finish it first.

use std::{
    convert::Infallible,
    io,
    pin::Pin,
    sync::{Arc, Mutex, PoisonError},
    task::{Context, Poll},
    time::Duration,
};

use axum::{Router, body::Body};
use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{Notify, OwnedSemaphorePermit, Semaphore, watch},
    time::Instant,
};
use tower::ServiceExt as _;

/// How connections are bounded (see the module docs).
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Time for a whole request head.
    pub header_read_timeout: Duration,
    /// Time a kept-alive connection may wait for its next request.
    pub idle_timeout: Duration,
    /// Most connections open at once.
    pub max_connections: u32,
}

/// Serves `router` on `listener` until `shutdown` turns `true` (or its sender is gone), then
/// waits for every connection to close.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    mut shutdown: watch::Receiver<bool>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections as usize));
    loop {
        // A permit first: past the limit the next connection stays in the listen queue.
        let permit = tokio::select! {
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            _ = shutdown.wait_for(|stop| *stop) => break,
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.wait_for(|stop| *stop) => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(error) if is_connection_error(&error) => continue,
            Err(error) => {
                // Out of file descriptors, say: wait a little rather than spin.
                tracing::error!(%error, "cannot accept a connection");
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    _ = shutdown.wait_for(|stop| *stop) => break,
                }
            }
        };
        tokio::spawn(serve_connection(
            stream,
            router.clone(),
            limits,
            shutdown.clone(),
            permit,
        ));
    }
    drop(listener);
    // Each connection holds a permit until it closes: all of them back means all closed.
    let _all_closed = permits.acquire_many(limits.max_connections).await;
}

/// Errors of one connection that was reset before it was accepted: nothing to wait for.
fn is_connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

async fn serve_connection(
    stream: TcpStream,
    router: Router,
    limits: ConnectionLimits,
    mut shutdown: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
) {
    // Small answers go out at once rather than after Nagle's delay; a failure changes nothing else.
    let _ = stream.set_nodelay(true);
    let activity = Arc::new(Activity::new(limits));
    let io = TokioIo::new(Watched {
        stream,
        activity: Arc::clone(&activity),
    });
    let requests = Arc::clone(&activity);
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let in_flight = InFlight::begin(&requests);
        let answer = router.clone().oneshot(request.map(Body::new));
        async move {
            let response = answer.await?;
            Ok::<_, Infallible>(response.map(|body| InFlightBody {
                body,
                _in_flight: in_flight,
            }))
        }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        // Enforced by `Activity`; hyper's would also cut idle kept-alive connections.
        .header_read_timeout(None)
        .serve_connection(io, service);
    tokio::pin!(connection);
    let mut draining = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%error, "connection ended with an error");
                }
                break;
            }
            why = activity.expired() => {
                tracing::debug!(why, "closing a connection");
                break;
            }
            _ = shutdown.wait_for(|stop| *stop), if !draining => {
                draining = true;
                activity.drain();
                connection.as_mut().graceful_shutdown();
            }
        }
    }
}

/// Where a connection is between requests.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Waiting for a request head: since when, since when its first byte came, and whether it
    /// would be the connection's first request.
    Waiting {
        since: Instant,
        first_byte: Option<Instant>,
        first_request: bool,
    },
    /// This many requests are being answered (head read, answer not yet all written).
    Answering(usize),
}

/// What one connection is doing, for its deadlines.
#[derive(Debug)]
struct Activity {
    limits: ConnectionLimits,
    state: Mutex<State>,
    changed: Notify,
}

#[derive(Debug)]
struct State {
    phase: Phase,
    draining: bool,
}

impl Activity {
    fn new(limits: ConnectionLimits) -> Self {
        Self {
            limits,
            state: Mutex::new(State {
                phase: Phase::Waiting {
                    since: Instant::now(),
                    first_byte: None,
                    first_request: true,
                },
                draining: false,
            }),
            changed: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Bytes came in: the first byte of a head starts its deadline.
    fn received(&self) {
        let mut state = self.lock();
        if let Phase::Waiting {
            first_byte: first_byte @ None,
            ..
        } = &mut state.phase
        {
            *first_byte = Some(Instant::now());
            drop(state);
            self.changed.notify_one();
        }
    }

    /// The service is shutting down: a connection with no request in flight closes now.
    fn drain(&self) {
        self.lock().draining = true;
        self.changed.notify_one();
    }

    /// When the connection must close, and why; `None` while a request is being answered.
    fn deadline(&self) -> Option<(Instant, &'static str)> {
        let state = self.lock();
        let Phase::Waiting {
            since,
            first_byte,
            first_request,
        } = state.phase
        else {
            return None;
        };
        let limits = &self.limits;
        Some(match (state.draining, first_byte, first_request) {
            (true, _, _) => (Instant::now(), "shutting down"),
            (false, Some(at), _) => (at + limits.header_read_timeout, "request head too slow"),
            (false, None, true) => (since + limits.header_read_timeout, "no request sent"),
            (false, None, false) => (since + limits.idle_timeout, "idle"),
        })
    }

    /// Resolves when the connection is past its deadline.
    async fn expired(&self) -> &'static str {
        loop {
            // `notify_one` keeps a permit when nobody waits, so no change is missed.
            let changed = self.changed.notified();
            match self.deadline() {
                None => changed.await,
                Some((at, why)) => {
                    if at <= Instant::now() {
                        return why;
                    }
                    tokio::select! {
                        () = tokio::time::sleep_until(at) => {}
                        () = changed => {}
                    }
                }
            }
        }
    }
}

/// A request being answered, from its head until its answer is written (or given up).
#[derive(Debug)]
struct InFlight(Arc<Activity>);

impl InFlight {
    fn begin(activity: &Arc<Activity>) -> Self {
        let mut state = activity.lock();
        state.phase = match state.phase {
            Phase::Answering(n) => Phase::Answering(n + 1),
            Phase::Waiting { .. } => Phase::Answering(1),
        };
        drop(state);
        activity.changed.notify_one();
        Self(Arc::clone(activity))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.phase = match state.phase {
            Phase::Answering(n) if n > 1 => Phase::Answering(n - 1),
            _ => Phase::Waiting {
                since: Instant::now(),
                first_byte: None,
                first_request: false,
            },
        };
        drop(state);
        self.0.changed.notify_one();
    }
}

/// A response body that keeps its request in flight until hyper has taken all of it.
#[derive(Debug)]
struct InFlightBody {
    body: Body,
    _in_flight: InFlight,
}

impl HttpBody for InFlightBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The connection's socket, telling its [`Activity`] when bytes come in.
#[derive(Debug)]
struct Watched {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = Pin::new(&mut this.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.activity.received();
        }
        result
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
