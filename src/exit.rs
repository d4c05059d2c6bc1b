//! The process exit codes, owned here and nowhere else.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | internal or network error |
//! | 2 | invalid input or config |
//! | 3 | gate closed: a policy refused to go on |
//! | 4 | deploy or health failed (rolled back where configured) |
//! | 5 | cancelled by a signal: stopped safely, nothing new started; the summary says what ran |

use std::fmt;

/// Why a run ended the way it did; maps one-to-one onto an exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Success = 0,
    Internal = 1,
    InvalidInput = 2,
    GateClosed = 3,
    DeployFailed = 4,
    Cancelled = 5,
}

impl Exit {
    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn all() -> [Exit; 6] {
        [
            Exit::Success,
            Exit::Internal,
            Exit::InvalidInput,
            Exit::GateClosed,
            Exit::DeployFailed,
            Exit::Cancelled,
        ]
    }

    pub fn meaning(self) -> &'static str {
        match self {
            Exit::Success => "success",
            Exit::Internal => "internal or network error",
            Exit::InvalidInput => "invalid input or config",
            Exit::GateClosed => "gate closed: a policy refused to go on",
            Exit::DeployFailed => "deploy or health failed (rolled back where configured)",
            Exit::Cancelled => {
                "cancelled by a signal: stopped safely, nothing new started; the summary says what ran"
            }
        }
    }
}

/// An error that knows which exit code it ends the run with.
///
/// Modules keep their own typed errors; at the edge they are converted into this,
/// choosing the class. Anything not classified is `Internal`.
#[derive(Debug)]
pub struct Failure {
    pub exit: Exit,
    pub error: anyhow::Error,
}

impl Failure {
    pub(crate) fn new(exit: Exit, error: impl Into<anyhow::Error>) -> Self {
        Failure {
            exit,
            error: error.into(),
        }
    }
    pub(crate) fn input(msg: impl fmt::Display) -> Self {
        Failure::new(Exit::InvalidInput, anyhow::anyhow!("{msg}"))
    }
    pub fn gate(msg: impl fmt::Display) -> Self {
        Failure::new(Exit::GateClosed, anyhow::anyhow!("{msg}"))
    }
    pub(crate) fn deploy(msg: impl fmt::Display) -> Self {
        Failure::new(Exit::DeployFailed, anyhow::anyhow!("{msg}"))
    }
    pub(crate) fn internal(msg: impl fmt::Display) -> Self {
        Failure::new(Exit::Internal, anyhow::anyhow!("{msg}"))
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#}", self.error)
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::new(Exit::Internal, e)
    }
}

impl From<crate::http::HttpError> for Failure {
    fn from(e: crate::http::HttpError) -> Self {
        Failure::new(Exit::Internal, e)
    }
}

impl From<crate::inputs::InputError> for Failure {
    fn from(e: crate::inputs::InputError) -> Self {
        Failure::new(Exit::InvalidInput, e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable() {
        let codes: Vec<u8> = Exit::all().iter().map(|e| e.code()).collect();
        assert_eq!(codes, vec![0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn constructors_pick_the_class() {
        assert_eq!(Failure::input("x").exit, Exit::InvalidInput);
        assert_eq!(Failure::gate("x").exit, Exit::GateClosed);
        assert_eq!(Failure::deploy("x").exit, Exit::DeployFailed);
        let io: Failure = std::io::Error::other("boom").into();
        assert_eq!(io.exit, Exit::Internal);
    }
}
