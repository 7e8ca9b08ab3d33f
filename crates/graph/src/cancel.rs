//! Cooperative cancellation of a request's work.
//!
//! A request runs its work inside [`scope`] with a [`Cancel`] token; the loops that can
//! run long (graph walks, symbol searches, reference lists, ranking) call [`check`] as
//! they go. Once the token is cancelled (the client sent `$/cancelRequest`, an MCP
//! client cancelled its call, the request's future was dropped), the next `check`
//! unwinds to the scope, dropping every lock guard on the way, and the scope answers
//! `Err(Cancelled)`. The unwind carries a [`Cancelled`] payload, so the panic hook does
//! not run and any other panic passes through untouched. Outside a scope, `check` does
//! nothing: the core's callers that never cancel pay one thread-local read.
//!
//! This is salsa's and rust-analyzer's way ("unwind if cancelled"): no result type
//! threads through every query for a condition that only ends the work.
//!
//! A request also has a time budget ([`within`]). Running out of it does not unwind:
//! the loops that can stop early and still say something true (a walk, a search, a
//! ranking) ask [`out_of_time`], keep what they have found, and the answer is marked
//! truncated ([`was_cut`], or the flag `within` returns).

use std::{
    cell::{Cell, RefCell},
    panic::{catch_unwind, resume_unwind, AssertUnwindSafe},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

/// A request's cancellation flag, shared between whoever may cancel it and its work.
#[derive(Clone, Debug, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn new() -> Cancel {
        Cancel::default()
    }

    /// Asks the work to stop at its next [`check`].
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// A guard that cancels the work when it is dropped, unless [`Armed::disarm`]ed
    /// first: held by a request's future, it stops the work when the future is dropped
    /// midway (the way tower-lsp answers `$/cancelRequest`).
    pub fn on_drop(&self) -> Armed {
        Armed(Some(self.clone()))
    }
}

/// See [`Cancel::on_drop`].
#[derive(Debug)]
pub struct Armed(Option<Cancel>);

impl Armed {
    /// The work is done: dropping the guard no longer cancels anything.
    pub fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for Armed {
    fn drop(&mut self) {
        if let Some(cancel) = self.0.take() {
            cancel.cancel();
        }
    }
}

/// The work was cancelled before it finished.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cancelled;

impl std::fmt::Display for Cancelled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("cancelled")
    }
}

impl std::error::Error for Cancelled {}

thread_local! {
    static CURRENT: RefCell<Option<Cancel>> = const { RefCell::new(None) };
}

/// Runs `work` on this thread with `cancel` as the token its [`check`]s read: its
/// result, or `Err(Cancelled)` when a check found the token cancelled. Scopes nest; the
/// outer token is back when the inner scope ends, however it ends.
pub fn scope<T>(cancel: &Cancel, work: impl FnOnce() -> T) -> Result<T, Cancelled> {
    struct Restore(Option<Cancel>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let outer = self.0.take();
            CURRENT.with(|c| *c.borrow_mut() = outer);
        }
    }
    let outer = CURRENT.with(|c| c.borrow_mut().replace(cancel.clone()));
    let _restore = Restore(outer);
    match catch_unwind(AssertUnwindSafe(work)) {
        Ok(value) => Ok(value),
        Err(payload) if payload.is::<Cancelled>() => Err(Cancelled),
        Err(payload) => resume_unwind(payload),
    }
}

/// Unwinds to the enclosing [`scope`] if its token is cancelled.
pub fn check() {
    if is_cancelled() {
        resume_unwind(Box::new(Cancelled));
    }
}

/// Whether the enclosing [`scope`]'s token is cancelled (for work that would rather
/// stop and keep what it has than unwind).
pub fn is_cancelled() -> bool {
    CURRENT.with(|c| c.borrow().as_ref().is_some_and(Cancel::is_cancelled))
}

thread_local! {
    static BUDGET: Cell<Option<Budget>> = const { Cell::new(None) };
}

/// The enclosing [`within`]'s deadline, and whether some work stopped at it.
#[derive(Clone, Copy, Debug)]
struct Budget {
    deadline: Instant,
    cut: bool,
}

/// Runs `work` on this thread with `budget` to spend: its result, and whether some of
/// its work stopped early at [`out_of_time`] (the answer is then partial). Budgets nest:
/// the inner one ends no later than the outer one, and a cut inside is a cut outside.
pub fn within<T>(budget: Duration, work: impl FnOnce() -> T) -> (T, bool) {
    struct Restore(Option<Budget>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let inner = BUDGET.with(Cell::get);
            let mut outer = self.0;
            if let (Some(outer), Some(inner)) = (&mut outer, inner) {
                outer.cut |= inner.cut;
            }
            BUDGET.with(|b| b.set(outer));
        }
    }
    let outer = BUDGET.with(Cell::get);
    let mut deadline = Instant::now()
        .checked_add(budget)
        .unwrap_or_else(far_future);
    if let Some(outer) = outer {
        deadline = deadline.min(outer.deadline);
    }
    BUDGET.with(|b| {
        b.set(Some(Budget {
            deadline,
            cut: false,
        }))
    });
    let restore = Restore(outer);
    let value = work();
    let cut = was_cut();
    drop(restore);
    (value, cut)
}

/// An instant no budget reaches (`Instant` has no maximum).
fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600)
}

/// Whether the enclosing [`within`]'s budget is spent; if it is, the answer being built
/// is marked cut, since the caller is about to stop early. Outside any budget, never.
pub fn out_of_time() -> bool {
    BUDGET.with(|b| match b.get() {
        Some(budget) if Instant::now() >= budget.deadline => {
            b.set(Some(Budget {
                cut: true,
                ..budget
            }));
            true
        }
        _ => false,
    })
}

/// Whether some work in the enclosing [`within`] has stopped early so far.
pub fn was_cut() -> bool {
    BUDGET.with(|b| b.get().is_some_and(|budget| budget.cut))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cancelled_scope_stops_at_its_next_check() {
        let cancel = Cancel::new();
        let mut steps = 0;
        let answer = scope(&cancel, || {
            for i in 0..100 {
                check();
                steps += 1;
                if i == 9 {
                    cancel.cancel();
                }
            }
            steps
        });
        assert_eq!(answer, Err(Cancelled));
        assert_eq!(steps, 10);
        // Outside any scope, a check does nothing.
        check();
        assert!(!is_cancelled());
    }

    #[test]
    fn scopes_nest_and_other_panics_pass_through() {
        let outer = Cancel::new();
        let inner = Cancel::new();
        inner.cancel();
        let answer = scope(&outer, || {
            assert_eq!(scope(&inner, check), Err(Cancelled));
            // The outer token is back, and it is not cancelled.
            check();
            7
        });
        assert_eq!(answer, Ok(7));
        let other = std::panic::catch_unwind(|| scope(&outer, || panic!("a bug")));
        assert!(
            other.is_err(),
            "a panic that is not a cancellation is not swallowed"
        );
    }

    #[test]
    fn an_armed_guard_cancels_when_dropped_unless_disarmed() {
        let cancel = Cancel::new();
        cancel.on_drop().disarm();
        assert!(!cancel.is_cancelled());
        drop(cancel.on_drop());
        assert!(cancel.is_cancelled());
    }

    #[test]
    fn a_spent_budget_cuts_the_work_that_asks_and_only_in_its_scope() {
        assert!(!out_of_time(), "no budget outside `within`");
        let (found, cut) = within(Duration::ZERO, || {
            let mut found = Vec::new();
            for i in 0..10 {
                if out_of_time() {
                    break;
                }
                found.push(i);
            }
            found
        });
        assert!(found.is_empty());
        assert!(cut);
        assert!(
            !was_cut() && !out_of_time(),
            "the budget ended with its scope"
        );

        // Work that never asks is not cut, however long the budget.
        let (_, cut) = within(Duration::from_secs(60), || 1 + 1);
        assert!(!cut);
    }

    #[test]
    fn budgets_nest_the_inner_ends_no_later_and_its_cut_reaches_the_outer() {
        let (inner_cut, outer_cut) = within(Duration::ZERO, || {
            // The inner budget is longer, but the outer one is already spent.
            let ((), cut) = within(Duration::from_secs(60), || {
                assert!(out_of_time());
            });
            cut
        });
        assert!(inner_cut && outer_cut);

        let (inner_cut, outer_cut) = within(Duration::from_secs(60), || {
            let ((), cut) = within(Duration::ZERO, || {
                out_of_time();
            });
            // The outer budget is not spent, but its answer holds a partial part.
            assert!(!out_of_time());
            cut
        });
        assert!(inner_cut && outer_cut);
    }
}
