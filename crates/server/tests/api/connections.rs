//! Slow and idle clients: the header-read timeout, the idle timeout, the connection limit, and
//! shutdown with such clients connected. Raw TCP, since HTTP clients do not misbehave on demand.

use std::time::Duration;

use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::TcpStream,
    time::{Instant, timeout},
};

use crate::helpers::{AppOptions, TestApp, configure, spawn_app_with};

/// An app whose connections are bounded by these settings (seconds, seconds, count).
async fn app_with(header_read: u64, idle: u64, max_connections: u32) -> TestApp {
    spawn_app_with(AppOptions {
        settings: configure(move |settings| {
            settings.connections.header_read_timeout_secs = header_read;
            settings.connections.idle_timeout_secs = idle;
            settings.connections.max_connections = max_connections;
        }),
        hydrate: true,
        ..AppOptions::default()
    })
    .await
}

/// How long until the server closes `stream` (end of file or a reset), reading and discarding
/// whatever it sends; `None` if it is still open after `limit`.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buffer = [0u8; 4096];
    loop {
        let left = limit.checked_sub(started.elapsed())?;
        match timeout(left, stream.read(&mut buffer)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => {}
        }
    }
}

/// Reads one `/healthz` answer (its body is `ok`) off a kept-alive connection.
async fn read_healthz_answer(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    while !String::from_utf8_lossy(&answer).ends_with("\r\n\r\nok") {
        let n = timeout(Duration::from_secs(3), stream.read(&mut buffer))
            .await
            .expect("an answer within 3 s")
            .expect("read");
        assert!(n > 0, "closed before answering: {answer:?}");
        answer.extend_from_slice(&buffer[..n]);
    }
    String::from_utf8(answer).unwrap()
}

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n";

#[tokio::test]
async fn half_a_request_head_is_cut_off_at_the_header_read_timeout() {
    let app = app_with(1, 30, 64).await;
    let mut half = TcpStream::connect(app.socket).await.unwrap();
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n")
        .await
        .unwrap();
    let mut silent = TcpStream::connect(app.socket).await.unwrap();

    let closed = closed_within(&mut half, Duration::from_secs(5)).await;
    let closed = closed.expect("a half-sent head is cut off");
    assert!(closed >= Duration::from_millis(800), "{closed:?}");
    assert!(closed < Duration::from_secs(3), "{closed:?}");
    // A connection that sends nothing at all has no longer.
    let closed = closed_within(&mut silent, Duration::from_secs(3)).await;
    assert!(closed.is_some(), "a silent connection is cut off too");
}

/// The deadline is for the whole head: a header line every 300 ms does not extend it.
#[tokio::test]
async fn a_head_dribbled_line_by_line_is_cut_off_at_the_header_read_timeout() {
    let app = app_with(1, 30, 64).await;
    let stream = TcpStream::connect(app.socket).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let started = Instant::now();
    let dribble = tokio::spawn(async move {
        if writer
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n")
            .await
            .is_err()
        {
            return;
        }
        for line in 0.. {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let header = format!("X-Dribble-{line}: still here\r\n");
            if writer.write_all(header.as_bytes()).await.is_err() {
                return;
            }
        }
    });
    let mut buffer = [0u8; 1024];
    let read = timeout(Duration::from_secs(5), reader.read(&mut buffer)).await;
    dribble.abort();
    assert!(
        matches!(read, Ok(Ok(0) | Err(_))),
        "still open (or answered) after 5 s: {read:?}"
    );
    let closed = started.elapsed();
    assert!(closed >= Duration::from_millis(800), "{closed:?}");
    assert!(closed < Duration::from_secs(3), "{closed:?}");
}

/// A kept-alive connection serves more requests, then closes after the idle timeout; a
/// header-read timeout shorter than the idle one does not cut the wait between requests short.
#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_after_the_idle_timeout() {
    let app = app_with(1, 2, 64).await;
    let mut stream = TcpStream::connect(app.socket).await.unwrap();
    stream.write_all(HEALTHZ).await.unwrap();
    let answer = read_healthz_answer(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    // Longer than the header-read timeout, shorter than the idle one: still open.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stream.write_all(HEALTHZ).await.unwrap();
    let answer = read_healthz_answer(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");

    let closed = closed_within(&mut stream, Duration::from_secs(6)).await;
    let closed = closed.expect("an idle connection is closed");
    assert!(closed >= Duration::from_millis(1800), "{closed:?}");
    assert!(closed < Duration::from_secs(4), "{closed:?}");
}

/// Past MAX_CONNECTIONS a new connection is not accepted (it waits in the kernel's listen
/// queue, costing the service nothing) and is served as soon as another one closes.
#[tokio::test]
async fn connections_past_the_limit_wait_until_one_closes() {
    let app = app_with(10, 30, 2).await;
    let mut first = TcpStream::connect(app.socket).await.unwrap();
    first.write_all(HEALTHZ).await.unwrap();
    read_healthz_answer(&mut first).await;
    let second = TcpStream::connect(app.socket).await.unwrap();

    let mut third = TcpStream::connect(app.socket).await.unwrap();
    third.write_all(HEALTHZ).await.unwrap();
    let mut buffer = [0u8; 1024];
    let early = timeout(Duration::from_millis(700), third.read(&mut buffer)).await;
    assert!(early.is_err(), "served past the limit: {early:?}");

    drop(second);
    let answer = read_healthz_answer(&mut third).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    // The first connection is still served.
    first.write_all(HEALTHZ).await.unwrap();
    read_healthz_answer(&mut first).await;
}

/// Shutdown does not wait for clients that never finish a request: connections with no request
/// in flight are closed at once.
#[tokio::test]
async fn shutdown_does_not_wait_for_slow_or_idle_clients() {
    let app = app_with(30, 60, 64).await;
    let mut half = TcpStream::connect(app.socket).await.unwrap();
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: te")
        .await
        .unwrap();
    let mut idle = TcpStream::connect(app.socket).await.unwrap();
    idle.write_all(HEALTHZ).await.unwrap();
    read_healthz_answer(&mut idle).await;

    timeout(Duration::from_secs(5), app.shutdown())
        .await
        .expect("shutdown within 5 s");
    assert!(
        closed_within(&mut half, Duration::from_secs(1))
            .await
            .is_some()
    );
    assert!(
        closed_within(&mut idle, Duration::from_secs(1))
            .await
            .is_some()
    );
}
