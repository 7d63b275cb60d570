//! `delegate_to` from the controller: the engine runs a delegated task here
//! and reaches the host it names through this. The implicit `localhost`
//! (and any host with a local connection) is this machine; another host
//! of the plan is reached over an SSH connection opened on first use and
//! kept for the rest of the stretch.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rustle_engine::{Delegate, Delegates, LocalTarget};
use rustle_format::{Connection, Document};
use tokio::runtime::Handle;

use crate::ssh_target::SshTarget;

pub struct ExecDelegates {
    /// Every host of the plan: how it is reached and how results name it.
    hosts: HashMap<String, (Connection, String)>,
    rt: Handle,
    timeout: Duration,
    open: Mutex<HashMap<String, Arc<SshTarget>>>,
}

impl ExecDelegates {
    pub fn new(doc: &Document, rt: Handle, timeout: Duration) -> ExecDelegates {
        let plan = doc.plan.as_ref().expect("exec reads planned documents");
        let hosts = plan
            .hosts
            .iter()
            .map(|h| {
                let label = h
                    .vars
                    .get("ansible_host")
                    .and_then(|v| v.as_str())
                    .unwrap_or(&h.name);
                (h.name.clone(), (h.connection.clone(), label.to_owned()))
            })
            .collect();
        ExecDelegates {
            hosts,
            rt,
            timeout,
            open: Mutex::new(HashMap::new()),
        }
    }
}

impl Delegates for ExecDelegates {
    fn delegate(&self, host: &str) -> Result<Delegate, String> {
        let local = || Delegate {
            target: Arc::new(LocalTarget),
            label: host.to_owned(),
        };
        let Some((conn, label)) = self.hosts.get(host) else {
            return match host {
                "localhost" | "127.0.0.1" | "::1" => Ok(local()),
                _ => Err(format!(
                    "delegate_to: {host} is not a host of this plan (rustle reaches \
                     localhost and the hosts the plan targets)"
                )),
            };
        };
        if *conn == Connection::Local {
            return Ok(Delegate {
                target: Arc::new(LocalTarget),
                label: label.clone(),
            });
        }
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(t) = open.get(host) {
            return Ok(Delegate {
                target: t.clone(),
                label: label.clone(),
            });
        }
        let ep = rustle_ssh::Endpoint::new(host, conn).map_err(|e| e.to_string())?;
        let target = self.rt.block_on(async {
            let conn = rustle_ssh::connect(&ep, self.timeout)
                .await
                .map_err(|e| format!("delegate_to: {host}: {e}"))?;
            crate::ssh_target::open(Arc::new(conn))
                .await
                .map_err(|e| format!("delegate_to: {host}: {e}"))
        })?;
        let target = Arc::new(target);
        open.insert(host.to_owned(), target.clone());
        Ok(Delegate {
            target,
            label: label.clone(),
        })
    }
}
