//! The open calls, and the indexes over them that keep the cost of every input and poll
//! independent of how many calls are open (a Python service with 10,000 tasks is a
//! realistic user):
//!
//! - **queue**: waiting calls to examine at the next drive, smallest id first (the order
//!   requests are emitted in). A call enters it when it starts waiting (new, backoff over,
//!   replay after a 401); a drive with a credential pops it and sends it or parks it.
//! - **parked**: waiting calls whose route is being discovered. A discovery can only end
//!   by an answer or a failure of its request, so they go back to the queue then (or when
//!   the credential changes), and are not looked at on every input in between.
//! - **keys**: the route keys of all waiting calls, with counts, so the routes to discover
//!   while calls wait for the session are known without a scan.
//! - **fresh**: calls that started waiting since the last drive (a handoff client that
//!   has no session gives them their wait deadline).
//! - [`Timers`]: one min-heap of every deadline (request timeouts, backoffs, handoff
//!   waits). Entries are never removed in place: the owner checks an entry against the
//!   current state when it surfaces, and drops it if it no longer holds.
//!
//! Everything is a vector or a binary heap: small code (the wasm build pays for each
//! generic map type) and no per-input scan.

#[allow(unused_imports)]
use crate::prelude::*;
use alloc::collections::BinaryHeap;
use core::cmp::Reverse;

use crate::call::{Call, Phase};
use crate::config::DiscoveryScope;
use crate::http::{CallId, RequestId};
use crate::idmap::IdMap;
use crate::route::RouteKey;
use crate::time::Timestamp;

/// What a deadline in [`Timers`] belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Timer {
    /// A sent request's timeout.
    Request(RequestId),
    /// A call's backoff end, or (waiting) its handoff wait deadline.
    Call(CallId),
}

/// Every deadline, earliest first (ties: requests by id, then calls by id).
#[derive(Debug, Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<(Timestamp, Timer)>>,
}

impl Timers {
    pub(crate) fn push(&mut self, at: Timestamp, t: Timer) {
        self.heap.push(Reverse((at, t)));
    }

    /// The earliest entry (possibly one that no longer holds).
    pub(crate) fn peek(&self) -> Option<(Timestamp, Timer)> {
        self.heap.peek().map(|Reverse(e)| *e)
    }

    pub(crate) fn pop(&mut self) -> Option<(Timestamp, Timer)> {
        self.heap.pop().map(|Reverse(e)| e)
    }

    /// The earliest entry if it is due at `now`.
    pub(crate) fn pop_due(&mut self, now: Timestamp) -> Option<(Timestamp, Timer)> {
        match self.peek() {
            Some((at, _)) if at <= now => self.pop(),
            _ => None,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    /// Keeps only the entries that still hold (amortises the stale ones away).
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(Timestamp, Timer) -> bool) {
        self.heap.retain(|Reverse((at, t))| keep(*at, *t));
    }

    pub(crate) fn clear(&mut self) {
        self.heap.clear();
    }
}

/// The open calls by id, with the waiting indexes described in the module docs.
#[derive(Debug, Default)]
pub(crate) struct Calls {
    map: IdMap<CallId, Call>,
    queue: BinaryHeap<Reverse<CallId>>,
    parked: Vec<CallId>,
    fresh: Vec<CallId>,
    /// Route keys of the waiting calls, sorted by model hint, with how many wait on each.
    keys: Vec<(RouteKey, u32)>,
    waiting: usize,
}

impl Calls {
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    pub(crate) fn get(&self, id: &CallId) -> Option<&Call> {
        self.map.get(id)
    }

    pub(crate) fn get_mut(&mut self, id: &CallId) -> Option<&mut Call> {
        self.map.get_mut(id)
    }

    /// Every open call (for changes that touch all of them: clock steps, hand-overs).
    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut Call> {
        self.map.values_mut()
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &Call> {
        self.map.values()
    }

    /// How many calls wait for a credential or a route.
    pub(crate) fn waiting(&self) -> usize {
        self.waiting
    }

    /// Adds a new (waiting) call.
    #[inline]
    pub(crate) fn insert(&mut self, call: Call, scope: DiscoveryScope) {
        let id = call.id;
        self.map.insert(id, call);
        self.entered_waiting(id, scope);
    }

    /// Removes a call (ended), keeping the counts right.
    pub(crate) fn remove(&mut self, id: &CallId) -> Option<Call> {
        let c = self.map.remove(id)?;
        if c.phase == Phase::Waiting {
            left_waiting(&mut self.keys, &mut self.waiting, c.spec.model.as_deref());
        }
        Some(c)
    }

    /// Removes an ended call and drops it in place (its ending is not needed: the common
    /// case of a call answered), keeping the counts right. `false` if it was gone.
    #[inline]
    pub(crate) fn discard(&mut self, id: &CallId) -> bool {
        if let Some(c) = self.map.get(id) {
            if c.phase == Phase::Waiting {
                left_waiting(&mut self.keys, &mut self.waiting, c.spec.model.as_deref());
            }
        }
        self.map.discard(id)
    }

    /// Call `id` has just been set to [`Phase::Waiting`]: index it. Returns its wait
    /// deadline, for the caller's timers.
    pub(crate) fn entered_waiting(
        &mut self,
        id: CallId,
        scope: DiscoveryScope,
    ) -> Option<Timestamp> {
        let c = self.map.get(&id)?;
        let deadline = c.wait_deadline;
        let model = c.spec.model.as_deref();
        match self
            .keys
            .binary_search_by(|(k, _)| k.model.as_deref().cmp(&model))
        {
            Ok(i) => self.keys[i].1 += 1,
            Err(i) => {
                let key = RouteKey {
                    scope,
                    model: model.map(str::to_string),
                };
                self.keys.insert(i, (key, 1));
            }
        }
        self.waiting += 1;
        self.queue.push(Reverse(id));
        self.fresh.push(id);
        self.compact();
        deadline
    }

    /// Call `id` (waiting) is being sent: sets its phase and unindexes it.
    #[inline]
    pub(crate) fn set_in_flight(&mut self, id: &CallId, phase: Phase) -> Option<&mut Call> {
        let c = self.map.get_mut(id)?;
        if c.phase == Phase::Waiting {
            left_waiting(&mut self.keys, &mut self.waiting, c.spec.model.as_deref());
        }
        c.phase = phase;
        Some(c)
    }

    /// The route keys of the waiting calls, sorted.
    pub(crate) fn keys(&self) -> &[(RouteKey, u32)] {
        &self.keys
    }

    /// The route key of a waiting call.
    #[inline]
    pub(crate) fn key_of(&self, id: &CallId) -> Option<&RouteKey> {
        let model = self.map.get(id)?.spec.model.as_deref();
        let i = self
            .keys
            .binary_search_by(|(k, _)| k.model.as_deref().cmp(&model))
            .ok()?;
        Some(&self.keys[i].0)
    }

    /// The next waiting call to examine, smallest id first.
    pub(crate) fn pop_queued(&mut self) -> Option<CallId> {
        while let Some(Reverse(id)) = self.queue.pop() {
            while self.queue.peek() == Some(&Reverse(id)) {
                self.queue.pop();
            }
            if self.map.get(&id).is_some_and(|c| c.phase == Phase::Waiting) {
                return Some(id);
            }
        }
        None
    }

    /// Call `id` waits for its route's discovery.
    pub(crate) fn park(&mut self, id: CallId) {
        self.parked.push(id);
    }

    /// A discovery ended (or the credential changed): parked calls are examined again.
    pub(crate) fn release_parked(&mut self) {
        self.queue.extend(self.parked.drain(..).map(Reverse));
    }

    /// Forgets which calls started waiting since the last drive.
    pub(crate) fn clear_fresh(&mut self) {
        self.fresh.clear();
    }

    /// Gives the calls that started waiting since the last drive (and have none) a wait
    /// deadline; returns the ids that got one.
    pub(crate) fn arm_fresh(&mut self, deadline: Timestamp) -> Vec<CallId> {
        let mut armed = Vec::new();
        for id in self.fresh.drain(..) {
            if let Some(c) = self.map.get_mut(&id) {
                if c.phase == Phase::Waiting && c.wait_deadline.is_none() {
                    c.wait_deadline = Some(deadline);
                    armed.push(id);
                }
            }
        }
        armed
    }

    /// Every waiting call, in id order (for session news that concerns them all).
    pub(crate) fn waiting_ids(&self) -> Vec<CallId> {
        let mut v: Vec<u64> = self
            .queue
            .iter()
            .map(|Reverse(id)| *id)
            .chain(self.parked.iter().copied())
            .filter(|id| self.map.get(id).is_some_and(|c| c.phase == Phase::Waiting))
            .map(|id| id.0)
            .collect();
        v.sort_unstable();
        v.dedup();
        v.into_iter().map(CallId).collect()
    }

    /// After a hand-over every waiting call may need a wait deadline again.
    pub(crate) fn refresh_all(&mut self) {
        let ids = self.waiting_ids();
        self.fresh = ids;
    }

    /// Drops queue entries of calls that stopped waiting, once they outnumber the live ones.
    fn compact(&mut self) {
        if self.queue.len() > 2 * self.waiting + 32 {
            let map = &self.map;
            self.queue
                .retain(|Reverse(id)| map.get(id).is_some_and(|c| c.phase == Phase::Waiting));
        }
        if self.parked.len() > 2 * self.waiting + 32 {
            let map = &self.map;
            self.parked
                .retain(|id| map.get(id).is_some_and(|c| c.phase == Phase::Waiting));
        }
    }
}

/// Unindexes a call that stops waiting (sent, ended): one fewer on its route key.
fn left_waiting(keys: &mut Vec<(RouteKey, u32)>, waiting: &mut usize, model: Option<&str>) {
    *waiting = waiting.saturating_sub(1);
    if let Ok(i) = keys.binary_search_by(|(k, _)| k.model.as_deref().cmp(&model)) {
        keys[i].1 -= 1;
        if keys[i].1 == 0 {
            keys.remove(i);
        }
    }
}
