//! The runner as a user meets it: exit codes, one-line errors, files written or not.
#![allow(clippy::unwrap_used)] // a panic in a test helper is a failed test

use std::path::PathBuf;
use std::process::Command;

fn genre() -> Command {
    Command::new(env!("CARGO_BIN_EXE_genre"))
}

fn fixtures() -> PathBuf {
    std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../../fixtures")
}

/// A fresh folder for one test, removed on drop.
fn scratch(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(&format!("genre-cli-{name}-")).tempdir().expect("a temp folder for the test")
}

#[test]
fn features_writes_a_npy_of_the_right_shape() {
    let dir = scratch("features");
    let out = dir.path().join("f.npy");
    let status = genre()
        .args(["features"])
        .arg(fixtures().join("audio/music_22050_flac.flac"))
        .arg("--out")
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(&bytes[..6], b"\x93NUMPY");
    let header = String::from_utf8_lossy(&bytes[10..128]);
    assert!(header.contains("'shape': (10, 128, 130)") && header.contains("'descr': '<f4'"), "{header}");
    assert_eq!(bytes.len() % 64, (10 * 128 * 130 * 4) % 64);

    let whole = dir.path().join("whole.npy");
    let status = genre()
        .args(["features", "--whole-track", "--db"])
        .arg(fixtures().join("audio/tones_22050_pcm16.wav"))
        .arg("--out")
        .arg(&whole)
        .status()
        .unwrap();
    assert!(status.success());
    let header = String::from_utf8_lossy(&std::fs::read(&whole).unwrap()[10..128]).to_string();
    assert!(
        header.contains("'shape': (2, 128, 130)"),
        "4.5 s is one segment and a 1.5 s tail, which is kept: {header}"
    );
}

#[test]
fn broken_audio_fails_with_one_line_and_writes_nothing() {
    let dir = scratch("broken");
    for (name, bytes) in [("empty.wav", Vec::new()), ("noise.mp3", vec![0x5a; 3000]), ("text.au", b"hello".to_vec())] {
        let input = dir.path().join(name);
        std::fs::write(&input, bytes).unwrap();
        let out = dir.path().join(format!("{name}.npy"));
        let result = genre().arg("features").arg(&input).arg("--out").arg(&out).output().unwrap();
        assert!(!result.status.success(), "{name} was accepted");
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert_eq!(stderr.trim_end().lines().count(), 1, "{name}: {stderr}");
        assert!(stderr.contains(name), "{name}: {stderr}");
        assert!(!out.exists(), "{name}: an output file was written");
        assert!(
            std::fs::read_dir(dir.path()).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().ends_with(".tmp"))
        );
    }
}

/// The fixture CRNN-BiGRU (four Emotify genres) imported into `dir` as a model file.
fn imported_crnn(dir: &std::path::Path) -> PathBuf {
    let model = dir.join("m.gmdl");
    let status = genre()
        .arg("import-torch")
        .arg(fixtures().join("models/crnn-bigru.pt"))
        .args(["--arch", "crnn-bigru", "--labels", "classical,electronic,pop,rock", "--out"])
        .arg(&model)
        .status()
        .unwrap();
    assert!(status.success());
    model
}

#[test]
fn predict_goes_on_after_a_broken_file_and_prints_one_json_object_per_file() {
    let dir = scratch("predict");
    let model = imported_crnn(dir.path());
    let broken = dir.path().join("broken.ogg");
    std::fs::write(&broken, b"OggS but not really").unwrap();
    let no_audio = dir.path().join("no_audio");
    std::fs::create_dir(&no_audio).unwrap();
    let out = genre()
        .arg("predict")
        .arg(fixtures().join("audio/music_22050_flac.flac"))
        .arg(&broken)
        .arg(&no_audio)
        .arg(fixtures().join("audio/tones_22050_pcm16.wav"))
        .arg(fixtures().join("audio/silence_22050_pcm16.wav"))
        .args(["--format", "json", "--top-k", "2", "--aggregate", "vote", "--model"])
        .arg(&model)
        .output()
        .unwrap();
    assert!(!out.status.success(), "a failed file must make the exit status non-zero");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("broken.ogg"), "{stderr}");
    assert!(stderr.contains("no_audio: no audio files in this folder"), "{stderr}");
    assert_eq!(stderr.lines().filter(|l| l.starts_with("error: ")).count(), 2, "{stderr}");
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.starts_with("warning: ")).collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(warnings[0].contains("silence_22050_pcm16.wav: the first 30 s are silent"), "{stderr}");
    let lines: Vec<serde_json::Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3);
    for v in &lines {
        for key in ["file", "labels", "prediction", "aggregate", "probabilities", "top_k", "segments", "device"] {
            assert!(v.get(key).is_some(), "missing {key}: {v}");
        }
        assert_eq!(v["aggregate"], "vote");
        assert_eq!(v["top_k"].as_array().unwrap().len(), 2);
        assert_eq!(v["segments"].as_array().unwrap().len(), 10);
        assert_eq!(v["segments"][9]["end_s"], 30.0);
    }
}

#[test]
fn predict_shares_batches_across_files_and_answers_each_as_if_alone() {
    let dir = scratch("predict-shared");
    let model = imported_crnn(dir.path());
    let broken = dir.path().join("broken.wav");
    std::fs::write(&broken, b"RIFF....WAVEnot really").unwrap();
    let audio = |name: &str| fixtures().join("audio").join(name);
    // Two segments each, whole-track; batches of three straddle the files.
    let files =
        [audio("music_22050_flac.flac"), broken, audio("tones_22050_pcm16.wav"), audio("music_44100_pcm16.wav")];
    let predict = |files: &[PathBuf], batch: &str| {
        let out = genre()
            .arg("predict")
            .args(files)
            .args(["--whole-track", "--format", "json", "--batch", batch, "--model"])
            .arg(&model)
            .output()
            .unwrap();
        let lines: Vec<serde_json::Value> =
            String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        (lines, String::from_utf8_lossy(&out.stderr).to_string())
    };
    let (together, stderr) = predict(&files, "3");
    assert_eq!(stderr.lines().filter(|l| l.starts_with("error: ")).count(), 1, "{stderr}");
    assert!(stderr.contains("broken.wav"), "{stderr}");
    let answered: Vec<&PathBuf> = files.iter().filter(|f| !f.ends_with("broken.wav")).collect();
    assert_eq!(together.len(), answered.len());
    for (shared, file) in together.iter().zip(answered) {
        assert_eq!(shared["file"], file.display().to_string(), "files answered in their order");
        let (alone, _) = predict(std::slice::from_ref(file), "1");
        let segments = |v: &serde_json::Value| -> Vec<f64> {
            v["segments"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|s| s["probabilities"].as_array().unwrap().iter().map(|p| p.as_f64().unwrap()))
                .collect()
        };
        let (a, b) = (segments(shared), segments(&alone[0]));
        assert_eq!(shared["segments"].as_array().unwrap().len(), 2);
        assert_eq!(a.len(), b.len());
        let largest = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
        assert!(largest < 1e-5, "{}: segment probabilities differ by {largest}", file.display());
    }
}

/// `root/<genre>/<n>.wav` for each genre, `per_genre` fixture WAVs each.
fn collection_of(root: &std::path::Path, genres: &[&str], per_genre: usize) {
    let audio: Vec<_> = std::fs::read_dir(fixtures().join("audio"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wav"))
        .collect();
    for (i, genre) in genres.iter().enumerate() {
        std::fs::create_dir_all(root.join(genre)).unwrap();
        for j in 0..per_genre {
            std::fs::copy(&audio[(i * per_genre + j) % audio.len()], root.join(genre).join(format!("{j}.wav")))
                .unwrap();
        }
    }
}

#[test]
fn train_writes_metrics_checkpoints_and_a_model_predict_can_use() {
    let dir = scratch("train");
    let data = dir.path().join("data");
    collection_of(&data, &["ambient", "noise", "tones"], 4);
    let run = dir.path().join("run");
    let out = genre()
        .args(["train", "--epochs", "1", "--fractions", "0.5,0.25,0.25", "--threads", "1"])
        .args(["--spec-augment", "--reduce-lr-on-plateau", "--data"])
        .arg(&data)
        .arg("--out")
        .arg(&run)
        .arg("--cache-dir")
        .arg(dir.path().join("cache"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let metrics = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    assert_eq!(metrics.lines().count(), 2, "{metrics}");
    let result: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("result.json")).unwrap()).unwrap();
    assert_eq!(result["test_tracks"], 3);
    // The split is named in its strategy's own terms: no k-fold fold for a stratified split.
    assert_eq!(result["split"], "stratified");
    assert!(result["fold"].is_null() && result["list_kind"].is_null(), "{result}");
    assert!(result["test_track_accuracy"].as_f64().is_some());
    assert!(run.join("last.gmdl").exists());
    assert_eq!(&std::fs::read(run.join("learning_curve.png")).unwrap()[1..4], b"PNG");
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["spec_augment"]["time_masks"], 2);
    assert_eq!(config["reduce_lr_on_plateau"]["patience"], 3);
    let predicted = genre()
        .arg("predict")
        .arg(data.join("tones/0.wav"))
        .arg("--model")
        .arg(run.join("model.gmdl"))
        .output()
        .unwrap();
    assert!(predicted.status.success(), "{}", String::from_utf8_lossy(&predicted.stderr));
    // eval on the same split: the first 30 s by default, every segment with --whole-track.
    for (flag, coverage) in [(None, "the first 30 s"), (Some("--whole-track"), "every 3 s segment")] {
        let report = dir.path().join("eval");
        let evaluated = genre()
            .args(["eval", "--fractions", "0.5,0.25,0.25", "--data"])
            .arg(&data)
            .arg("--model")
            .arg(run.join("model.gmdl"))
            .arg("--out")
            .arg(&report)
            .arg("--cache-dir")
            .arg(dir.path().join("cache"))
            .args(flag)
            .output()
            .unwrap();
        assert!(evaluated.status.success(), "{}", String::from_utf8_lossy(&evaluated.stderr));
        let markdown = std::fs::read_to_string(report.join("report.md")).unwrap();
        assert!(markdown.contains(coverage) && markdown.contains("3 test tracks"), "{markdown}");
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(report.join("report.json")).unwrap()).unwrap();
        assert_eq!(json["whole_track"], flag.is_some());
    }
}

#[test]
fn the_default_model_s_recipe_trains_with_extra_tracks_and_a_tag_prior() {
    let dir = scratch("recipe");
    let (data, extra) = (dir.path().join("data"), dir.path().join("extra"));
    collection_of(&data, &["blues", "jazz", "reggae"], 3);
    collection_of(&extra, &["electronic", "jazz"], 2);
    let run = dir.path().join("run");
    let out = genre()
        .args(["train", "--arch", "musicnn-dual", "--epochs", "2", "--fractions", "0.67,0,0.33", "--refit"])
        .args(["--whole-track", "--test-whole-track", "--weight-tracks-equally", "--tag-prior", "0.5"])
        .arg("--data")
        .arg(&data)
        .arg("--extra-train")
        .arg(&extra)
        .arg("--out")
        .arg(&run)
        .arg("--cache-dir")
        .arg(dir.path().join("cache"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("2 tracks added to the training set, 2 of other genres left out"), "{stdout}");
    let result: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("result.json")).unwrap()).unwrap();
    assert_eq!(
        (&result["tag_prior"], &result["weight_tracks_equally"]),
        (&serde_json::json!(0.5), &serde_json::json!(true))
    );
    assert_eq!(result["test_tracks"], 3);
    // The saved model carries the prior: `predict` reads it back and answers in three genres.
    let predicted = genre()
        .arg("predict")
        .arg(data.join("jazz/0.wav"))
        .args(["--format", "json", "--model"])
        .arg(run.join("model.gmdl"))
        .output()
        .unwrap();
    assert!(predicted.status.success(), "{}", String::from_utf8_lossy(&predicted.stderr));
    let v: serde_json::Value = serde_json::from_slice(&predicted.stdout).unwrap();
    assert_eq!(v["labels"], serde_json::json!(["blues", "jazz", "reggae"]));
    // A prior needs a genre a tag names, and the dual model.
    let refused = genre()
        .args(["train", "--arch", "crnn-bigru", "--epochs", "1", "--tag-prior", "0.5", "--data"])
        .arg(&data)
        .arg("--out")
        .arg(dir.path().join("refused"))
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--tag-prior"));
}

#[test]
fn predict_without_a_model_uses_the_bundled_one() {
    let elsewhere = scratch("predict-cwd");
    let out = genre()
        .current_dir(elsewhere.path())
        .arg("predict")
        .arg(fixtures().join("audio/music_22050_flac.flac"))
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["labels"], serde_json::json!(GTZAN_GENRES));
    let sum: f64 = v["probabilities"].as_array().unwrap().iter().map(|p| p.as_f64().unwrap()).sum();
    assert!((sum - 1.0).abs() < 1e-4, "probabilities sum to {sum}");
    // musicnn patches of 187 frames at 16 kHz (2.992 s each): the bundled model was
    // trained on whole clips, so it reads the whole 4.5 s file (one full patch and
    // the zero-padded rest) unless told `--first-30s` (ten, the last eight silent).
    assert_eq!(v["segments"].as_array().unwrap().len(), 2);
    let out = genre()
        .arg("predict")
        .arg(fixtures().join("audio/music_22050_flac.flac"))
        .args(["--format", "json", "--first-30s"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["segments"].as_array().unwrap().len(), 10);
}

const GTZAN_GENRES: [&str; 10] =
    ["blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock"];

/// `predict --model NAME --format json` of the FLAC fixture: the exit status and the labels.
fn labels_of(model: &str) -> (bool, serde_json::Value, String) {
    let out = genre()
        .arg("predict")
        .arg(fixtures().join("audio/music_22050_flac.flac"))
        .args(["--format", "json", "--model", model])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    (out.status.success(), v["labels"].clone(), stderr)
}

#[test]
fn model_names_the_bundled_models_and_an_unknown_name_lists_them() {
    assert_eq!(labels_of("gtzan").1, serde_json::json!(GTZAN_GENRES));
    assert_eq!(labels_of("emotify").1, serde_json::json!(["classical", "electronic", "pop", "rock"]));
    let (ok, _, stderr) = labels_of("gtzn");
    assert!(!ok);
    assert!(stderr.contains("--model gtzn") && stderr.contains("gtzan") && stderr.contains("emotify"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    // A path that is not there is just a missing file.
    let (ok, _, stderr) = labels_of("runs/gtzn/model.gmdl");
    assert!(!ok && stderr.contains("no such file") && !stderr.contains("emotify"), "{stderr}");
    // Anything else is a model file: a file that is no model is reported as such.
    let dir = scratch("not-a-model");
    let path = dir.path().join("gtzan.gmdl");
    std::fs::write(&path, b"not a model").unwrap();
    let (ok, _, stderr) = labels_of(path.to_str().unwrap());
    assert!(!ok);
    assert!(stderr.contains("not a model file"), "{stderr}");
}

#[test]
fn explain_writes_maps_pictures_and_deletion_curves() {
    let dir = scratch("explain");
    let out = genre()
        .arg("explain")
        .arg(fixtures().join("audio/musicnn_16000_pcm16.wav"))
        .args(["--method", "grad-cam", "--segment", "1", "--target", "rock", "--deletion-steps", "4", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let npy = std::fs::read(dir.path().join("grad-cam.npy")).unwrap();
    let header = String::from_utf8_lossy(&npy[10..128]);
    assert!(header.contains("'shape': (96, 187)"), "{header}");
    assert_eq!(&std::fs::read(dir.path().join("grad-cam.png")).unwrap()[1..4], b"PNG");
    assert_eq!(&std::fs::read(dir.path().join("explain.png")).unwrap()[1..4], b"PNG");
    let csv = std::fs::read_to_string(dir.path().join("deletion.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 5, "{csv}");
    assert!(csv.lines().nth(1).unwrap().starts_with("1,grad-cam,rock,0.0000,"), "{csv}");

    let wrong = genre()
        .arg("explain")
        .arg(fixtures().join("audio/musicnn_16000_pcm16.wav"))
        .args(["--target", "electronic", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("electronic"));
}

#[test]
fn tags_prints_the_taggram_and_draws_it() {
    let dir = scratch("tags");
    // From an empty folder, with no weights folder named: the taggers are inside the binary.
    let elsewhere = scratch("tags-cwd");
    let out = genre()
        .current_dir(elsewhere.path())
        .env_remove("GENRE_MUSICNN_WEIGHTS")
        .arg("tags")
        .arg(fixtures().join("audio/musicnn_16000_pcm16.wav"))
        .args(["--model", "mtt", "--top", "5", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("musicnn-mtt") && stdout.contains("3 patches"), "{stdout}");
    let csv = std::fs::read_to_string(dir.path().join("taggram.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 3);
    assert_eq!(csv.lines().next().unwrap().split(',').count(), 2 + 50);
    assert_eq!(&std::fs::read(dir.path().join("taggram.png")).unwrap()[1..4], b"PNG");
}
