//! Running the Python reference scripts of `../shared/bench`, so that a speed is
//! measured against them in the same run.

use std::ffi::OsStr;
use std::path::Path;

use anyhow::Context;

/// Runs `python script args...` and returns every line of its standard output that
/// is a JSON object, in order.
pub fn run_json_lines<I, S>(python: &Path, script: &Path, args: I) -> anyhow::Result<Vec<serde_json::Value>>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let output = std::process::Command::new(python)
        .arg(script)
        .args(args)
        .output()
        .with_context(|| format!("cannot run {}", python.display()))?;
    let name = script.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    anyhow::ensure!(output.status.success(), "{name} failed: {}", String::from_utf8_lossy(&output.stderr).trim());
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(serde_json::Value::is_object)
        .collect();
    anyhow::ensure!(!lines.is_empty(), "{name} printed no JSON");
    Ok(lines)
}
