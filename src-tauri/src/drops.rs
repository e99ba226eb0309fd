//! Files dropped on the window are files the user chose: the engine is told before the page
//! hears of the drop, so the page's next call (probing them) finds them allowed.

use crate::state::AppState;
use tauri::{DragDropEvent, Listener, Manager, WebviewEvent, WindowEvent};

fn dropped(app: &tauri::AppHandle, event: &DragDropEvent) {
    if let DragDropEvent::Drop { paths, .. } = event {
        app.state::<AppState>().studio.user_chose(paths);
    }
}

pub fn on_window_event(window: &tauri::Window, event: &WindowEvent) {
    if let WindowEvent::DragDrop(drop) = event {
        dropped(window.app_handle(), drop);
    }
}

pub fn on_webview_event(webview: &tauri::Webview, event: &WebviewEvent) {
    if let WebviewEvent::DragDrop(drop) = event {
        dropped(webview.app_handle(), drop);
    }
}

/// Only with `STUDIO_TEST_PAGE_DROPS=1` (the end-to-end suite): drops sent from the page count
/// too. The enter event carries the paths as well and comes first, so they are known in time.
pub fn trust_page_drops_if_testing(app: &tauri::AppHandle) {
    if !studio_app::window::page_drops_trusted() {
        return;
    }
    tracing::warn!(
        "{} is set: files named by the page count as chosen (tests only)",
        studio_app::window::PAGE_DROPS_ENV
    );
    for name in ["tauri://drag-enter", "tauri://drag-drop"] {
        let handle = app.clone();
        app.listen_any(name, move |event| {
            handle
                .state::<AppState>()
                .studio
                .page_dropped(event.payload());
        });
    }
}
