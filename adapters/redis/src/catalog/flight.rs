//! Single flight: concurrent reads of one key within the process share one load.
//!
//! A cold key under load (a product page shared on social media) would otherwise send every
//! concurrent request to Redis and, on a miss, to the database. The first reader of a key
//! starts a flight; readers arriving while it is in the air wait for its result instead of
//! loading again. The flight ends when its result is ready: the next reader starts a new one
//! (and finds the value in Redis, which the flight filled).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::OnceCell;

/// The flights in the air, by key. `T` is the shared result (cheap to clone).
#[derive(Debug)]
pub(crate) struct Flights<T> {
    in_air: Mutex<HashMap<String, Arc<OnceCell<T>>>>,
}

impl<T> Default for Flights<T> {
    fn default() -> Self {
        Flights { in_air: Mutex::new(HashMap::new()) }
    }
}

/// Whether this caller ran the load itself or shared another caller's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// This caller ran `load`.
    Loaded,
    /// Another caller's load answered.
    Shared,
}

impl<T: Clone + Send + Sync> Flights<T> {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<OnceCell<T>>>> {
        self.in_air.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The result of the flight of `key`: joins the one in the air, or starts one that runs
    /// `load`.
    ///
    /// Cancellation-safe: if the caller that started a flight is dropped mid-load, a waiting
    /// caller runs its own `load` in its place (`OnceCell` semantics), and the abandoned
    /// flight leaves the table.
    pub(crate) async fn run<F, Fut>(&self, key: &str, load: F) -> (T, Role)
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        let (cell, _landing) = {
            let mut in_air = self.lock();
            match in_air.get(key) {
                Some(cell) => (Arc::clone(cell), None),
                None => {
                    let cell = Arc::new(OnceCell::new());
                    in_air.insert(key.to_owned(), Arc::clone(&cell));
                    let landing = Landing { flights: self, key, cell: Arc::clone(&cell) };
                    (cell, Some(landing))
                }
            }
        };
        let mut role = Role::Shared;
        let value = cell
            .get_or_init(|| {
                role = Role::Loaded;
                load()
            })
            .await
            .clone();
        (value, role)
    }

    /// Grounds the flights of `keys`: readers arriving from now on start new ones. Writers
    /// call this after changing the source, so that no reader that starts after the write
    /// shares a load that began before it.
    pub(crate) fn ground(&self, keys: &[String]) {
        let mut in_air = self.lock();
        for key in keys {
            in_air.remove(key);
        }
    }

    /// How many flights are in the air (for tests).
    #[cfg(test)]
    pub(crate) fn in_air(&self) -> usize {
        self.lock().len()
    }
}

/// Removes a flight from the table when its starter finishes or is dropped; a newer flight
/// of the same key (after `ground`) is left alone.
struct Landing<'a, T: Clone + Send + Sync> {
    flights: &'a Flights<T>,
    key: &'a str,
    cell: Arc<OnceCell<T>>,
}

impl<T: Clone + Send + Sync> Drop for Landing<'_, T> {
    fn drop(&mut self) {
        let mut in_air = self.flights.lock();
        if in_air.get(self.key).is_some_and(|current| Arc::ptr_eq(current, &self.cell)) {
            in_air.remove(self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use tokio::sync::Notify;

    use super::*;

    #[tokio::test]
    async fn concurrent_callers_share_one_load() {
        let flights = Arc::new(Flights::<u32>::default());
        let loads = Arc::new(AtomicUsize::new(0));
        let release = Arc::new(Notify::new());
        let entered = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..32 {
            let (flights, loads, release, entered) = (
                Arc::clone(&flights),
                Arc::clone(&loads),
                Arc::clone(&release),
                Arc::clone(&entered),
            );
            tasks.push(tokio::spawn(async move {
                entered.fetch_add(1, Ordering::SeqCst);
                flights
                    .run("k", || async move {
                        loads.fetch_add(1, Ordering::SeqCst);
                        release.notified().await;
                        7
                    })
                    .await
            }));
        }
        // On this single-threaded runtime a task runs from `entered` to its first pending
        // await (the loader's release, or the shared cell) in one poll: once all 32 have
        // entered, all are parked on the flight.
        while entered.load(Ordering::SeqCst) < 32 {
            tokio::task::yield_now().await;
        }
        release.notify_one();

        let mut loaded = 0;
        for t in tasks {
            let (value, role) = t.await.expect("task");
            assert_eq!(value, 7);
            loaded += usize::from(role == Role::Loaded);
        }
        assert_eq!(loads.load(Ordering::SeqCst), 1);
        assert_eq!(loaded, 1);
        assert_eq!(flights.in_air(), 0, "the flight landed");
    }

    #[tokio::test]
    async fn a_grounded_flight_is_not_joined_by_later_callers() {
        let flights = Arc::new(Flights::<u32>::default());
        let release = Arc::new(Notify::new());
        let first = {
            let (flights, release) = (Arc::clone(&flights), Arc::clone(&release));
            tokio::spawn(async move {
                flights
                    .run("k", || async move {
                        release.notified().await;
                        1
                    })
                    .await
            })
        };
        while flights.in_air() == 0 {
            tokio::task::yield_now().await;
        }

        flights.ground(&["k".to_owned()]);
        let (after, role) = flights.run("k", || async { 2 }).await;
        release.notify_one();

        assert_eq!((after, role), (2, Role::Loaded), "a reader after the write loads afresh");
        assert_eq!(first.await.expect("task").0, 1);
        assert_eq!(flights.in_air(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_starter_hands_the_load_to_a_waiting_caller() {
        let flights = Arc::new(Flights::<u32>::default());
        let starter = {
            let flights = Arc::clone(&flights);
            tokio::spawn(async move {
                flights
                    .run("k", || async {
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                        1
                    })
                    .await
            })
        };
        while flights.in_air() == 0 {
            tokio::task::yield_now().await;
        }
        let waiter = {
            let flights = Arc::clone(&flights);
            tokio::spawn(async move { flights.run("k", || async { 2 }).await })
        };
        tokio::task::yield_now().await;

        starter.abort();
        let (value, role) = waiter.await.expect("waiter");

        assert_eq!((value, role), (2, Role::Loaded));
        assert_eq!(flights.in_air(), 0);
    }
}
