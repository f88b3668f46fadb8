//! The command line, parsed once at the edge.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::bundled::{BundledModel, ModelChoice};

/// Music-genre classification: features, training, evaluation, explanations, the web app
/// and benchmarks.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compute the model input features of one audio file and write them as .npy.
    Features(FeaturesArgs),
    /// Compare our features with reference .npy files (e.g. librosa's) and print the differences.
    Parity(ParityArgs),
    /// Benchmarks.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Decode every file of a collection: broken files, audio statistics, duplicates.
    Validate(ValidateArgs),
    /// Make a track-level train / validation / test split of a collection.
    Split(SplitArgs),
    /// Compute and store the features of every track of a collection.
    Cache(CacheArgs),
    /// Write an exploratory-analysis report (one HTML page with charts) of a collection.
    Eda(EdaArgs),
    /// Train a model on a collection with the original's recipe (early stopping).
    Train(TrainArgs),
    /// Evaluate a model on a collection's test split: accuracies, per-class metrics,
    /// confusion matrix, aggregation comparison, calibration.
    Eval(EvalArgs),
    /// Compare training runs: accuracy (mean and spread over folds), parameters, time.
    Compare(CompareArgs),
    /// Classify audio files with a model: top genres per file and per segment.
    Predict(PredictArgs),
    /// Convert a PyTorch state_dict of the original's models into a model file.
    ImportTorch(ImportTorchArgs),
    /// Make a model that ships inside the binary (xtask/assets/<name>.gmdl): a
    /// trained model in half precision if no probability on the check files moves by
    /// more than 1e-3 with it, else in full precision.
    Bundle(BundleArgs),
    /// Explain a model's decision on an audio file: integrated gradients, Grad-CAM and
    /// occlusion over the spectrogram, as .npy and PNG, with deletion curves.
    Explain(ExplainArgs),
    /// Serve the web app: the page at `/` and its JSON API under `/api` (`docs/web.md`).
    Serve(ServeArgs),
    /// Tag audio with pretrained musicnn (zero-shot): top tags overall and over time,
    /// and a taggram picture.
    Tags(TagsArgs),
    /// Pretrained musicnn embeddings of every segment of a collection, for your own
    /// classifier: `embeddings.npy` ([segments, E] f32) and `segments.csv`.
    Embed(EmbedArgs),
    /// Run the whole test suite (what CI runs).
    Test(TestArgs),
}

/// What of a file a model reads, when the model's own default will not do.
#[derive(Debug, clap::Args)]
pub struct ReadsArgs {
    /// Every 3 s segment of the file instead of the first 30 s (the default for a model
    /// trained with `train --whole-track`, such as the bundled one).
    #[arg(long, conflicts_with = "first_30s")]
    pub whole_track: bool,
    /// Only the first 30 s (ten segments), as the Python original: the default for
    /// models trained on the first 30 s.
    #[arg(long = "first-30s")]
    pub first_30s: bool,
}

impl ReadsArgs {
    /// `Some(true)` for whole tracks, `Some(false)` for the first 30 s, `None` for the
    /// model's default ([`models::checkpoint::CheckpointHeader::coverage`]).
    pub fn whole_track(&self) -> Option<bool> {
        if self.whole_track {
            Some(true)
        } else if self.first_30s {
            Some(false)
        } else {
            None
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// The audio file.
    pub audio: PathBuf,
    #[command(flatten)]
    pub reads: ReadsArgs,
    /// A bundled model, `gtzan` (GTZAN's ten genres, the default) or `emotify` (four
    /// genres), or a model file (from `train`, `import-torch` or `bundle`).
    #[arg(long, default_value = "gtzan", value_name = "NAME|FILE")]
    pub model: ModelChoice,
    /// integrated-gradients, grad-cam, occlusion or all.
    #[arg(long, default_value = "all")]
    pub method: String,
    /// Which 3 s segment (0-based), or `all`.
    #[arg(long, default_value = "0")]
    pub segment: String,
    /// The genre to explain, or `predicted` (per segment).
    #[arg(long, default_value = "predicted")]
    pub target: String,
    /// Output folder: <method>.npy ([n_mels, n_frames], or [N, n_mels, n_frames] for
    /// all segments), <method>.png, explain.png (side by side), deletion.csv.
    #[arg(long)]
    pub out: PathBuf,
    /// Steps of the deletion curve (0 skips it).
    #[arg(long, default_value_t = 20)]
    pub deletion_steps: usize,
}

#[derive(Debug, clap::Args)]
pub struct BundleArgs {
    /// The trained model (f32).
    #[arg(long)]
    pub model: PathBuf,
    /// Audio files (or folders) whose predictions must survive half precision.
    #[arg(long, num_args = 1.., required = true)]
    pub check: Vec<PathBuf>,
    /// Which bundled model it becomes.
    #[arg(long, value_enum)]
    pub name: BundledModel,
    /// Where to write it (default: xtask/assets/<name>.gmdl).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on.
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// The models the page offers, the first its default: bundled names (`gtzan`,
    /// `emotify`) or model files; repeat the option for more than one.
    #[arg(long = "model", default_values = ["gtzan", "emotify"], value_name = "NAME|FILE")]
    pub models: Vec<ModelChoice>,
    /// Largest upload, MB (over it: 413).
    #[arg(long, default_value_t = 50)]
    pub max_upload_mb: usize,
    /// Inferences at once.
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
    /// Requests that may wait for a worker (more: 503).
    #[arg(long, default_value_t = 16)]
    pub queue: usize,
}

#[derive(Debug, clap::Args)]
pub struct TagsArgs {
    /// The audio file.
    pub audio: PathBuf,
    /// Which pretrained tagger: msd (Million Song Dataset tags) or mtt (MagnaTagATune),
    /// musicnn; msd-vgg or mtt-vgg for the package's VGG baselines.
    #[arg(long, default_value = "msd")]
    pub model: String,
    /// How many tags to print and draw.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Folder for taggram.png and taggram.csv (every tag, every 3 s patch).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// Extra arguments passed to `cargo test` (after `--`).
    #[arg(last = true)]
    pub cargo_args: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct FeaturesArgs {
    /// The audio file (WAV, AU, FLAC, MP3, OGG, M4A).
    pub audio: PathBuf,
    /// Where to write the .npy (f32, C order): [10, 128, 130], or [N, 128, 130] with --whole-track.
    #[arg(long)]
    pub out: PathBuf,
    /// Write the log-mel in dB, before per-segment standardisation.
    #[arg(long)]
    pub db: bool,
    /// Every 3 s segment of the file instead of the first 30 s.
    #[arg(long)]
    pub whole_track: bool,
}

#[derive(Debug, clap::Args)]
pub struct ParityArgs {
    /// Folder holding the reference `<stem>.npy` of each audio file.
    #[arg(long)]
    pub reference: PathBuf,
    /// Compare log-mel dB instead of standardised features.
    #[arg(long)]
    pub db: bool,
    /// Audio files or folders.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Time decoding + features per file (optimised build); last line is JSON.
    Features(BenchFeaturesArgs),
    /// Time a model's inference on 10 segments and its training step; last line is JSON.
    Model(BenchModelArgs),
    /// Training throughput (segments per second), against PyTorch in the same run with
    /// `--torch`; last line is JSON.
    Train(BenchModelArgs),
    /// Time musicnn embedding extraction per 30 s track (decode, features, all ten
    /// patches through the tagger), against the Python package; last line is JSON.
    Musicnn(BenchMusicnnArgs),
    /// Load-test the web server on loopback: `--requests` uploads of one file, at most
    /// `--concurrency` in flight, then stop; throughput and latency percentiles, and the
    /// original pipeline's per-upload time for the same file; last line is JSON.
    Serve(BenchServeArgs),
}

#[derive(Debug, clap::Args)]
pub struct BenchServeArgs {
    /// Requests in all.
    #[arg(long, default_value_t = 200)]
    pub requests: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Inferences the server runs at once (its `--workers`).
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
    /// A bundled model, `gtzan` (GTZAN's ten genres, the default) or `emotify` (four
    /// genres), or a model file (from `train`, `import-torch` or `bundle`).
    #[arg(long, default_value = "gtzan", value_name = "NAME|FILE")]
    pub model: ModelChoice,
    /// Also time `../shared/bench/seed_pipeline.py` (librosa + PyTorch CRNN-BiGRU) on the
    /// same file with this Python, in the same run.
    #[arg(long, value_name = "PYTHON")]
    pub python: Option<PathBuf>,
    /// The reference script run with `--python`.
    #[arg(long, default_value = "../shared/bench/seed_pipeline.py")]
    pub script: PathBuf,
    /// The audio file every request uploads.
    pub file: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct BenchMusicnnArgs {
    /// msd or mtt.
    #[arg(long, default_value = "msd")]
    pub model: String,
    /// CPU threads (ours and the package's).
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Timed repeats per file after one warm-up.
    #[arg(long, default_value_t = 3)]
    pub repeat: usize,
    /// Also time the `musicnn` package on the same files, with this Python (one with
    /// tensorflow-cpu, tf-keras and musicnn installed), and print the ratio.
    #[arg(long, value_name = "PYTHON")]
    pub python: Option<PathBuf>,
    /// The reference script run with `--python`.
    #[arg(long, default_value = "weights/bench_musicnn.py")]
    pub script: PathBuf,
    /// Audio files or folders.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct BenchFeaturesArgs {
    /// Worker threads (files are spread over them).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Timed repeats per file after one warm-up.
    #[arg(long, default_value_t = 5)]
    pub repeat: usize,
    /// Also time librosa on the same files in the same run, with this Python
    /// (one that has `shared/bench/requirements.txt` installed), and print the ratio.
    #[arg(long, value_name = "PYTHON")]
    pub librosa: Option<PathBuf>,
    /// The reference script run with `--librosa`.
    #[arg(long, default_value = "../shared/bench/librosa_features.py")]
    pub librosa_script: PathBuf,
    /// Audio files or folders.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// The collection: GTZAN (either layout) or any <root>/<genre>/<audio> folder.
    #[arg(long)]
    pub data: PathBuf,
    /// Where to write the JSON report.
    #[arg(long, default_value = "out/validation.json")]
    pub out: PathBuf,
    /// Decoding threads.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
}

/// How to split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SplitStrategy {
    /// Stratified by genre, --fractions of each genre (default 70/15/15).
    Stratified,
    /// Stratified k-fold: --fold of --folds is the test set.
    KFold,
    /// From list files: --lists DIR holding train/valid/test lists.
    Lists,
    /// Stratified, keeping each artist of --artist-index in one set.
    Artist,
}

#[derive(Debug, clap::Args)]
pub struct SplitArgs {
    /// The collection.
    #[arg(long)]
    pub data: PathBuf,
    #[command(flatten)]
    pub split: SplitOptions,
    /// Where to write the split as JSON.
    #[arg(long, default_value = "out/split.json")]
    pub out: PathBuf,
    /// Also write the sets as list files `DIR/{train,valid,test}_<list-kind>.txt`.
    #[arg(long, value_name = "DIR")]
    pub lists_out: Option<PathBuf>,
}

/// How to split a collection by track (shared by `split` and `train`).
#[derive(Debug, Clone, clap::Args)]
pub struct SplitOptions {
    /// The strategy.
    #[arg(long, value_enum, default_value_t = SplitStrategy::Stratified)]
    pub strategy: SplitStrategy,
    /// Seed of the shuffle.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Train, validation and test fractions (stratified, artist).
    #[arg(long, value_delimiter = ',', default_values_t = [0.70, 0.15, 0.15])]
    pub fractions: Vec<f64>,
    /// Number of folds (k-fold).
    #[arg(long, default_value_t = 5)]
    pub folds: usize,
    /// Which fold is the test set, 0-based (k-fold).
    #[arg(long, default_value_t = 0)]
    pub fold: usize,
    /// Share of the non-test tracks used for validation (k-fold).
    #[arg(long, default_value_t = 0.15)]
    pub valid_fraction: f64,
    /// Folder of list files `train_<kind>.txt`, `valid_<kind>.txt`, `test_<kind>.txt` (lists).
    #[arg(long)]
    pub lists: Option<PathBuf>,
    /// Which lists: e.g. `filtered` (fault-filtered GTZAN) or `stratified` (lists).
    #[arg(long, default_value = "filtered")]
    pub list_kind: String,
    /// Go on when listed files are missing from the collection (lists).
    #[arg(long)]
    pub allow_missing: bool,
    /// Sturm's GTZAN artist index: each artist's tracks stay in one set (artist, or
    /// stratified and k-fold); tracks it lists with no artist stay with their genre's
    /// other unnamed tracks.
    #[arg(long)]
    pub artist_index: Option<PathBuf>,
    /// A report from `validate`: its duplicates are kept in one set.
    #[arg(long)]
    pub validation: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct CacheArgs {
    /// The collection.
    #[arg(long)]
    pub data: PathBuf,
    /// The cache folder (one sub-folder per feature configuration).
    #[arg(long, default_value = "cache")]
    pub cache_dir: PathBuf,
    /// Every 3 s segment of each track instead of the first 30 s.
    #[arg(long)]
    pub whole_track: bool,
    /// Worker threads.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
}

#[derive(Debug, clap::Args)]
pub struct EdaArgs {
    /// The collection.
    #[arg(long)]
    pub data: PathBuf,
    /// Output folder: `index.html` and `validation.json`.
    #[arg(long, default_value = "out/eda")]
    pub out: PathBuf,
    /// Worker threads.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
}

/// Output formats of `predict`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// A readable table.
    Table,
    /// One JSON object per file per line.
    Json,
    /// One CSV row per file.
    Csv,
}

#[derive(Debug, clap::Args)]
pub struct PredictArgs {
    /// Audio files or folders (walked for audio files).
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// A bundled model, `gtzan` (GTZAN's ten genres, the default) or `emotify` (four
    /// genres), or a model file (from `train`, `import-torch` or `bundle`).
    #[arg(long, default_value = "gtzan", value_name = "NAME|FILE")]
    pub model: ModelChoice,
    /// How many genres to show.
    #[arg(long, default_value_t = 3)]
    pub top_k: usize,
    /// How segment probabilities become the track's: mean, median, max or vote.
    #[arg(long, default_value = "mean")]
    pub aggregate: String,
    #[command(flatten)]
    pub reads: ReadsArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    /// cpu, wgpu or cuda (the last two need their cargo features).
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Segments per inference batch.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
}

#[derive(Debug, clap::Args)]
pub struct ImportTorchArgs {
    /// A PyTorch state_dict (`torch.save(model.state_dict())`, or wrapped as {"state_dict": ...}).
    pub state_dict: PathBuf,
    /// crnn-bigru, crnn-bilstm or transformer.
    #[arg(long)]
    pub arch: String,
    /// Genre names in the model's output order, comma-separated.
    #[arg(long, value_delimiter = ',', required = true)]
    pub labels: Vec<String>,
    /// The model file to write.
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct BenchModelArgs {
    /// crnn-bigru, crnn-bilstm or transformer.
    #[arg(long, default_value = "crnn-bigru")]
    pub arch: String,
    /// Training batch size.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// CPU threads (Burn's rayon pool; PyTorch's intra-op threads).
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Timed steps after two warm-up steps.
    #[arg(long, default_value_t = 10)]
    pub steps: usize,
    /// Also run `torch_reference.py bench` with this Python, same settings, same run.
    #[arg(long, value_name = "PYTHON")]
    pub torch: Option<PathBuf>,
    /// The reference script run with `--torch`.
    #[arg(long, default_value = "../shared/bench/torch_reference.py")]
    pub torch_script: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// The collection.
    #[arg(long)]
    pub data: PathBuf,
    /// crnn-bigru, crnn-bilstm, transformer, or a genre head on pretrained musicnn:
    /// musicnn-msd, musicnn-mtt, musicnn-dual (both taggers; the bundled model).
    #[arg(long, default_value = "crnn-bigru")]
    pub arch: String,
    /// For musicnn-*: the layer the head learns from (pools, penultimate, taggram,
    /// penultimate-taggram); default pools, and penultimate-taggram for musicnn-dual.
    #[arg(long)]
    pub embedding: Option<String>,
    /// Train on the train and validation tracks together for exactly --epochs epochs,
    /// without early stopping (the recipe of musicnn-dual: `docs/musicnn.md`).
    #[arg(long)]
    pub refit: bool,
    /// Another folder-per-genre collection whose tracks join the training set only (never
    /// validation or test), under the genres of --data that they share; tracks of other
    /// genres are left out. Repeat for more than one.
    #[arg(long, value_name = "DIR")]
    pub extra_train: Vec<PathBuf>,
    /// The run folder: metrics.csv, last.gmdl (every epoch), state/ (for --resume),
    /// model.gmdl (best), result.json.
    #[arg(long)]
    pub out: PathBuf,
    /// How to split (its --seed also seeds the weights and the shuffles).
    #[command(flatten)]
    pub split: SplitOptions,
    /// At most this many epochs.
    #[arg(long, default_value_t = 60)]
    pub epochs: usize,
    /// Early-stopping patience in epochs.
    #[arg(long, default_value_t = 7)]
    pub patience: usize,
    /// Segments per batch.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Train on every 3 s segment of each track instead of the first 30 s.
    #[arg(long)]
    pub whole_track: bool,
    /// Test on every 3 s segment of each track too (the test set reads the first 30 s
    /// otherwise, so runs with and without --whole-track compare directly).
    #[arg(long)]
    pub test_whole_track: bool,
    /// Halve the learning rate after 3 epochs without a better validation loss
    /// (PyTorch's ReduceLROnPlateau).
    #[arg(long)]
    pub reduce_lr_on_plateau: bool,
    /// SpecAugment-style masking of training segments: two time masks of up to 13
    /// frames and two frequency masks of up to 12 mel bins (spectrogram models only).
    #[arg(long)]
    pub spec_augment: bool,
    /// Weigh each training track equally in the loss, however many segments it has (a
    /// 2 s excerpt as much as a 30 s clip); by default each segment counts once.
    #[arg(long)]
    pub weight_tracks_equally: bool,
    /// musicnn-dual: fuse the taggers' own genre tags into the saved model's output with
    /// this weight (probabilities ∝ head^(1-w) · tags^w; `docs/gtzan.md`). Genres are
    /// matched to tags by GTZAN's names; a genre no tag names gets the mean tag score.
    #[arg(long, value_name = "WEIGHT")]
    pub tag_prior: Option<f64>,
    /// Continue a stopped run in --out from its last finished epoch.
    #[arg(long)]
    pub resume: bool,
    /// The feature cache folder.
    #[arg(long, default_value = "cache")]
    pub cache_dir: PathBuf,
    /// CPU threads.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
}

#[derive(Debug, clap::Args)]
pub struct EmbedArgs {
    /// The collection (folder-per-genre or GTZAN layout).
    #[arg(long)]
    pub data: PathBuf,
    /// The tagger: msd or mtt.
    #[arg(long, default_value = "msd")]
    pub model: String,
    /// pools, penultimate or taggram.
    #[arg(long, default_value = "pools")]
    pub layer: String,
    /// Every 3 s segment of each track instead of the first 30 s.
    #[arg(long)]
    pub whole_track: bool,
    /// Output folder.
    #[arg(long, default_value = "out/embed")]
    pub out: PathBuf,
    /// The feature (and embedding) cache folder.
    #[arg(long, default_value = "cache")]
    pub cache_dir: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// The model file.
    #[arg(long)]
    pub model: PathBuf,
    /// The collection.
    #[arg(long)]
    pub data: PathBuf,
    /// Which tracks to evaluate (the split's test set).
    #[command(flatten)]
    pub split: SplitOptions,
    /// Output folder: report.md, report.html, report.json, confusion.csv, confusion.png, reliability.png.
    #[arg(long, default_value = "out/eval")]
    pub out: PathBuf,
    /// The feature cache folder.
    #[arg(long, default_value = "cache")]
    pub cache_dir: PathBuf,
    /// Classify every 3 s segment of each track instead of the first 30 s.
    #[arg(long)]
    pub whole_track: bool,
}

#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// Run folders written by `train` (each with result.json and model.gmdl).
    #[arg(required = true)]
    pub runs: Vec<PathBuf>,
    /// Also write the table as Markdown here.
    #[arg(long)]
    pub out: Option<PathBuf>,
}
