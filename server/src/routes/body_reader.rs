//! A request body as a blocking reader: its chunks go through a small
//! channel from the runtime to a blocking thread, so that a store call can
//! read a body of any size without holding it in memory or the runtime.

use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use futures_util::StreamExt;
use tokio::sync::mpsc::{Receiver, Sender, channel};

use crate::errors::ApiError;

/// A body on its way to a blocking reader.
pub(crate) struct Streamed {
    /// The body's bytes, as they arrive.
    pub(crate) reader: ChannelReader,
    /// Set when the body went past its limit (the reader then fails).
    pub(crate) too_large: Arc<AtomicBool>,
}

/// Starts moving `body` into a reader, `chunks` chunks in flight at most,
/// cut off past `limit` bytes.
pub(crate) fn stream(body: Body, limit: u64, chunks: usize) -> Streamed {
    let too_large = Arc::new(AtomicBool::new(false));
    let (tx, rx) = channel(chunks);
    tokio::spawn(forward(body, tx, limit, too_large.clone()));
    Streamed {
        reader: ChannelReader::new(rx),
        too_large,
    }
}

impl Streamed {
    /// What a failure while reading the body is: 413 when the body went
    /// past its limit, else `e`.
    pub(crate) fn error(too_large: &AtomicBool, what: &str, e: ApiError) -> ApiError {
        if too_large.load(Ordering::Relaxed) {
            too_large_error(what)
        } else {
            e
        }
    }
}

/// 413: `what` (the payee list, the change file) is over the limit.
pub(crate) fn too_large_error(what: &str) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        format!("{what} is larger than the service accepts"),
    )
}

/// Moves the body's chunks into the channel, and stops at the size limit.
async fn forward(
    body: Body,
    tx: Sender<io::Result<Bytes>>,
    limit: u64,
    too_large: Arc<AtomicBool>,
) {
    let mut stream = body.into_data_stream();
    let mut total = 0u64;
    while let Some(chunk) = stream.next().await {
        let item = match chunk {
            Ok(bytes) => {
                total += bytes.len() as u64;
                if total > limit {
                    too_large.store(true, Ordering::Relaxed);
                    Err(io::Error::other(
                        "the body is larger than the service accepts",
                    ))
                } else {
                    Ok(bytes)
                }
            }
            Err(e) => Err(io::Error::other(e)),
        };
        let stop = item.is_err();
        if tx.send(item).await.is_err() || stop {
            return;
        }
    }
}

/// The body's chunks as a blocking reader.
pub(crate) struct ChannelReader {
    rx: Receiver<io::Result<Bytes>>,
    buf: Bytes,
}

impl ChannelReader {
    /// A reader of the chunks `forward` sends.
    pub(crate) fn new(rx: Receiver<io::Result<Bytes>>) -> ChannelReader {
        ChannelReader {
            rx,
            buf: Bytes::new(),
        }
    }
}

impl Read for ChannelReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.buf.is_empty() {
            match self.rx.blocking_recv() {
                Some(chunk) => self.buf = chunk?,
                None => return Ok(0),
            }
        }
        let n = out.len().min(self.buf.len());
        out[..n].copy_from_slice(&self.buf.split_to(n));
        Ok(n)
    }
}
