//! Running the shop: the HTTP server and its background workers, with graceful shutdown.

use std::net::SocketAddr;
use std::time::Duration;

use shopkit_core::services::{DispatchConfig, Dispatcher};
use shopkit_memory::InMemory;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::ShopConfig;
use crate::wiring::{MAINTENANCE_EVERY, StartError, Wiring, compose};

/// A running shop: its address, the memory backend (embedded profile), and the handles
/// to stop it.
pub struct RunningShop {
    addr: SocketAddr,
    memory: Option<InMemory>,
    stop: watch::Sender<bool>,
    server: JoinHandle<std::io::Result<()>>,
    workers: Vec<JoinHandle<()>>,
    dispatcher: Dispatcher,
    /// The HTTP state, for the checkouts still running detached at shutdown.
    http: shopkit_http::AppState,
    grace: Duration,
}

impl std::fmt::Debug for RunningShop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningShop").field("addr", &self.addr).finish_non_exhaustive()
    }
}

/// Composes the configured profile and starts serving on `listener` (tests bind port 0),
/// with the outbox worker and the maintenance worker running.
///
/// # Errors
/// [`StartError`] naming what to fix.
pub async fn start(config: ShopConfig, listener: TcpListener) -> Result<RunningShop, StartError> {
    let addr = listener
        .local_addr()
        .map_err(|source| StartError::Listen { addr: config.listen, source })?;
    let wiring = compose(&config).await?;
    Ok(launch(wiring, listener, addr, config.shutdown_grace))
}

fn launch(wiring: Wiring, listener: TcpListener, addr: SocketAddr, grace: Duration) -> RunningShop {
    let Wiring { shop, state, subscribers, memory, clock, .. } = wiring;
    let (stop, stopped) = watch::channel(false);
    let http = state.clone();
    let router = shopkit_http::router(state);
    let mut server_stop = stopped.clone();
    let server = tokio::spawn(shopkit_http::serve(listener, router, async move {
        let _ = server_stop.wait_for(|s| *s).await;
    }));

    let dispatcher = shop.dispatcher_with(subscribers.list(), DispatchConfig::default());
    let outbox = tokio::spawn(outbox_worker(dispatcher.clone(), stopped.clone()));
    let maintenance = tokio::spawn(maintenance_worker(shop, clock, stopped));
    RunningShop {
        addr,
        memory,
        stop,
        server,
        workers: vec![outbox, maintenance],
        dispatcher,
        http,
        grace,
    }
}

/// Stale checkouts settled per maintenance round.
const RECOVERY_BATCH: usize = 100;

/// Delivers outbox events as they come: a round whenever the last one found work, else a
/// short pause.
async fn outbox_worker(dispatcher: Dispatcher, mut stopped: watch::Receiver<bool>) {
    loop {
        let busy = match dispatcher.run_once().await {
            Ok(report) => report.total() > 0,
            Err(e) => {
                tracing::warn!(error = %e, "outbox round failed");
                false
            }
        };
        if busy {
            continue;
        }
        tokio::select! {
            _ = stopped.wait_for(|s| *s) => return,
            () = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
    }
}

/// Settles checkouts cut off mid-way (finished, or everything they held given back),
/// expires lapsed reservations (stock comes back) and emits abandoned-cart events.
async fn maintenance_worker(
    shop: shopkit_core::services::Shop,
    clock: std::sync::Arc<dyn shopkit_core::ports::Clock>,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = stopped.wait_for(|s| *s) => return,
            () = tokio::time::sleep(MAINTENANCE_EVERY) => {}
        }
        match shop.checkout().recover(RECOVERY_BATCH).await {
            Ok(report) if report.failed > 0 => {
                tracing::warn!(failed = report.failed, "stale checkouts left for the next round");
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "checkout recovery failed"),
        }
        let now = clock.now();
        match shop.inventory().release_expired(now).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(released = n, "expired reservations released"),
            Err(e) => tracing::warn!(error = %e, "reservation expiry failed"),
        }
        match shop.carts().sweep_abandoned(now, 500).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(carts = n, "abandoned carts found"),
            Err(e) => tracing::warn!(error = %e, "abandoned-cart sweep failed"),
        }
    }
}

impl RunningShop {
    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The memory backend, in the embedded profile.
    pub fn memory(&self) -> Option<&InMemory> {
        self.memory.as_ref()
    }

    /// Stops gracefully: the server stops accepting and finishes in-flight requests,
    /// checkouts still running detached from their requests finish, the workers stop, then
    /// the outbox is drained (events written by the last requests are delivered); each
    /// stage gets up to the configured grace period.
    ///
    /// # Errors
    /// The server's I/O error, if it failed.
    pub async fn shutdown(self) -> std::io::Result<()> {
        let _ = self.stop.send(true);
        let served = match tokio::time::timeout(self.grace, self.server).await {
            Ok(Ok(result)) => result,
            Ok(Err(join)) => Err(std::io::Error::other(join)),
            Err(_) => {
                tracing::warn!("in-flight requests did not finish within the grace period");
                Ok(())
            }
        };
        let unfinished = self.http.drain(self.grace).await;
        if unfinished > 0 {
            tracing::warn!(
                checkouts = unfinished,
                "checkouts still running at the end of the grace period; a retry with the same key resumes them"
            );
        }
        for worker in self.workers {
            let _ = worker.await;
        }
        let deadline = tokio::time::Instant::now() + self.grace;
        while tokio::time::Instant::now() < deadline {
            match self.dispatcher.run_once().await {
                Ok(report) if report.total() == 0 => break,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "outbox drain failed");
                    break;
                }
            }
        }
        served
    }
}
