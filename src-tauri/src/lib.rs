//! The desktop shell: window, plugins and commands that forward into the studio engine.
//! Business rules live in `crates/`; nothing here decides anything a CLI user would not see.

mod commands;
mod drops;
mod lifecycle;
mod state;

use std::time::Duration;
use tauri::Manager;

pub fn run() {
    let data_dir = match studio_core::paths::data_dir() {
        Ok(dir) => dir,
        Err(e) => {
            eprintln!("SteadyDancer Studio cannot start: {}", e.message());
            std::process::exit(1);
        }
    };
    if std::env::args().any(|a| a == studio_app::guard::GUARD_ARG) {
        return studio_app::guard::main(data_dir);
    }
    let log_guard = studio_core::logging::init(&data_dir, true).ok();
    let _instance = match studio_app::instance::acquire(&data_dir, Duration::from_secs(3)) {
        Ok(lock) => Some(lock),
        Err(e) if e.is(studio_app::instance::ALREADY_RUNNING) => {
            tracing::warn!("{}", e.message());
            lifecycle::tell_already_running(e.message());
            return;
        }
        Err(e) => {
            tracing::warn!("instance lock: {}", e.chain());
            None
        }
    };
    studio_media::init();
    let demo = std::env::args().any(|a| a == "--demo");
    tracing::info!(data_dir = %data_dir.display(), version = env!("CARGO_PKG_VERSION"), demo, "starting");
    let studio = match studio_app::Studio::new(data_dir.clone(), demo) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("SteadyDancer Studio cannot start: {}", e.message());
            std::process::exit(1);
        }
    };

    let crash_guard = studio_app::guard::start_for(&studio);

    let result = tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_opener::init())
        .plugin(tauri_plugin_notification::init())
        .setup(move |app| {
            app.manage(state::AppState::new(
                data_dir,
                studio.clone(),
                log_guard,
                crash_guard,
            ));
            commands::assets::grant_outputs_to_asset_protocol(app.handle(), &studio);
            drops::trust_page_drops_if_testing(app.handle());
            lifecycle::on_termination(app.handle().clone(), studio.clone());
            lifecycle::on_start(app.handle().clone(), studio);
            Ok(())
        })
        .on_window_event(lifecycle::on_window_event)
        .on_window_event(drops::on_window_event)
        .on_webview_event(drops::on_webview_event)
        .invoke_handler(tauri::generate_handler![
            commands::app::app_info,
            commands::app::startup_report,
            commands::assets::video_url,
            commands::media::pick_media_files,
            commands::media::probe_media,
            commands::media::check_pair,
            commands::settings::get_settings,
            commands::settings::save_settings,
            commands::settings::restore_default_settings,
            commands::secrets::get_key_status,
            commands::secrets::save_api_key,
            commands::secrets::remove_api_key,
            commands::render::plan_batch,
            commands::render::start_batch,
            commands::render::render_queue,
            commands::render::cancel_render,
            commands::render::cancel_batch,
            commands::render::resume_batch,
            commands::gallery::gallery_list,
            commands::gallery::gallery_delete,
            commands::gallery::reveal_file,
            commands::pods::pods_list,
            commands::pods::pods_orphans,
            commands::pods::pods_terminate,
            commands::pods::pods_terminate_all,
            commands::pods::pods_start,
            commands::model_cache::model_cache_status,
            commands::model_cache::keep_models,
            commands::pose::pose_models_status,
            commands::pose::pose_models_download,
            commands::pose::pose_models_cancel_download,
            commands::pose::pose_preview,
            commands::pose::pose_preview_cancel,
            commands::pose::pose_warm_up,
        ])
        .run(tauri::generate_context!());
    if let Err(e) = result {
        tracing::error!("the window could not start: {e}");
        std::process::exit(1);
    }
}
