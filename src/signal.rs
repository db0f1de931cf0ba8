//! Ctrl-C and SIGTERM while outbound changes AWS: the first signal cancels a token (no new
//! change starts, those in flight finish, the state is saved, the lock released); the second
//! ends the run at once (the lock is still released). Listening starts only once there is
//! something to stop: before that, the signals keep their default effect.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use tokio_util::sync::CancellationToken;

/// Which signal stopped the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT, Ctrl-C.
    Interrupt,
    /// SIGTERM, how CI runners cancel a job.
    Terminate,
}

impl Signal {
    pub fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "Ctrl-C (SIGINT)",
            Signal::Terminate => "SIGTERM",
        }
    }
}

/// The signals received so far, while listening.
pub struct Signals {
    first: CancellationToken,
    second: CancellationToken,
    /// 0 none, 1 SIGINT, 2 SIGTERM: the first one received.
    which: Arc<AtomicU8>,
}

impl Signals {
    /// Listens for SIGINT and SIGTERM on the current runtime from now on.
    pub fn listen() -> std::io::Result<Signals> {
        let signals = Signals {
            first: CancellationToken::new(),
            second: CancellationToken::new(),
            which: Arc::default(),
        };
        let (first, second, which) = (
            signals.first.clone(),
            signals.second.clone(),
            Arc::clone(&signals.which),
        );
        let mut received = receiver()?;
        tokio::spawn(async move {
            while let Some(signal) = received.next().await {
                if first.is_cancelled() {
                    second.cancel();
                    continue;
                }
                which.store(signal as u8 + 1, Ordering::SeqCst);
                first.cancel();
                crate::render::message(&format!(
                    "\n{} received: no new change starts; the changes in flight finish, then \
                     the state is saved and the lock released. Ctrl-C again to stop at once.\n",
                    signal.name()
                ));
            }
        });
        Ok(signals)
    }

    /// Cancelled at the first signal.
    pub fn token(&self) -> CancellationToken {
        self.first.clone()
    }

    /// Resolves at the second signal.
    pub async fn forced(&self) {
        self.second.cancelled().await;
    }

    /// The first signal received, if any.
    pub fn received(&self) -> Option<Signal> {
        match self.which.load(Ordering::SeqCst) {
            1 => Some(Signal::Interrupt),
            2 => Some(Signal::Terminate),
            _ => None,
        }
    }
}

/// SIGINT and SIGTERM as one stream.
struct Receiver {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

fn receiver() -> std::io::Result<Receiver> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Receiver {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }
    #[cfg(not(unix))]
    Ok(Receiver {})
}

impl Receiver {
    async fn next(&mut self) -> Option<Signal> {
        #[cfg(unix)]
        {
            tokio::select! {
                s = self.interrupt.recv() => s.map(|()| Signal::Interrupt),
                s = self.terminate.recv() => s.map(|()| Signal::Terminate),
            }
        }
        #[cfg(not(unix))]
        {
            tokio::signal::ctrl_c()
                .await
                .ok()
                .map(|()| Signal::Interrupt)
        }
    }
}
