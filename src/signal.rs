//! Ctrl-C and SIGTERM while outbound holds the state's lock (`apply`, `import`): the first
//! signal cancels a token: the reads of AWS stop at once ([`unless_stopped`]: nothing was
//! changed), no new change starts, the changes in flight finish, the state is saved and the
//! lock released. The second ends the run at once, whatever it is doing (reading, planning,
//! applying, a large plan's checks): the listener itself releases the locks this process
//! holds (`crate::store::release_held`) and exits 130 or 143 (after the first signal).
//! Listening starts only once there is something to stop: before that, the signals keep their
//! default effect.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, Ordering};

use tokio_util::sync::CancellationToken;

/// The first-signal token of the listening [`Signals`], for the reads that do not hold it.
static LISTENING: Mutex<Option<CancellationToken>> = Mutex::new(None);

/// A run stopped by a signal before it changed anything (see [`unless_stopped`]).
#[derive(Debug, thiserror::Error)]
#[error("stopped by {} while AWS was read; no change was made to AWS", .0.name())]
pub struct Stopped(pub Signal);

/// Runs `f` (reads of AWS) unless a first signal arrives meanwhile: then `f` is dropped (its
/// requests abandoned; reads change nothing) and [`Stopped`] returned. Without a listener (a
/// `plan`, a `drift`), just `f`.
pub async fn unless_stopped<F: std::future::Future>(f: F) -> Result<F::Output, Stopped> {
    let token = LISTENING.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let Some(token) = token else {
        return Ok(f.await);
    };
    tokio::select! {
        biased;
        () = token.cancelled() => Err(Stopped(first_signal())),
        out = f => Ok(out),
    }
}

/// The signal that stopped a run, if `e` is a [`Stopped`].
pub fn stopped(e: &anyhow::Error) -> Option<Signal> {
    e.downcast_ref::<Stopped>().map(|s| s.0)
}

/// The first signal received (asked once a token was cancelled by one).
fn first_signal() -> Signal {
    match FIRST.load(Ordering::SeqCst) {
        2 => Signal::Terminate,
        _ => Signal::Interrupt,
    }
}

/// 0 none, 1 SIGINT, 2 SIGTERM: the first signal received by this process.
static FIRST: AtomicU8 = AtomicU8::new(0);

/// Which signal stopped the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT, Ctrl-C.
    Interrupt,
    /// SIGTERM, how CI runners cancel a job.
    Terminate,
}

impl Signal {
    /// 128 + its number, as shells report it: 130 SIGINT, 143 SIGTERM.
    pub fn exit_code(self) -> u8 {
        match self {
            Signal::Interrupt => 130,
            Signal::Terminate => 143,
        }
    }

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
}

impl Signals {
    /// Listens for SIGINT and SIGTERM on the current runtime from now on.
    pub fn listen() -> std::io::Result<Signals> {
        let signals = Signals {
            first: CancellationToken::new(),
        };
        let first = signals.first.clone();
        *LISTENING.lock().unwrap_or_else(|e| e.into_inner()) = Some(first.clone());
        let mut received = receiver()?;
        tokio::spawn(async move {
            while let Some(signal) = received.next().await {
                if first.is_cancelled() {
                    forced_exit();
                }
                FIRST.store(signal as u8 + 1, Ordering::SeqCst);
                first.cancel();
                crate::render::message(&format!(
                    "\n{} received: outbound stops at the next safe point (the reads of AWS \
                     stop, no new change starts, the changes in flight finish), then the state \
                     is saved and the lock released. Ctrl-C again to stop at once.\n",
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

    /// The first signal received, if any.
    pub fn received(&self) -> Option<Signal> {
        self.first.is_cancelled().then(first_signal)
    }
}

impl Drop for Signals {
    fn drop(&mut self) {
        *LISTENING.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// The second signal: the locks this process holds are released, then the process ends with
/// the first signal's code.
fn forced_exit() -> ! {
    let signal = first_signal();
    crate::render::message(
        "Stopped at once: changes in flight may have happened in AWS; the next plan finds \
         them.\n",
    );
    crate::store::release_held();
    std::process::exit(i32::from(signal.exit_code()));
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
