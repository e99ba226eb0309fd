use crate::state::AppState;
use studio_app::PodRow;
use studio_app::pods_view::PodProgress;
use studio_error::Result;
use tauri::ipc::Channel;
use tokio_util::sync::CancellationToken;

#[tauri::command]
pub async fn pods_list(state: tauri::State<'_, AppState>) -> Result<Vec<PodRow>> {
    state.studio.pods().await
}

#[tauri::command]
pub async fn pods_orphans(state: tauri::State<'_, AppState>) -> Result<Vec<PodRow>> {
    state.studio.orphans().await
}

#[tauri::command]
pub async fn pods_terminate(state: tauri::State<'_, AppState>, pod_id: String) -> Result<()> {
    state.studio.terminate_pod(&pod_id).await.map(|_| ())
}

#[tauri::command]
pub async fn pods_terminate_all(state: tauri::State<'_, AppState>) -> Result<usize> {
    state.studio.terminate_all().await
}

#[tauri::command]
pub async fn pods_start(
    state: tauri::State<'_, AppState>,
    on_event: Channel<PodProgress>,
) -> Result<PodRow> {
    let send = move |e: PodProgress| {
        let _ = on_event.send(e);
    };
    state
        .studio
        .start_warm_pod(send, CancellationToken::new())
        .await
}
