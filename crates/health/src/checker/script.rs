//! `script`: runs a command (keepalived's MISC_CHECK). Exit 0 is up, 1 is down; with `dynamic_weight`,
//! exits 2..255 are up and set the weight to `exit - 2` (keepalived's `misc_dynamic`); without it any
//! non-zero exit is down. The command runs directly (no shell) with stdin, stdout and stderr on /dev/null,
//! in its own process group; when the check is dropped at the timeout the whole group is killed.

use super::{CheckError, CheckFuture, Checker, Success};
use crate::target::Target;
use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use tokio::process::Command;

#[derive(Debug)]
pub struct ScriptChecker {
    program: String,
    args: Vec<String>,
    dynamic_weight: bool,
}

impl ScriptChecker {
    pub fn new(target: &Target) -> Result<Self, CheckError> {
        let hc = &target.check;
        match hc.command.as_deref() {
            Some([program, args @ ..]) if !program.is_empty() => Ok(ScriptChecker {
                program: program.clone(),
                args: args.to_vec(),
                dynamic_weight: hc.dynamic_weight.unwrap_or(false),
            }),
            _ => Err(CheckError::Spec("a script check needs a command".into())),
        }
    }
}

impl Checker for ScriptChecker {
    fn check(&self) -> CheckFuture<'_> {
        Box::pin(async move {
            let mut child = Command::new(&self.program)
                .args(&self.args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .kill_on_drop(true)
                .spawn()
                .map_err(|e| CheckError::Spawn {
                    program: self.program.clone(),
                    reason: e.to_string(),
                })?;
            let mut group = child
                .id()
                .and_then(|pid| i32::try_from(pid).ok())
                .map(GroupKiller);
            let status = child.wait().await;
            // Reaped: the group id may be reused from now on, never signal it.
            if let Some(g) = group.take() {
                std::mem::forget(g);
            }
            let status =
                status.map_err(|e| CheckError::Io(format!("waiting for {}: {e}", self.program)))?;
            interpret(status, self.dynamic_weight)
        })
    }
}

/// Kills a process group with SIGKILL when dropped (the check was cancelled at its timeout).
struct GroupKiller(i32);

impl Drop for GroupKiller {
    fn drop(&mut self) {
        // SAFETY: kill(2) with a negative pid signals the process group; no memory is involved.
        let rc = unsafe { libc::kill(-self.0, libc::SIGKILL) };
        if rc != 0 {
            tracing::debug!(pgid = self.0, error = %std::io::Error::last_os_error(), "killing a timed-out script");
        } else {
            tracing::debug!(
                pgid = self.0,
                "killed a timed-out script and its process group"
            );
        }
    }
}

/// The check result of a script's exit status.
pub fn interpret(status: ExitStatus, dynamic_weight: bool) -> Result<Success, CheckError> {
    match status.code() {
        Some(0) => Ok(Success::default()),
        Some(code @ 2..=255) if dynamic_weight => Ok(Success {
            dynamic_weight: Some(code as u32 - 2),
        }),
        Some(code) => Err(CheckError::Exit(code)),
        None => Err(CheckError::Signal(status.signal().unwrap_or(0))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exit(code: i32) -> ExitStatus {
        ExitStatus::from_raw(code << 8)
    }

    #[test]
    fn exit_codes() {
        assert_eq!(interpret(exit(0), false), Ok(Success::default()));
        assert_eq!(interpret(exit(1), false), Err(CheckError::Exit(1)));
        assert_eq!(interpret(exit(7), false), Err(CheckError::Exit(7)));
        assert_eq!(interpret(exit(0), true), Ok(Success::default()));
        assert_eq!(interpret(exit(1), true), Err(CheckError::Exit(1)));
        assert_eq!(interpret(exit(2), true).unwrap().dynamic_weight, Some(0));
        assert_eq!(interpret(exit(12), true).unwrap().dynamic_weight, Some(10));
        assert_eq!(
            interpret(exit(255), true).unwrap().dynamic_weight,
            Some(253)
        );
        assert_eq!(
            interpret(ExitStatus::from_raw(9), false),
            Err(CheckError::Signal(9))
        );
        assert_eq!(CheckError::Exit(1).to_string(), "exit 1");
    }
}
