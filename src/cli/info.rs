//! `hushword info`: a model's metadata.

use super::default_model;
use clap::Args;
use hushword::model::WakeWordModel;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// ONNX model (default: the embedded model).
    #[arg(value_name = "MODEL")]
    model: Option<PathBuf>,
    /// Print the metadata as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: InfoArgs) -> Result<ExitCode, String> {
    let model = match &args.model {
        Some(p) => WakeWordModel::from_path(p).map_err(|e| e.to_string())?,
        None => default_model::load()?,
    };
    let m = model.metadata();
    if args.json {
        let mut v = serde_json::to_value(m).map_err(|e| e.to_string())?;
        v["model"] = serde_json::Value::from(model.name());
        v["n_features"] = serde_json::Value::from(model.n_features());
        println!("{v}");
        return Ok(ExitCode::SUCCESS);
    }
    let hop_ms = m.frontend.hop_length as f64 * 1000.0 / f64::from(m.frontend.sample_rate);
    println!("model           {}", model.name());
    println!("format          {}", m.format);
    println!("keywords        {}", m.keywords.join(", "));
    println!("threshold       {}", m.threshold);
    println!(
        "window          {} frames ({:.0} ms), evaluated every {} frames ({:.0} ms)",
        m.window_frames,
        m.window_frames as f64 * hop_ms,
        m.hop_frames,
        m.hop_frames as f64 * hop_ms
    );
    println!("word duration   {} ms", m.word_duration_ms);
    let kind = serde_json::to_value(m.frontend.features).map_err(|e| e.to_string())?;
    println!(
        "features        {} {} values per frame",
        model.n_features(),
        kind.as_str().unwrap_or("?")
    );
    println!(
        "frontend        {}",
        serde_json::to_string(&m.frontend).map_err(|e| e.to_string())?
    );
    Ok(ExitCode::SUCCESS)
}
