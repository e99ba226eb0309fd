//! Start-up and shut-down: settle what a crash left behind, and never quit with a pod billing
//! unless the user says so.

use std::sync::atomic::{AtomicBool, Ordering};
use studio_app::Studio;
use tauri::{Emitter, Manager, WindowEvent};
use tauri_plugin_dialog::{DialogExt, MessageDialogButtons, MessageDialogKind};

static QUIT_CONFIRMED: AtomicBool = AtomicBool::new(false);

/// Renders a crash left unfinished are resumed or settled (the window asks for the outcome with
/// `startup_report`); the idle timer of warm pods starts; then the UI hears about orphans.
pub fn on_start(app: tauri::AppHandle, studio: Studio) {
    tauri::async_runtime::spawn(async move {
        let settled = studio.startup_report().await;
        if !settled.is_empty() {
            tracing::info!(
                count = settled.len(),
                "renders a crash interrupted were settled"
            );
        }
        // Warm pods the user started end once idle longer than Settings allow.
        let _idle_timer = studio.spawn_idle_reaper();
        let auto = studio.settings().map(|s| s.auto_sweep).unwrap_or(false);
        if auto {
            match studio.sweep().await {
                Ok(swept) if !swept.is_empty() => {
                    tracing::info!(count = swept.len(), "orphan pods terminated at start-up");
                }
                Ok(_) => {}
                Err(e) => tracing::warn!("sweep at start-up: {}", e.chain()),
            }
        }
        let _ = app.emit("startup-settled", ());
    });
}

/// The system ends the app (log-out, shut-down, `kill`, a closed terminal): the same clean-up as
/// a confirmed quit, without a dialog nobody is there to answer.
pub fn on_termination(app: tauri::AppHandle, studio: Studio) {
    tauri::async_runtime::spawn(async move {
        studio.shut_down_when_the_system_asks().await;
        quit(&app);
    });
}

/// A second copy of the app was started: say so, then it ends (the first keeps its window).
pub fn tell_already_running(message: &str) {
    rfd::MessageDialog::new()
        .set_level(rfd::MessageLevel::Info)
        .set_title("SteadyDancer Studio")
        .set_description(message)
        .set_buttons(rfd::MessageButtons::Ok)
        .show();
}

pub fn on_window_event(window: &tauri::Window, event: &WindowEvent) {
    let WindowEvent::CloseRequested { api, .. } = event else {
        return;
    };
    if QUIT_CONFIRMED.load(Ordering::SeqCst) {
        return;
    }
    api.prevent_close();
    let app = window.app_handle().clone();
    tauri::async_runtime::spawn(async move {
        let studio = app.state::<crate::state::AppState>().studio.clone();
        let renders = studio.running_jobs();
        let pods = studio.live_pod_names().map(|p| p.len()).unwrap_or(0);
        if renders == 0 && pods == 0 {
            quit(&app);
            return;
        }
        let text = if renders > 0 {
            "A render is still running. Quitting stops it and terminates the pods this app \
             started, so nothing keeps billing."
                .to_string()
        } else {
            format!(
                "{pods} pod(s) are still running and cost money by the second. Quitting \
                 terminates them, so nothing keeps billing."
            )
        };
        let handle = app.clone();
        app.dialog()
            .message(text)
            .title("Quit SteadyDancer Studio?")
            .kind(MessageDialogKind::Warning)
            .buttons(MessageDialogButtons::OkCancelCustom(
                "Terminate and quit".into(),
                "Keep the app open".into(),
            ))
            .show(move |yes| {
                if yes {
                    tauri::async_runtime::spawn(async move {
                        studio.shut_down().await;
                        quit(&handle);
                    });
                }
            });
    });
}

fn quit(app: &tauri::AppHandle) {
    QUIT_CONFIRMED.store(true, Ordering::SeqCst);
    app.exit(0);
}
