//! Our pods as RunPod lists them (name prefix), with live cost from the journal's captured
//! rate, and the orphan sweep: pods of ours that no live job owns are terminated. "Ours" is
//! this install's: named with its install id, or known to its journal (older names). Pods of
//! other installs on the same account are listed, marked, and never swept.

use crate::events::Reporter;
use crate::journal::{JournalPod, states};
use crate::manager::PodManager;
use crate::probe::ReadinessProbe;
use crate::spec::{NAME_PREFIX, name_install};
use serde::Serialize;
use std::collections::HashSet;
use studio_error::Result;
use studio_runpod::{Pod, PodStatus};
use time::OffsetDateTime;

/// One row of the Pods screen.
#[derive(Debug, Clone, Serialize)]
pub struct PodView {
    pub pod_id: String,
    pub name: String,
    pub status: PodStatus,
    pub gpu_id: Option<String>,
    /// From the journal when the app made the pod, else RunPod's `cost` field.
    pub rate_per_hour: f64,
    pub uptime_secs: Option<f64>,
    pub cost_usd: Option<f64>,
    /// The readiness stage the journal last recorded.
    pub stage: Option<String>,
    pub owner: Option<String>,
    /// RFC 3339: since when nobody has held this live pod (its idle clock), from the journal.
    pub idle_since: Option<String>,
    /// Started by another install (another computer or data folder) on the same account:
    /// shown, but only terminated when the user picks it.
    pub other_install: bool,
}

/// A pod the sweep terminated (or failed to).
#[derive(Debug, Clone, Serialize)]
pub struct SweptPod {
    pub view: PodView,
    pub terminated: bool,
    pub error: Option<String>,
}

fn view(pod: &Pod, row: Option<&JournalPod>, ours: bool, now: OffsetDateTime) -> PodView {
    let (rate, uptime, cost) = match row {
        Some(r) if r.created_at.is_some() => {
            let secs = r.billed_seconds(now);
            (r.rate_per_hour, Some(secs), Some(r.cost_so_far(now)))
        }
        _ => {
            let secs = pod
                .runtime
                .as_ref()
                .and_then(|r| r.uptime)
                .map(|u| u as f64);
            (pod.cost, secs, secs.map(|s| s * pod.cost / 3600.0))
        }
    };
    PodView {
        pod_id: pod.id.clone(),
        name: pod.name.clone(),
        status: pod.status,
        gpu_id: pod.gpu.as_ref().map(|g| g.id.clone()),
        rate_per_hour: rate,
        uptime_secs: uptime,
        cost_usd: cost,
        stage: row.and_then(|r| r.stage.clone()),
        owner: row.and_then(|r| r.owner.clone()),
        idle_since: row
            .filter(|r| r.is_warm())
            .and_then(|r| r.idle_since.clone()),
        other_install: !ours,
    }
}

impl<P: ReadinessProbe> PodManager<P> {
    /// Every pod of ours RunPod lists, and the journal settled against that list: pods the
    /// journal thinks alive but RunPod no longer has are recorded as terminated, and intents
    /// whose pod was created after all get their id.
    #[tracing::instrument(skip(self))]
    pub async fn list(&self) -> Result<Vec<PodView>> {
        let pods: Vec<Pod> = self
            .client
            .list_pods()
            .await?
            .into_iter()
            .filter(|p| p.name.starts_with(NAME_PREFIX))
            .collect();
        let now = OffsetDateTime::now_utc();
        let journal = self.journal();
        for row in journal.unsettled()? {
            match &row.pod_id {
                Some(id) if !pods.iter().any(|p| &p.id == id) => {
                    journal.record_terminated(id)?;
                }
                None => match pods.iter().find(|p| p.name == row.name) {
                    Some(p) => journal.record_created(&row.name, &p.id, row.rate_per_hour)?,
                    None => journal.record_abandoned(&row.name, "no pod by this name")?,
                },
                _ => {}
            }
        }
        let mine = self.config.install_id.as_deref();
        let mut out = Vec::with_capacity(pods.len());
        for pod in &pods {
            let row = match journal.by_pod_id(&pod.id)? {
                Some(row) => Some(row),
                None => journal.get(&pod.name)?,
            };
            let ours = row.is_some() || (mine.is_some() && name_install(&pod.name) == mine);
            out.push(view(pod, row.as_ref(), ours, now));
        }
        Ok(out)
    }

    /// This install's pods only (see the module note).
    pub async fn list_ours(&self) -> Result<Vec<PodView>> {
        Ok(self
            .list()
            .await?
            .into_iter()
            .filter(|v| !v.other_install)
            .collect())
    }

    /// Pods of ours that no live job owns: `owned` holds the pod ids of live jobs, and pods
    /// this manager started and has not terminated are never orphans.
    pub async fn orphans(&self, owned: &HashSet<String>) -> Result<Vec<PodView>> {
        let active = self.active_pods();
        Ok(self
            .list_ours()
            .await?
            .into_iter()
            .filter(|v| !owned.contains(&v.pod_id) && !active.contains(&v.pod_id))
            .filter(|v| v.status != PodStatus::Terminated)
            .collect())
    }

    /// Terminates every orphan and says what each cost.
    #[tracing::instrument(skip(self, reporter))]
    pub async fn sweep(
        &self,
        owned: &HashSet<String>,
        reporter: &Reporter,
    ) -> Result<Vec<SweptPod>> {
        let mut out = Vec::new();
        for mut v in self.orphans(owned).await? {
            match self.terminate(&v.pod_id, reporter).await {
                Ok(t) => {
                    if let Some(c) = t.cost_usd {
                        v.cost_usd = Some(c);
                    }
                    out.push(SweptPod {
                        view: v,
                        terminated: true,
                        error: None,
                    });
                }
                Err(e) => out.push(SweptPod {
                    view: v,
                    terminated: false,
                    error: Some(e.message().to_string()),
                }),
            }
        }
        Ok(out)
    }

    /// "Terminate all" on the Pods screen: every pod of ours, in use or not. One failure does
    /// not stop the others; each pod's outcome is in the list.
    #[tracing::instrument(skip(self, reporter))]
    pub async fn terminate_all(&self, reporter: &Reporter) -> Result<Vec<SweptPod>> {
        let mut out = Vec::new();
        for mut v in self.list_ours().await? {
            if v.status == PodStatus::Terminated {
                continue;
            }
            let result = self.terminate(&v.pod_id, reporter).await;
            if let Ok(Some(c)) = result.as_ref().map(|t| t.cost_usd) {
                v.cost_usd = Some(c);
            }
            out.push(SweptPod {
                view: v,
                terminated: result.is_ok(),
                error: result.err().map(|e| e.message().to_string()),
            });
        }
        Ok(out)
    }

    /// Terminates every pod held by one of `owners` that is not known to be gone, a create
    /// that was in flight at a crash included (found by its name once RunPod lists it).
    /// Every pod is tried; the first failure is returned after the others were tried.
    #[tracing::instrument(skip(self, reporter))]
    pub async fn end_held(&self, owners: &HashSet<String>, reporter: &Reporter) -> Result<usize> {
        let mut count = 0;
        let mut first_err = None;
        let mut tried = HashSet::new();
        for round in 0..2 {
            let rows = self.journal().held_by(owners)?;
            for id in rows.iter().filter_map(|r| r.pod_id.clone()) {
                if !tried.insert(id.clone()) {
                    continue;
                }
                match self.terminate(&id, reporter).await {
                    Ok(_) => count += 1,
                    Err(e) => {
                        first_err.get_or_insert(e);
                    }
                }
            }
            if round == 1 || rows.iter().all(|r| r.pod_id.is_some()) {
                break;
            }
            // Listing settles each intent: the pod's id when the create went through after
            // all, else "never made"; the second round ends what it found.
            if let Err(e) = self.list().await {
                first_err.get_or_insert(e);
                break;
            }
        }
        first_err.map_or(Ok(count), Err)
    }

    /// Pods the journal still considers live (for start-up recovery and the close warning).
    pub fn unsettled(&self) -> Result<Vec<JournalPod>> {
        Ok(self
            .journal()
            .unsettled()?
            .into_iter()
            .filter(|r| r.state != states::INTENT || r.pod_id.is_some())
            .collect())
    }
}
