//! `standin-comfy`: run the stand-in ComfyUI by hand. Prints its URL, serves until Ctrl-C.

use clap::Parser;
use std::time::Duration;

#[derive(Parser)]
#[command(about = "A stand-in ComfyUI server that renders real (placeholder) SteadyDancer videos")]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8188")]
    listen: String,
    /// Milliseconds per sampling step.
    #[arg(long, default_value_t = 250)]
    step_ms: u64,
    /// Largest upload in MB.
    #[arg(long, default_value_t = 100)]
    max_upload_mb: u64,
    /// Keep input/ and output/ here instead of a temporary folder.
    #[arg(long)]
    data_dir: Option<std::path::PathBuf>,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let config = standin_comfy::StandinConfig {
        step_delay: Duration::from_millis(args.step_ms),
        max_upload_bytes: args.max_upload_mb * 1024 * 1024,
        data_dir: args.data_dir,
        ..Default::default()
    };
    let server = standin_comfy::StandinComfy::start_on(config, &args.listen).await?;
    println!("{}", server.url());
    tokio::signal::ctrl_c().await?;
    Ok(())
}
