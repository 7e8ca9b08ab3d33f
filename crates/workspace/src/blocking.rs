//! Read-only work on tokio's blocking pool that stops when its asker gives up.
//!
//! tower-lsp answers `$/cancelRequest` by dropping the request's future, and the MCP
//! handler drops a tool call's future when the client cancels it; a closure already on
//! the blocking pool would run on regardless, holding the analysis' read lock (and so
//! delaying the next edit). Here the future holds a guard that cancels the work's token
//! when it is dropped, and the work runs in a [`cancel::scope`], so that its next
//! `check` (in a graph walk, a symbol search, a ranking) ends it.

use codecontext_analysis::cancel::{self, Cancel, Cancelled};
use tokio::task::JoinError;

/// How the work ended.
pub enum Ended<T> {
    Done(T),
    Cancelled,
    /// It panicked (the message), or the pool is shutting down.
    Failed(String),
}

/// Runs `work` on the blocking pool; dropping the returned future cancels it.
pub async fn cancellable<T, F>(work: F) -> Ended<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let token = Cancel::new();
    let armed = token.on_drop();
    let job = tokio::task::spawn_blocking(move || cancel::scope(&token, work));
    let ended = job.await;
    armed.disarm();
    match ended {
        Ok(Ok(value)) => Ended::Done(value),
        Ok(Err(Cancelled)) => Ended::Cancelled,
        Err(e) => Ended::Failed(panic_message(e)),
    }
}

fn panic_message(e: JoinError) -> String {
    match e.try_into_panic() {
        Ok(payload) => payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".into()),
        Err(e) => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    /// Work that would never end on its own stops once its future is dropped (as
    /// tower-lsp drops a request's future on `$/cancelRequest`).
    #[tokio::test]
    async fn dropping_the_future_stops_the_work() {
        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        let (ended_tx, ended_rx) = mpsc::channel::<&'static str>();
        struct Ends(mpsc::Sender<&'static str>);
        impl Drop for Ends {
            fn drop(&mut self) {
                let _ = self.0.send(if std::thread::panicking() {
                    "unwound"
                } else {
                    "returned"
                });
            }
        }
        let request = tokio::spawn(cancellable(move || {
            let _ends = Ends(ended_tx);
            let _ = started_tx.send(());
            loop {
                cancel::check();
                std::thread::yield_now();
            }
        }));
        started_rx.await.expect("the work started");
        request.abort();
        let how = tokio::task::spawn_blocking(move || {
            ended_rx.recv_timeout(std::time::Duration::from_secs(30))
        })
        .await
        .expect("joined");
        assert_eq!(
            how,
            Ok("unwound"),
            "the work went on after its future was dropped"
        );
    }

    #[tokio::test]
    async fn finished_work_answers_and_panics_are_reported() {
        assert!(matches!(cancellable(|| 42).await, Ended::Done(42)));
        match cancellable(|| -> u8 { panic!("a bug") }).await {
            Ended::Failed(why) => assert_eq!(why, "a bug"),
            _ => panic!("a panic is a failure"),
        }
    }
}
