//! Transition notifications: a JSON POST to a webhook and/or a script run like keepalived's `notify`
//! (`<script...> GROUP <name> <STATE> <priority>`, STATE one of MASTER BACKUP FAULT STOP). Each group has
//! its own queue so that its notifications arrive in order; a slow receiver delays only its group, and
//! every delivery is bounded by a timeout.

use crate::vrrp::status::VrrpRole;
use director_core::model::vrrp_group::Notify;
use serde::Serialize;
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The body of the webhook POST.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notification {
    pub node: String,
    pub group: String,
    pub vrid: u8,
    pub from: VrrpRole,
    pub to: VrrpRole,
    /// The state word of keepalived's notify: MASTER, BACKUP, FAULT or STOP.
    pub state: &'static str,
    pub priority: u8,
    pub reason: String,
    pub master_address: Option<String>,
    /// RFC 3339.
    pub at: String,
}

impl Notification {
    /// The arguments appended to the notify script.
    pub fn script_args(&self) -> [String; 4] {
        [
            "GROUP".to_string(),
            self.group.clone(),
            self.state.to_string(),
            self.priority.to_string(),
        ]
    }
}

type Queue = (
    mpsc::UnboundedSender<(Notify, Notification)>,
    JoinHandle<()>,
);

/// Per-group ordered delivery.
pub struct Notifier {
    client: reqwest::Client,
    timeout: Duration,
    queues: HashMap<String, Queue>,
}

impl Notifier {
    pub fn new(timeout: Duration) -> Self {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(concat!("director/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "webhook client with defaults");
                reqwest::Client::new()
            });
        Notifier {
            client,
            timeout,
            queues: HashMap::new(),
        }
    }

    /// Queues `n` for delivery as `notify` says.
    pub fn send(&mut self, notify: Notify, n: Notification) {
        let client = self.client.clone();
        let timeout = self.timeout;
        let (tx, _) = self.queues.entry(n.group.clone()).or_insert_with(|| {
            let (tx, mut rx) = mpsc::unbounded_channel::<(Notify, Notification)>();
            let task = tokio::spawn(async move {
                while let Some((notify, n)) = rx.recv().await {
                    deliver(&client, &notify, &n, timeout).await;
                }
            });
            (tx, task)
        });
        let _ = tx.send((notify, n));
    }

    /// Delivers what is queued (each delivery is bounded by the timeout), then stops.
    pub async fn close(self) {
        for (group, (tx, task)) in self.queues {
            drop(tx);
            if let Err(e) = task.await {
                tracing::warn!(%group, error = %e, "notification queue");
            }
        }
    }
}

async fn deliver(client: &reqwest::Client, notify: &Notify, n: &Notification, timeout: Duration) {
    if let Some(url) = &notify.webhook {
        match client.post(url).json(n).send().await {
            Ok(r) if r.status().is_success() => {
                tracing::debug!(group = %n.group, %url, "webhook notified");
            }
            Ok(r) => {
                tracing::warn!(group = %n.group, %url, status = %r.status(), "webhook refused the notification")
            }
            Err(e) => tracing::warn!(group = %n.group, %url, error = %e, "webhook failed"),
        }
    }
    if let Some(cmd) = &notify.script {
        run_script(cmd, n, timeout).await;
    }
}

async fn run_script(cmd: &[String], n: &Notification, timeout: Duration) {
    let Some((program, args)) = cmd.split_first() else {
        return;
    };
    let child = tokio::process::Command::new(program)
        .args(args)
        .args(n.script_args())
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(group = %n.group, script = %program, error = %e, "notify script cannot start");
            return;
        }
    };
    match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(s)) if s.success() => {}
        Ok(Ok(s)) => {
            tracing::warn!(group = %n.group, script = %program, status = %s, "notify script failed")
        }
        Ok(Err(e)) => {
            tracing::warn!(group = %n.group, script = %program, error = %e, "notify script")
        }
        Err(_) => {
            tracing::warn!(group = %n.group, script = %program, "notify script timed out and was killed")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notification(group: &str, to: VrrpRole) -> Notification {
        Notification {
            node: "lvs-01".into(),
            group: group.into(),
            vrid: 51,
            from: VrrpRole::Backup,
            to,
            state: to.keepalived_word(),
            priority: 100,
            reason: "master down".into(),
            master_address: Some("10.0.0.1".into()),
            at: "2026-01-01T00:00:00.000Z".into(),
        }
    }

    #[test]
    fn arguments_like_keepalived() {
        assert_eq!(
            notification("vi-1", VrrpRole::Master).script_args(),
            ["GROUP", "vi-1", "MASTER", "100"]
        );
        let v = serde_json::to_value(notification("vi-1", VrrpRole::Fault)).unwrap();
        assert_eq!(v["to"], "fault");
        assert_eq!(v["state"], "FAULT");
        assert_eq!(v["from"], "backup");
    }

    #[tokio::test]
    async fn scripts_run_in_order_per_group() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("calls");
        let script = vec![
            "/bin/sh".to_string(),
            "-c".to_string(),
            format!("echo \"$@\" >> {}", out.display()),
            "notify".to_string(),
        ];
        let mut notifier = Notifier::new(Duration::from_secs(5));
        let notify = Notify {
            webhook: None,
            script: Some(script),
        };
        notifier.send(notify.clone(), notification("vi-1", VrrpRole::Master));
        notifier.send(notify, notification("vi-1", VrrpRole::Backup));
        notifier.close().await;
        let calls = std::fs::read_to_string(&out).unwrap();
        assert_eq!(calls, "GROUP vi-1 MASTER 100\nGROUP vi-1 BACKUP 100\n");
    }
}
