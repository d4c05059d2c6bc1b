//! When to probe and when to stop: initial delay, interval with jitter, per-request timeout,
//! overall deadline, success threshold, early stop on hard failures, and the soak window.
//!
//! [`Tracker`] is a pure state machine over elapsed times, so every rule is unit-tested without
//! sleeping; the probe loop in `mod.rs` feeds it outcomes and obeys its decisions.
//!
//! The rules, all times measured from the start of the gate:
//! - The first attempt starts after `initial_delay`; later ones start `interval` after the
//!   previous one *started* (a slow answer does not stretch the cycle). Jitter only shortens
//!   the interval (by up to 10%), so many probes spread out and a change is still seen within
//!   one interval.
//! - The `deadline` bounds the wait for the first healthy streak: no attempt starts at or after
//!   it, and an attempt's timeout is cut so that it ends by it. The soak window runs after the
//!   streak, so a gate ends at most `deadline + soak` after it started.
//! - `success_threshold` passes in a row make the probe healthy; with a `soak`, it must then
//!   pass every attempt for `soak` (a last attempt lands on the window's end). Any failure in
//!   the window fails the probe: the release did not hold.
//! - `failure_threshold` hard failures (answers that will not change by waiting, see
//!   `probe.rs`) since the last pass stop the probe early as unhealthy.

use crate::config::HealthConfig;
use std::time::Duration;

/// The timing rules of one gate, copied out of the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Schedule {
    pub initial_delay: Duration,
    pub interval: Duration,
    pub timeout: Duration,
    pub deadline: Duration,
    pub success_threshold: u32,
    pub failure_threshold: u32,
    pub soak: Duration,
}

impl From<&HealthConfig> for Schedule {
    fn from(c: &HealthConfig) -> Self {
        Schedule {
            initial_delay: c.initial_delay,
            interval: c.interval,
            timeout: c.timeout,
            deadline: c.deadline,
            success_threshold: c.success_threshold.max(1),
            failure_threshold: c.failure_threshold.max(1),
            soak: c.soak,
        }
    }
}

/// The largest share of the interval that jitter removes.
const JITTER: f64 = 0.1;

/// What one attempt amounted to, as far as the schedule cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Pass,
    /// `hard`: the failure will not change by waiting (a 401, a TLS error, an unknown host).
    Fail {
        hard: bool,
    },
}

/// Why a probe ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// Passed the threshold and, if any, the whole soak window.
    Healthy,
    /// Failed inside the soak window, this long after turning healthy.
    SoakBroken { after: Duration },
    /// Too many hard failures since the last pass.
    HardFailures { count: u32 },
    /// The deadline passed before the success threshold was met.
    Deadline,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Attempt again after this long (from now).
    Wait(Duration),
    Done(End),
}

#[derive(Debug, Clone)]
pub struct Tracker {
    schedule: Schedule,
    in_a_row: u32,
    hard_failures: u32,
    /// When the success threshold was met (start of the soak window).
    healthy_at: Option<Duration>,
}

impl Tracker {
    pub(crate) fn new(schedule: Schedule) -> Self {
        Tracker {
            schedule,
            in_a_row: 0,
            hard_failures: 0,
            healthy_at: None,
        }
    }

    /// When the success threshold was first met, if it was.
    pub(crate) fn healthy_at(&self) -> Option<Duration> {
        self.healthy_at
    }

    pub fn hard_failures(&self) -> u32 {
        self.hard_failures
    }

    /// Whether an attempt may start at `now`; `None` means the deadline has passed.
    pub(crate) fn may_start(&self, now: Duration) -> bool {
        self.healthy_at.is_some() || now < self.schedule.deadline
    }

    /// The timeout of an attempt starting at `started`: the configured one, cut to end by the
    /// deadline while waiting for the streak.
    pub(crate) fn request_timeout(&self, started: Duration) -> Duration {
        if self.healthy_at.is_some() {
            self.schedule.timeout
        } else {
            self.schedule
                .timeout
                .min(self.schedule.deadline.saturating_sub(started))
        }
    }

    /// Record the outcome of the attempt that started at `started` and ended at `now`.
    /// `jitter` is a random number in `[0, 1)`.
    pub(crate) fn record(
        &mut self,
        outcome: Outcome,
        started: Duration,
        now: Duration,
        jitter: f64,
    ) -> Decision {
        let s = &self.schedule;
        match outcome {
            Outcome::Pass => {
                self.in_a_row += 1;
                self.hard_failures = 0;
                if self.healthy_at.is_none() && self.in_a_row >= s.success_threshold {
                    self.healthy_at = Some(now);
                }
            }
            Outcome::Fail { hard } => {
                self.in_a_row = 0;
                if let Some(at) = self.healthy_at {
                    return Decision::Done(End::SoakBroken {
                        after: now.saturating_sub(at),
                    });
                }
                if hard {
                    self.hard_failures += 1;
                    if self.hard_failures >= s.failure_threshold {
                        return Decision::Done(End::HardFailures {
                            count: self.hard_failures,
                        });
                    }
                }
            }
        }
        let step = s.interval.mul_f64(1.0 - JITTER * jitter.clamp(0.0, 1.0));
        let mut next = started + step;
        match self.healthy_at {
            Some(at) => {
                let soak_end = at + s.soak;
                if now >= soak_end {
                    return Decision::Done(End::Healthy);
                }
                next = next.min(soak_end);
            }
            None if next >= s.deadline => return Decision::Done(End::Deadline),
            None => {}
        }
        Decision::Wait(next.saturating_sub(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn schedule() -> Schedule {
        Schedule {
            initial_delay: ms(0),
            interval: ms(1000),
            timeout: ms(500),
            deadline: ms(10_000),
            success_threshold: 1,
            failure_threshold: 3,
            soak: ms(0),
        }
    }

    const PASS: Outcome = Outcome::Pass;
    const SOFT: Outcome = Outcome::Fail { hard: false };
    const HARD: Outcome = Outcome::Fail { hard: true };

    #[test]
    fn one_pass_without_soak_is_healthy_at_once() {
        let mut t = Tracker::new(schedule());
        assert_eq!(
            t.record(PASS, ms(0), ms(20), 0.0),
            Decision::Done(End::Healthy)
        );
        assert_eq!(t.healthy_at(), Some(ms(20)));
    }

    #[test]
    fn the_next_attempt_is_one_interval_after_the_last_start() {
        let mut t = Tracker::new(schedule());
        assert_eq!(t.record(SOFT, ms(0), ms(300), 0.0), Decision::Wait(ms(700)));
        // A slow answer eats into the wait; one slower than the interval means "go now".
        assert_eq!(
            t.record(SOFT, ms(1000), ms(2500), 0.0),
            Decision::Wait(ms(0))
        );
    }

    #[test]
    fn jitter_only_shortens_the_interval() {
        let mut t = Tracker::new(schedule());
        assert_eq!(t.record(SOFT, ms(0), ms(0), 0.5), Decision::Wait(ms(950)));
        assert_eq!(t.record(SOFT, ms(0), ms(0), 7.0), Decision::Wait(ms(900)));
    }

    #[test]
    fn success_threshold_needs_passes_in_a_row() {
        let mut t = Tracker::new(Schedule {
            success_threshold: 3,
            ..schedule()
        });
        assert!(matches!(
            t.record(PASS, ms(0), ms(1), 0.0),
            Decision::Wait(_)
        ));
        assert!(matches!(
            t.record(PASS, ms(1000), ms(1001), 0.0),
            Decision::Wait(_)
        ));
        assert!(matches!(
            t.record(SOFT, ms(2000), ms(2001), 0.0),
            Decision::Wait(_)
        ));
        assert!(matches!(
            t.record(PASS, ms(3000), ms(3001), 0.0),
            Decision::Wait(_)
        ));
        assert!(matches!(
            t.record(PASS, ms(4000), ms(4001), 0.0),
            Decision::Wait(_)
        ));
        assert_eq!(
            t.record(PASS, ms(5000), ms(5001), 0.0),
            Decision::Done(End::Healthy)
        );
    }

    #[test]
    fn hard_failures_stop_early_and_a_pass_forgives_them() {
        let mut t = Tracker::new(schedule());
        t.record(HARD, ms(0), ms(1), 0.0);
        t.record(SOFT, ms(1000), ms(1001), 0.0);
        t.record(HARD, ms(2000), ms(2001), 0.0);
        assert_eq!(
            t.record(HARD, ms(3000), ms(3001), 0.0),
            Decision::Done(End::HardFailures { count: 3 })
        );

        let mut t = Tracker::new(Schedule {
            success_threshold: 2,
            ..schedule()
        });
        t.record(HARD, ms(0), ms(1), 0.0);
        t.record(HARD, ms(1000), ms(1001), 0.0);
        t.record(PASS, ms(2000), ms(2001), 0.0);
        assert_eq!(t.hard_failures(), 0);
    }

    #[test]
    fn the_deadline_ends_the_wait_and_cuts_the_last_timeout() {
        let mut t = Tracker::new(Schedule {
            deadline: ms(2500),
            ..schedule()
        });
        assert_eq!(t.request_timeout(ms(0)), ms(500));
        assert_eq!(t.request_timeout(ms(2200)), ms(300));
        assert!(t.may_start(ms(2499)));
        assert!(!t.may_start(ms(2500)));
        assert!(matches!(
            t.record(SOFT, ms(0), ms(1), 0.0),
            Decision::Wait(_)
        ));
        assert!(matches!(
            t.record(SOFT, ms(1000), ms(1001), 0.0),
            Decision::Wait(_)
        ));
        assert_eq!(
            t.record(SOFT, ms(2000), ms(2001), 0.0),
            Decision::Done(End::Deadline)
        );
    }

    #[test]
    fn the_soak_window_must_hold_and_ends_on_its_last_moment() {
        let soaking = Schedule {
            soak: ms(2500),
            deadline: ms(1000),
            ..schedule()
        };
        let mut t = Tracker::new(soaking.clone());
        assert_eq!(t.record(PASS, ms(0), ms(100), 0.0), Decision::Wait(ms(900)));
        // The soak runs past the deadline: the deadline only bounds reaching health.
        assert!(t.may_start(ms(5000)));
        assert_eq!(t.request_timeout(ms(2000)), ms(500));
        assert_eq!(
            t.record(PASS, ms(1000), ms(1100), 0.0),
            Decision::Wait(ms(900))
        );
        // The last attempt is pulled onto the window's end (2600), not the next interval.
        assert_eq!(
            t.record(PASS, ms(2000), ms(2100), 0.0),
            Decision::Wait(ms(500))
        );
        assert_eq!(
            t.record(PASS, ms(2600), ms(2650), 0.0),
            Decision::Done(End::Healthy)
        );

        let mut t = Tracker::new(soaking);
        t.record(PASS, ms(0), ms(100), 0.0);
        assert_eq!(
            t.record(SOFT, ms(1000), ms(1100), 0.0),
            Decision::Done(End::SoakBroken { after: ms(1000) })
        );
    }
}
