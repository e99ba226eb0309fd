//! The pods journal in the one journal file: its records, the import of an earlier version's
//! `pods.sqlite`, the owner and the idle clock of warm pods, and two writers at once.
#![allow(clippy::unwrap_used)]

use rusqlite::Connection;
use std::path::Path;
use studio_pods::Journal;
use studio_pods::journal::{IMPORT_FAILED, JOURNAL_FILE, OLD_POD_JOURNAL, parse_time, states};

/// The schema earlier versions wrote to `pods.sqlite` (no idle clock).
const OLD_SCHEMA: &str = "CREATE TABLE pods (
    name TEXT PRIMARY KEY, pod_id TEXT, gpu_id TEXT NOT NULL,
    rate_per_hour REAL NOT NULL DEFAULT 0, state TEXT NOT NULL, stage TEXT, owner TEXT,
    intent_at TEXT NOT NULL, created_at TEXT, terminated_at TEXT, cost_usd REAL, last_error TEXT);
  CREATE TABLE pod_events (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL,
    at TEXT NOT NULL, kind TEXT NOT NULL, detail TEXT NOT NULL);";

/// An earlier version's pods journal, left as a crash leaves it: the last writes still in its
/// WAL, not yet in the main file.
fn old_pods_journal(dir: &Path) {
    let conn = Connection::open(dir.join(OLD_POD_JOURNAL)).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
    conn.execute_batch(OLD_SCHEMA).unwrap();
    conn.execute_batch(
        "INSERT INTO pods VALUES ('sds-live0001', 'podlive', 'NVIDIA H100 PCIe', 2.39, 'ready',
            'ready', NULL, '2026-11-01T10:00:00Z', '2026-11-01T10:00:05Z', NULL, NULL, NULL);
         INSERT INTO pods VALUES ('sds-intent01', NULL, 'NVIDIA A40', 0.44, 'intent', NULL,
            NULL, '2026-11-01T11:00:00Z', NULL, NULL, NULL, NULL);
         INSERT INTO pods VALUES ('sds-done0001', 'poddone', 'NVIDIA A40', 0.44, 'terminated',
            'ready', 'job-1', '2026-11-01T09:00:00Z', '2026-11-01T09:00:02Z',
            '2026-11-01T09:10:02Z', 0.0733, NULL);
         INSERT INTO pod_events (name, at, kind, detail) VALUES
            ('sds-live0001', '2026-11-01T10:00:00Z', 'intent', 'NVIDIA H100 PCIe'),
            ('sds-live0001', '2026-11-01T10:00:05Z', 'created', 'podlive'),
            ('sds-intent01', '2026-11-01T11:00:00Z', 'intent', 'NVIDIA A40'),
            ('sds-done0001', '2026-11-01T09:00:00Z', 'intent', 'NVIDIA A40');",
    )
    .unwrap();
    // As if the process died here: no checkpoint, the WAL stays beside the file.
    std::mem::forget(conn);
}

fn names(rows: &[studio_pods::JournalPod]) -> Vec<String> {
    let mut n: Vec<String> = rows.iter().map(|r| r.name.clone()).collect();
    n.sort();
    n
}

#[test]
fn an_old_pods_journal_is_imported_once_with_its_live_pods() {
    let dir = tempfile::tempdir().unwrap();
    old_pods_journal(dir.path());
    assert!(dir.path().join(format!("{OLD_POD_JOURNAL}-wal")).exists());

    let j = Journal::open_in(dir.path()).unwrap();
    assert_eq!(
        names(&j.unsettled().unwrap()),
        ["sds-intent01", "sds-live0001"],
        "the live pod and the create in flight are still there to settle"
    );
    let live = j.by_pod_id("podlive").unwrap().expect("live pod");
    assert_eq!(live.rate_per_hour, 2.39);
    assert_eq!(live.created_at.as_deref(), Some("2026-11-01T10:00:05Z"));
    assert_eq!(j.all().unwrap().len(), 3);
    let done = j.get("sds-done0001").unwrap().unwrap();
    assert_eq!(done.cost_usd, Some(0.0733));
    let kinds: Vec<String> = j
        .events("sds-live0001")
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, ["intent", "created"]);
    assert!(dir.path().join(JOURNAL_FILE).exists());
    assert!(!dir.path().join(OLD_POD_JOURNAL).exists());
    assert!(
        dir.path()
            .join(format!("{OLD_POD_JOURNAL}.imported"))
            .exists()
    );
    drop(j);

    // Opened again: nothing new to import, nothing doubled.
    let j = Journal::open_in(dir.path()).unwrap();
    assert_eq!(j.all().unwrap().len(), 3);
    assert_eq!(j.events("sds-live0001").unwrap().len(), 2);
    drop(j);

    // Even the same old file back in place (a rename lost to a crash) copies nothing twice.
    std::fs::copy(
        dir.path().join(format!("{OLD_POD_JOURNAL}.imported")),
        dir.path().join(OLD_POD_JOURNAL),
    )
    .unwrap();
    let j = Journal::open_in(dir.path()).unwrap();
    assert_eq!(j.all().unwrap().len(), 3);
    assert_eq!(j.events("sds-live0001").unwrap().len(), 2);
    assert!(!dir.path().join(OLD_POD_JOURNAL).exists());
}

#[test]
fn an_unreadable_old_journal_stops_the_open_and_is_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join(OLD_POD_JOURNAL);
    let junk = b"not a database, but it may be the only record of a billing pod".repeat(100);
    std::fs::write(&old, &junk).unwrap();
    let err = Journal::open_in(dir.path()).unwrap_err();
    assert!(err.is(IMPORT_FAILED), "{err:?}");
    assert!(err.message().contains(&old.display().to_string()), "{err}");
    assert_eq!(std::fs::read(&old).unwrap(), junk);
    assert!(
        !dir.path()
            .join(format!("{OLD_POD_JOURNAL}.imported"))
            .exists()
    );
}

#[test]
fn a_journal_file_without_the_idle_clock_gets_it() {
    let dir = tempfile::tempdir().unwrap();
    {
        let conn = Connection::open(dir.path().join(JOURNAL_FILE)).unwrap();
        conn.execute_batch(OLD_SCHEMA).unwrap();
        conn.execute(
            "INSERT INTO pods (name, pod_id, gpu_id, state, intent_at) VALUES
             ('sds-a', 'poda', 'g', 'ready', '2026-11-01T10:00:00Z')",
            [],
        )
        .unwrap();
    }
    let j = Journal::open_in(dir.path()).unwrap();
    let row = j.get("sds-a").unwrap().unwrap();
    assert_eq!(row.idle_since, None);
    j.set_owner("poda", None).unwrap();
    assert!(j.get("sds-a").unwrap().unwrap().idle_since.is_some());
}

#[test]
fn intent_then_id_then_terminated_with_cost() {
    let dir = tempfile::tempdir().unwrap();
    {
        let j = Journal::open_in(dir.path()).unwrap();
        j.record_intent("sds-aaaa0001", "NVIDIA H100 PCIe", 2.39)
            .unwrap();
        let p = j.get("sds-aaaa0001").unwrap().unwrap();
        assert_eq!(p.state, states::INTENT);
        assert!(p.pod_id.is_none());
        j.record_created("sds-aaaa0001", "pod1", 3600.0).unwrap();
        j.record_stage("sds-aaaa0001", "provisioning").unwrap();
    }
    // A reopened journal (after a crash) still knows the pod is unsettled.
    let j = Journal::open_in(dir.path()).unwrap();
    let open = j.unsettled().unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].pod_id.as_deref(), Some("pod1"));
    std::thread::sleep(std::time::Duration::from_millis(20));
    let done = j.record_terminated("pod1").unwrap().unwrap();
    assert_eq!(done.state, states::TERMINATED);
    // $3600/h for at least 20 ms is at least two cents.
    assert!(done.cost_usd.unwrap() >= 0.02, "{done:?}");
    assert!(j.unsettled().unwrap().is_empty());
    let kinds: Vec<String> = j
        .events("sds-aaaa0001")
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, ["intent", "created", "stage", "state"]);
}

#[test]
fn abandoned_intents_are_settled() {
    let j = Journal::open_in_memory().unwrap();
    j.record_intent("sds-b", "g", 1.0).unwrap();
    j.record_abandoned("sds-b", "runpod.no_capacity").unwrap();
    assert!(j.unsettled().unwrap().is_empty());
    let p = j.get("sds-b").unwrap().unwrap();
    assert_eq!(p.last_error.as_deref(), Some("runpod.no_capacity"));
}

fn started(j: &Journal, name: &str, pod_id: &str, owner: Option<&str>) {
    j.record_intent(name, "g", 1.0).unwrap();
    j.record_created(name, pod_id, 1.0).unwrap();
    if let Some(o) = owner {
        j.set_owner(pod_id, Some(o)).unwrap();
    }
    j.record_ready(name).unwrap();
}

#[test]
fn the_idle_clock_runs_only_while_nobody_holds_a_live_pod() {
    let j = Journal::open_in_memory().unwrap();
    started(&j, "sds-warm", "warm", None);
    started(&j, "sds-job", "jobpod", Some("job:j1"));
    j.record_intent("sds-flight", "g", 1.0).unwrap();

    let warm = j.warm_pods().unwrap();
    assert_eq!(names(&warm), ["sds-warm"]);
    let since = warm[0].idle_since.clone().expect("clock starts at ready");
    let at = parse_time(&since).unwrap();
    let ten = std::time::Duration::from_secs(600);
    assert_eq!(warm[0].idle_deadline(ten), Some(at + ten));
    let owned = j.by_pod_id("jobpod").unwrap().unwrap();
    assert_eq!(owned.idle_since, None);
    assert_eq!(owned.idle_deadline(ten), None);

    // A queue takes the warm pod: the clock stops; it releases it: the clock restarts.
    j.set_owner("warm", Some("batch:b1")).unwrap();
    assert!(j.warm_pods().unwrap().is_empty());
    assert_eq!(j.by_pod_id("warm").unwrap().unwrap().idle_since, None);
    std::thread::sleep(std::time::Duration::from_millis(5));
    j.set_owner("warm", None).unwrap();
    let again = j.by_pod_id("warm").unwrap().unwrap();
    assert!(parse_time(again.idle_since.as_deref().unwrap()).unwrap() > at);

    // Only one of two claims on the same warm pod wins; a failed claim gives the clock back.
    assert!(j.claim_warm("warm", "batch:b2").unwrap());
    assert!(!j.claim_warm("warm", "idle-stop").unwrap());
    j.unclaim("warm", "batch:b2", again.idle_since.as_deref())
        .unwrap();
    assert_eq!(j.warm_pods().unwrap()[0].idle_since, again.idle_since);

    // A terminated pod is not warm, and releasing it starts no clock.
    j.record_terminated("warm").unwrap();
    j.set_owner("warm", None).unwrap();
    assert!(j.warm_pods().unwrap().is_empty());
    assert_eq!(j.by_pod_id("warm").unwrap().unwrap().idle_since, None);
}

#[test]
fn two_connections_to_one_file_write_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let dir = dir.path().to_path_buf();
            std::thread::spawn(move || {
                let j = Journal::open_in(&dir).unwrap();
                for i in 0..40 {
                    let name = format!("sds-w{w}-{i}");
                    j.record_intent(&name, "g", 1.0).unwrap();
                    j.record_created(&name, &format!("p{w}-{i}"), 1.0).unwrap();
                    j.record_ready(&name).unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let j = Journal::open_in(dir.path()).unwrap();
    assert_eq!(j.warm_pods().unwrap().len(), 80);
}
