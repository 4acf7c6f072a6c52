//! Command-line surface: clap structs that mirror the flags, and
//! [`Cli::resolve`], which turns them into a checked [`Job`]. Nothing after
//! `resolve` reads raw flags.

use std::path::PathBuf;

use anyhow::{Context, anyhow, bail};
use clap::{Args, Parser, Subcommand};

pub use crate::format::{Compression, Format, StagesMode};

use crate::config::Config;
use crate::db::{DbUrl, History, LargeObjects, LockMode, MysqlLoad, TargetOptions, redact_url};
use crate::error::{Failure, UsageContext};
use crate::pipeline::TransformRule;
use crate::progress::ProgressMode;
use crate::sealed::{EncryptTo, Unlock};
use crate::select::{Glob, Selection};
use crate::stage::encrypt::Recipients;
use crate::stage::{ComponentRef, Limits, MaskKey, World};
use crate::store::S3Options;

/// Parallel, table-level dump and restore through sandboxed WebAssembly stages.
#[derive(Debug, Parser)]
#[command(name = "sluice", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Dump a database into a directory, table by table, from one snapshot.
    // Boxed: dump has by far the most flags, and clap builds this enum once.
    Dump(Box<DumpArgs>),
    /// Restore a dump directory into an existing, empty database.
    Restore(RestoreArgs),
    /// Check a dump's checksums and row counts without a database.
    Verify(VerifyArgs),
    /// Show what a dump holds and which components made it.
    Inspect(InspectArgs),
    /// Dry run: which tables, chunks and stages a dump would use.
    Plan(PlanArgs),
    /// Work with components.
    #[command(subcommand)]
    Component(ComponentCommand),
    /// Work with snapshots (PostgreSQL).
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
    /// Clean up after a killed dump: abort its unfinished uploads (s3://)
    /// or remove its `*.partial` files, keeping everything whole.
    Gc(GcArgs),
}

/// Where object-storage locations are reached, shared by every command
/// that takes a location.
#[derive(Debug, Args)]
struct StorageArgs {
    /// S3-compatible endpoint for s3:// locations (path-style addressing); default: AWS_ENDPOINT_URL or AWS.
    #[arg(long, value_name = "URL")]
    s3_endpoint: Option<String>,
    /// Part size of s3:// uploads (memory per worker is about 3 parts).
    #[arg(long, value_name = "SIZE", default_value = "8MiB")]
    s3_part_size: String,
}

/// The keys that open an encrypted dump (never given on the command line
/// itself: each names a file).
#[derive(Debug, Args)]
struct KeyArgs {
    /// age identity file (AGE-SECRET-KEY-1… lines) that opens an encrypted dump.
    #[arg(long, value_name = "FILE", env = "SLUICE_AGE_IDENTITY_FILE")]
    identity: Option<PathBuf>,
    /// File whose first line is the passphrase (dump: encrypt in passphrase mode; others: open such a dump).
    #[arg(long = "passphrase-file", value_name = "FILE")]
    passphrase_file: Option<PathBuf>,
}

impl KeyArgs {
    fn unlock(&self) -> Unlock {
        Unlock { identity: self.identity.clone(), passphrase: self.passphrase_file.clone() }
    }
}

#[derive(Debug, Args)]
struct GcArgs {
    /// Dump location (a directory or s3://bucket/prefix).
    #[arg(value_name = "LOCATION")]
    dir: String,
    #[command(flatten)]
    storage: StorageArgs,
}

#[derive(Debug, Subcommand)]
enum SnapshotCommand {
    /// Export a snapshot, print its name as the first line of stdout, and
    /// hold it until SIGINT/SIGTERM (or until LOCATION/manifest.json exists),
    /// so dumps can read in it with `--snapshot NAME` and resume in it.
    Hold {
        /// Source database: postgres://user:pass@host:port/db
        source: String,
        /// Hold until this dump location has a manifest.json (checked every second).
        #[arg(long, value_name = "LOCATION")]
        until: Option<String>,
        #[command(flatten)]
        storage: StorageArgs,
    },
}

#[derive(Debug, Subcommand)]
enum ComponentCommand {
    /// Say which world a component implements, what it imports, and whether
    /// sluice can run it (exit 0 usable, 1 not).
    Check {
        /// Path to the `.wasm` component.
        file: PathBuf,
        #[command(flatten)]
        limits: LimitArgs,
    },
}

/// Which tables to take, shared by dump, restore and plan.
#[derive(Debug, Args)]
struct SelectionArgs {
    /// Only tables whose `schema.table` matches this glob (`*`, `?`); repeatable.
    #[arg(long = "include", value_name = "GLOB")]
    include: Vec<String>,
    /// Skip tables whose `schema.table` matches this glob; repeatable.
    #[arg(long = "exclude", value_name = "GLOB")]
    exclude: Vec<String>,
}

/// Sandbox limits for every component instance; flags override `[limits]`.
#[derive(Debug, Args, Default)]
struct LimitArgs {
    /// Linear memory per component instance (default 256MiB).
    #[arg(long, value_name = "SIZE")]
    memory_limit: Option<String>,
    /// Wall-clock CPU time per component call, e.g. 500ms, 10s, 2m (default 10s).
    #[arg(long, value_name = "DURATION")]
    cpu_limit: Option<String>,
    /// A call may return at most RATIO times its input's bytes plus 1 MiB (default 16).
    #[arg(long, value_name = "RATIO")]
    output_limit: Option<usize>,
    /// Wasm stack per instance (default 1MiB).
    #[arg(long, value_name = "SIZE")]
    stack_limit: Option<String>,
    /// Deterministic fuel budget per call, on top of the CPU limit (off by default).
    #[arg(long, value_name = "N")]
    fuel: Option<u64>,
}

#[derive(Debug, Args)]
struct DumpArgs {
    /// Source database: postgres://user:pass@host:port/db
    source: String,
    /// Output location: a directory (created; must be empty) or s3://bucket/prefix (must hold no object).
    #[arg(long, value_name = "LOCATION")]
    out: String,
    #[command(flatten)]
    storage: StorageArgs,
    /// Parallel workers (database connections).
    #[arg(short = 'j', long = "jobs", default_value_t = 2)]
    jobs: usize,
    /// TOML config file with the pipeline description (formats, per-table transforms).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Output format of data files: copy (PostgreSQL default), csv, sql, jsonl.
    #[arg(long)]
    format: Option<String>,
    /// Compression of data files: zstd[:LEVEL] (default zstd:1), gzip[:LEVEL], none.
    #[arg(long)]
    compress: Option<String>,
    #[command(flatten)]
    selection: SelectionArgs,
    /// Row-transform component for matching tables: 'GLOB=COMPONENT' (built-in name or .wasm path); repeatable, applied in order.
    #[arg(long = "transform", value_name = "GLOB=COMPONENT")]
    transform: Vec<String>,
    /// Finish the interrupted dump in LOCATION, as its frozen plan says (same source, same flags).
    #[arg(long)]
    resume: bool,
    /// With --resume, when the interrupted dump's snapshot is gone: finish under a new snapshot (recorded; tables chunked by position are dumped again whole).
    #[arg(long, requires = "resume")]
    accept_new_snapshot: bool,
    /// PostgreSQL: read in this exported snapshot (from `sluice snapshot hold`) instead of exporting one.
    #[arg(long, value_name = "NAME")]
    snapshot: Option<String>,
    /// Progress output: auto, plain, json, none.
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    progress: ProgressMode,
    /// Target size of one data chunk before compression (e.g. 64MiB, 256KiB).
    #[arg(long, value_name = "SIZE", default_value = "128MiB")]
    chunk_size: String,
    /// Where stages run: auto (native fast paths) or wasm (every stage a component).
    #[arg(long, value_enum, default_value_t = StagesMode::Auto)]
    stages: StagesMode,
    /// MySQL/MariaDB: how workers' snapshots are aligned: auto, backup-stage, ftwrl, lock-tables, none-validate.
    #[arg(long, value_name = "MODE", default_value = "auto")]
    lock_mode: String,
    /// PostgreSQL large objects: include (contents and all), exclude (left out, recorded in the manifest) or empty (objects without contents). Default: include, but exclude when --include is given (as pg_dump -t) or the config masks.
    #[arg(long, value_enum, value_name = "WHAT")]
    large_objects: Option<LargeObjects>,
    /// MariaDB system-versioned tables: include (every row version with its exact ROW_START/ROW_END, as mariadb-dump --dump-history) or exclude (current rows only, recorded in the manifest).
    #[arg(long, value_enum, value_name = "WHAT", default_value_t = History::Include)]
    history: History,
    /// Encrypt every file (after compression) to this age X25519 recipient (age1…); repeatable.
    #[arg(long = "encrypt-to", value_name = "RECIPIENT")]
    encrypt_to: Vec<String>,
    /// Encrypt to the recipients in FILE (one a line, # comments); repeatable.
    #[arg(long = "encrypt-to-file", value_name = "FILE")]
    encrypt_to_file: Vec<PathBuf>,
    #[command(flatten)]
    keys: KeyArgs,
    /// Sign manifest.json with this minisign secret key (manifest.json.minisig).
    #[arg(long = "sign-key", value_name = "FILE")]
    sign_key: Option<PathBuf>,
    #[command(flatten)]
    limits: LimitArgs,
}

#[derive(Debug, Args)]
struct RestoreArgs {
    /// Dump location written by `sluice dump` (a directory or s3://bucket/prefix).
    #[arg(value_name = "LOCATION")]
    dir: String,
    #[command(flatten)]
    storage: StorageArgs,
    /// Target database: postgres://user:pass@host:port/db (must exist and be empty).
    target: String,
    /// Parallel workers (database connections).
    #[arg(short = 'j', long = "jobs", default_value_t = 2)]
    jobs: usize,
    #[command(flatten)]
    selection: SelectionArgs,
    /// Finish an interrupted restore of the same dump into TARGET_URL (skips the files it recorded).
    #[arg(long)]
    resume: bool,
    /// Drop every user object in the target first, instead of refusing a non-empty database.
    #[arg(long)]
    clean: bool,
    /// MySQL/MariaDB: write the loaded rows to the binary log (off by default, as with myloader).
    #[arg(long)]
    enable_binlog: bool,
    /// MySQL/MariaDB: how rows are sent: auto (LOAD DATA LOCAL INFILE when the server allows it), load-data, insert.
    #[arg(long, value_enum, default_value_t = MysqlLoad::Auto)]
    mysql_load: MysqlLoad,
    /// Progress output: auto, plain, json, none.
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    progress: ProgressMode,
    /// Where stages run: auto (native decoders) or wasm (every stage a component).
    #[arg(long, value_enum, default_value_t = StagesMode::Auto)]
    stages: StagesMode,
    #[command(flatten)]
    keys: KeyArgs,
    #[command(flatten)]
    limits: LimitArgs,
}

#[derive(Debug, Args)]
struct VerifyArgs {
    /// Dump location written by `sluice dump` (a directory or s3://bucket/prefix).
    #[arg(value_name = "LOCATION")]
    dir: String,
    #[command(flatten)]
    storage: StorageArgs,
    /// Progress output: auto, plain, json, none.
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    progress: ProgressMode,
    /// Where stages run: auto (native decoders) or wasm (every stage a component).
    #[arg(long, value_enum, default_value_t = StagesMode::Auto)]
    stages: StagesMode,
    /// Also decrypt every file and check its plaintext (rows, binding): needs --identity or --passphrase-file.
    #[arg(long)]
    decrypt: bool,
    #[command(flatten)]
    keys: KeyArgs,
    /// Check manifest.json.minisig against this minisign public key (the key, or a .pub file).
    #[arg(long, value_name = "PUBKEY")]
    signer: Option<String>,
    #[command(flatten)]
    limits: LimitArgs,
}

#[derive(Debug, Args)]
struct InspectArgs {
    /// Dump location written by `sluice dump` (a directory or s3://bucket/prefix).
    #[arg(value_name = "LOCATION")]
    dir: String,
    #[command(flatten)]
    storage: StorageArgs,
    /// Print the manifest as JSON instead of a summary.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    keys: KeyArgs,
}

#[derive(Debug, Args)]
struct PlanArgs {
    /// Source database: postgres://user:pass@host:port/db
    source: String,
    #[command(flatten)]
    selection: SelectionArgs,
    /// TOML config file (selection and per-table transforms).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Row-transform component for matching tables: 'GLOB=COMPONENT'; repeatable.
    #[arg(long = "transform", value_name = "GLOB=COMPONENT")]
    transform: Vec<String>,
    /// Target size of one data chunk (e.g. 64MiB).
    #[arg(long, value_name = "SIZE", default_value = "128MiB")]
    chunk_size: String,
    /// PostgreSQL large objects, as for dump: include, exclude or empty.
    #[arg(long, value_enum, value_name = "WHAT")]
    large_objects: Option<LargeObjects>,
    /// MariaDB system-versioned tables' history rows, as for dump: include or exclude.
    #[arg(long, value_enum, value_name = "WHAT", default_value_t = History::Include)]
    history: History,
    /// Print the plan as JSON.
    #[arg(long)]
    json: bool,
}

/// A checked dump (or plan) request.
#[derive(Debug)]
pub struct DumpJob {
    /// Where to read from.
    pub source: DbUrl,
    /// Output location (empty for `plan`).
    pub out: String,
    /// How s3:// locations are reached.
    pub storage: S3Options,
    /// Worker count.
    pub jobs: usize,
    /// Data file format.
    pub format: Format,
    /// Data file compression.
    pub compression: Compression,
    /// Which tables.
    pub selection: Selection,
    /// Row stages per table, in order.
    pub transforms: Vec<TransformRule>,
    /// Progress reporting.
    pub progress: ProgressMode,
    /// Target bytes per chunk.
    pub chunk_bytes: u64,
    /// Native fast paths or components only.
    pub stages: StagesMode,
    /// Sandbox limits.
    pub limits: Limits,
    /// The config file (masking rules are planned against the catalog).
    pub config: Config,
    /// The masking key, when the config masks or samples and it is set.
    pub key: Option<MaskKey>,
    /// The environment variable the key comes from.
    pub key_env: String,
    /// Print the plan as JSON (plan command only).
    pub json: bool,
    /// MySQL/MariaDB snapshot alignment.
    pub lock_mode: LockMode,
    /// PostgreSQL large objects.
    pub large_objects: LargeObjects,
    /// Why (for the manifest's `left_out`).
    pub large_objects_reason: String,
    /// MariaDB system-versioned tables' history rows.
    pub history: History,
    /// Finish the interrupted dump at `out`.
    pub resume: bool,
    /// With `resume`: a new snapshot is acceptable when the old one is gone.
    pub accept_new_snapshot: bool,
    /// What to encrypt to (checked before anything connects).
    pub encrypt: EncryptTo,
    /// The keys a resume of an encrypted dump reads its plan with.
    pub unlock: Unlock,
    /// The minisign key that signs the manifest.
    pub sign_key: Option<PathBuf>,
    /// PostgreSQL: a held snapshot to read in.
    pub snapshot: Option<String>,
}

/// A checked `snapshot hold` request.
#[derive(Debug)]
pub struct HoldJob {
    /// The database.
    pub source: DbUrl,
    /// Hold until this location has a manifest.
    pub until: Option<String>,
    /// How s3:// locations are reached.
    pub storage: S3Options,
}

/// A checked restore request.
#[derive(Debug)]
pub struct RestoreJob {
    /// Dump location.
    pub dir: String,
    /// How s3:// locations are reached.
    pub storage: S3Options,
    /// Where to load into.
    pub target: DbUrl,
    /// Worker count.
    pub jobs: usize,
    /// Which tables.
    pub selection: Selection,
    /// Drop user objects in the target first.
    pub clean: bool,
    /// Finish an interrupted restore of the same dump.
    pub resume: bool,
    /// Engine-specific load settings.
    pub target_options: TargetOptions,
    /// Progress reporting.
    pub progress: ProgressMode,
    /// Native decoders or components only.
    pub stages: StagesMode,
    /// Sandbox limits.
    pub limits: Limits,
    /// The keys of an encrypted dump.
    pub unlock: Unlock,
}

/// A checked verify request.
#[derive(Debug)]
pub struct VerifyJob {
    /// Dump location.
    pub dir: String,
    /// How s3:// locations are reached.
    pub storage: S3Options,
    /// Progress reporting.
    pub progress: ProgressMode,
    /// Native decoders or components only.
    pub stages: StagesMode,
    /// Sandbox limits.
    pub limits: Limits,
    /// Decrypt and check the plaintext too.
    pub decrypt: bool,
    /// The keys of an encrypted dump.
    pub unlock: Unlock,
    /// The minisign public key the manifest's signature must be from.
    pub signer: Option<String>,
}

/// A checked `component check` request.
#[derive(Debug)]
pub struct CheckJob {
    /// The `.wasm` file.
    pub file: PathBuf,
    /// Sandbox limits for the synthetic run.
    pub limits: Limits,
}

/// A checked inspect request.
#[derive(Debug)]
pub struct InspectJob {
    /// Dump location.
    pub dir: String,
    /// How s3:// locations are reached.
    pub storage: S3Options,
    /// JSON output.
    pub json: bool,
    /// The keys of an encrypted dump (to show what its manifest seals).
    pub unlock: Unlock,
}

/// `sluice gc`: what a killed dump left half-made at a location.
#[derive(Debug)]
pub struct GcJob {
    /// The location.
    pub dir: String,
    /// How s3:// locations are reached.
    pub storage: S3Options,
}

/// What `sluice` was asked to do, checked.
#[derive(Debug)]
pub enum Job {
    /// `sluice dump`.
    Dump(DumpJob),
    /// `sluice restore`.
    Restore(RestoreJob),
    /// `sluice verify`.
    Verify(VerifyJob),
    /// `sluice inspect`.
    Inspect(InspectJob),
    /// `sluice plan`.
    Plan(DumpJob),
    /// `sluice component check`.
    Check(CheckJob),
    /// `sluice snapshot hold`.
    Hold(HoldJob),
    /// `sluice gc`.
    Gc(GcJob),
}

impl Cli {
    /// Checks the flags and turns them into a [`Job`]: URLs parsed, config
    /// read, globs compiled, components located.
    pub fn resolve(self) -> Result<Job, Failure> {
        match self.command {
            Command::Dump(args) => resolve_dump(*args).map(Job::Dump),
            Command::Restore(args) => {
                if args.resume && args.clean {
                    return Err(Failure::usage(
                        "--resume and --clean contradict each other: --resume keeps what an interrupted restore loaded",
                    ));
                }
                Ok(Job::Restore(RestoreJob {
                    dir: args.dir,
                    storage: resolve_storage(&args.storage)?,
                    target: DbUrl::parse(&args.target).usage_err()?,
                    jobs: check_jobs(args.jobs)?,
                    selection: resolve_selection(&args.selection, &Config::default())?,
                    clean: args.clean,
                    resume: args.resume,
                    target_options: TargetOptions { mysql_load: args.mysql_load, enable_binlog: args.enable_binlog },
                    progress: args.progress,
                    stages: args.stages,
                    limits: resolve_limits(&args.limits, &Config::default())?,
                    unlock: args.keys.unlock(),
                }))
            }
            Command::Verify(args) => {
                if args.decrypt && !args.keys.unlock().given() {
                    return Err(Failure::usage(
                        "verify --decrypt needs a key: --identity FILE (or SLUICE_AGE_IDENTITY_FILE) or --passphrase-file FILE",
                    ));
                }
                Ok(Job::Verify(VerifyJob {
                    dir: args.dir,
                    storage: resolve_storage(&args.storage)?,
                    progress: args.progress,
                    stages: args.stages,
                    limits: resolve_limits(&args.limits, &Config::default())?,
                    decrypt: args.decrypt,
                    unlock: args.keys.unlock(),
                    signer: args.signer,
                }))
            }
            Command::Inspect(args) => Ok(Job::Inspect(InspectJob {
                storage: resolve_storage(&args.storage)?,
                dir: args.dir,
                json: args.json,
                unlock: args.keys.unlock(),
            })),
            Command::Gc(args) => Ok(Job::Gc(GcJob { storage: resolve_storage(&args.storage)?, dir: args.dir })),
            Command::Plan(args) => {
                let config = load_config(args.config.as_deref())?;
                let source = DbUrl::parse(&args.source).usage_err()?;
                let selection = resolve_selection(&args.selection, &config)?;
                let (large_objects, large_objects_reason) =
                    resolve_large_objects(args.large_objects, &config, &selection);
                Ok(Job::Plan(DumpJob {
                    format: source.engine().default_format(),
                    source,
                    out: String::new(),
                    storage: S3Options::default(),
                    jobs: 1,
                    compression: Compression::Zstd(1),
                    selection,
                    transforms: resolve_transforms(&config, &args.transform)?,
                    progress: ProgressMode::None,
                    chunk_bytes: parse_size(&args.chunk_size).usage_err()?,
                    stages: StagesMode::Auto,
                    limits: Limits::default(),
                    key: None,
                    key_env: key_env(&config),
                    config,
                    json: args.json,
                    lock_mode: LockMode::Auto,
                    large_objects,
                    large_objects_reason,
                    history: args.history,
                    resume: false,
                    accept_new_snapshot: false,
                    snapshot: None,
                    encrypt: EncryptTo::default(),
                    unlock: Unlock::default(),
                    sign_key: None,
                }))
            }
            Command::Snapshot(SnapshotCommand::Hold { source, until, storage }) => {
                let source = DbUrl::parse(&source).usage_err()?;
                if source.engine() != crate::db::Engine::Postgres {
                    return Err(Failure::usage(format!(
                        "snapshot hold is for PostgreSQL: {} cannot export a snapshot for other sessions",
                        source.engine().label()
                    )));
                }
                Ok(Job::Hold(HoldJob { source, until, storage: resolve_storage(&storage)? }))
            }
            Command::Component(ComponentCommand::Check { file, limits }) => {
                Ok(Job::Check(CheckJob { file, limits: resolve_limits(&limits, &Config::default())? }))
            }
        }
    }
}

fn resolve_storage(args: &StorageArgs) -> Result<S3Options, Failure> {
    Ok(S3Options { endpoint: args.s3_endpoint.clone(), part_size: parse_size(&args.s3_part_size).usage_err()? })
}

fn resolve_dump(args: DumpArgs) -> Result<DumpJob, Failure> {
    let config = load_config(args.config.as_deref())?;
    let source = DbUrl::parse(&args.source).usage_err()?;
    if args.snapshot.is_some() && source.engine() != crate::db::Engine::Postgres {
        return Err(Failure::usage(format!(
            "--snapshot is for PostgreSQL: {} cannot read in another session's snapshot",
            source.engine().label()
        )));
    }
    let format = match args.format.as_deref().or(config.format.as_deref()) {
        Some(text) => Format::parse(text).usage_err()?,
        None => source.engine().default_format(),
    };
    source.engine().check_format(format).usage_err()?;
    let compression = match args.compress.as_deref().or(config.compress.as_deref()) {
        Some(text) => Compression::parse(text).usage_err()?,
        None => Compression::Zstd(1),
    };
    let selection = resolve_selection(&args.selection, &config)?;
    let (large_objects, large_objects_reason) = resolve_large_objects(args.large_objects, &config, &selection);
    let encrypt = resolve_encryption(&args)?;
    if let Some(path) = &args.sign_key {
        crate::signing::load_secret_key(path).map_err(Failure::Usage)?;
    }
    Ok(DumpJob {
        source,
        out: args.out,
        storage: resolve_storage(&args.storage)?,
        jobs: check_jobs(args.jobs)?,
        format,
        compression,
        selection,
        transforms: resolve_transforms(&config, &args.transform)?,
        progress: args.progress,
        chunk_bytes: parse_size(&args.chunk_size).usage_err()?,
        stages: args.stages,
        limits: resolve_limits(&args.limits, &config)?,
        key: mask_key(&config)?,
        key_env: key_env(&config),
        config,
        json: false,
        lock_mode: LockMode::parse(&args.lock_mode).usage_err()?,
        large_objects,
        large_objects_reason,
        history: args.history,
        resume: args.resume,
        accept_new_snapshot: args.accept_new_snapshot,
        snapshot: args.snapshot,
        encrypt,
        unlock: args.keys.unlock(),
        sign_key: args.sign_key,
    })
}

/// The dump's encryption, checked in full before anything connects or is
/// written: a recipient that does not parse, an empty recipients file or an
/// unreadable passphrase file is exit 2, never a dump in the clear.
fn resolve_encryption(args: &DumpArgs) -> Result<EncryptTo, Failure> {
    let recipients = if args.encrypt_to.is_empty() && args.encrypt_to_file.is_empty() {
        None
    } else {
        Some(Recipients::parse(&args.encrypt_to, &args.encrypt_to_file).map_err(Failure::Usage)?)
    };
    let passphrase = match &args.keys.passphrase_file {
        Some(path) => Some(crate::stage::encrypt::read_passphrase(path).map_err(Failure::Usage)?),
        None => None,
    };
    Ok(EncryptTo { recipients, passphrase })
}

/// What happens to PostgreSQL large objects, and why: the flag, else the
/// config's `large_objects`, else pg_dump's rule (left out when tables are
/// picked with `--include`), else, for a masked dump, left out (their
/// contents are opaque bytes no masking rule can see into, so a masked
/// copy carries them only when asked), else carried.
fn resolve_large_objects(flag: Option<LargeObjects>, config: &Config, selection: &Selection) -> (LargeObjects, String) {
    if let Some(choice) = flag {
        return (choice, format!("--large-objects {}", choice.name()));
    }
    if let Some(choice) = config.large_objects {
        return (choice, format!("large_objects = \"{}\" in the config", choice.name()));
    }
    if selection.has_include() {
        return (
            LargeObjects::Exclude,
            "--include picks tables, as pg_dump -t: pass --large-objects include to carry them".to_owned(),
        );
    }
    if crate::masking::configured(config) {
        return (
            LargeObjects::Exclude,
            "a masked dump carries them only when the config says large_objects = \"include\" or \"empty\"".to_owned(),
        );
    }
    (LargeObjects::Include, String::new())
}

/// The variable holding the masking key.
fn key_env(config: &Config) -> String {
    config.mask.key_env.clone().unwrap_or_else(|| "SLUICE_MASK_KEY".to_owned())
}

/// Reads the masking key from its environment variable when the config
/// masks or samples. Its absence is only an error once the plan shows a
/// rule needs it; its value is never printed.
fn mask_key(config: &Config) -> Result<Option<MaskKey>, Failure> {
    if !crate::masking::configured(config) {
        return Ok(None);
    }
    let name = key_env(config);
    match std::env::var_os(&name) {
        None => Ok(None),
        Some(secret) => MaskKey::from_secret(secret.as_encoded_bytes())
            .map(Some)
            .map_err(|e| Failure::usage(format!("{e} (from {name})"))),
    }
}

/// Sandbox limits: defaults, then the config's `[limits]`, then flags.
fn resolve_limits(args: &LimitArgs, config: &Config) -> Result<Limits, Failure> {
    let mut limits = Limits::default();
    let from = &config.limits;
    let memory = args.memory_limit.as_deref().or(from.memory.as_deref());
    if let Some(text) = memory {
        limits.memory_bytes = usize::try_from(parse_size(text).usage_err()?).unwrap_or(usize::MAX);
    }
    if let Some(text) = args.cpu_limit.as_deref().or(from.cpu.as_deref()) {
        limits.cpu_per_call = parse_duration(text).usage_err()?;
    }
    if let Some(ratio) = args.output_limit.or(from.output_ratio) {
        if ratio == 0 {
            return Err(Failure::usage("--output-limit must be at least 1"));
        }
        limits.output_ratio = ratio;
    }
    if let Some(text) = args.stack_limit.as_deref().or(from.stack.as_deref()) {
        limits.stack_bytes = usize::try_from(parse_size(text).usage_err()?).unwrap_or(usize::MAX);
    }
    if let Some(fuel) = args.fuel.or(from.fuel) {
        if fuel == 0 {
            return Err(Failure::usage("--fuel must be at least 1"));
        }
        limits.fuel = Some(fuel);
    }
    Ok(limits)
}

/// Parses `500ms`, `10s`, `2m`, or a plain number of seconds.
pub fn parse_duration(text: &str) -> anyhow::Result<std::time::Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: f64 = number.parse().map_err(|_| anyhow!("duration '{text}' has no number"))?;
    let seconds = match unit.trim() {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" | "min" => n * 60.0,
        other => bail!("duration '{text}' has an unknown unit '{other}' (use ms, s or m)"),
    };
    if !(0.001..=86_400.0).contains(&seconds) {
        bail!("duration '{text}' is out of range 1ms..24h");
    }
    Ok(std::time::Duration::from_secs_f64(seconds))
}

fn check_jobs(jobs: usize) -> Result<usize, Failure> {
    if jobs == 0 || jobs > 256 {
        return Err(Failure::usage(format!("-j {jobs} is out of range 1..=256")));
    }
    Ok(jobs)
}

fn load_config(path: Option<&std::path::Path>) -> Result<Config, Failure> {
    match path {
        Some(path) => Config::load(path).usage_err(),
        None => Ok(Config::default()),
    }
}

fn resolve_selection(args: &SelectionArgs, config: &Config) -> Result<Selection, Failure> {
    let include = config.include.iter().chain(&args.include);
    let exclude = config.exclude.iter().chain(&args.exclude);
    Selection::new(include, exclude).usage_err()
}

fn resolve_transforms(config: &Config, flags: &[String]) -> Result<Vec<TransformRule>, Failure> {
    let mut rules = Vec::new();
    for table in &config.table {
        let glob = Glob::new(&table.match_).usage_err()?;
        let config_text = table.config_json().usage_err()?;
        for name in table.transform.names() {
            let component = ComponentRef::resolve(name, World::RowTransform)
                .with_context(|| format!("config table rule '{}'", table.match_))
                .usage_err()?;
            rules.push(TransformRule { glob: glob.clone(), component, config: config_text.clone() });
        }
    }
    for flag in flags {
        let Some((glob, name)) = flag.split_once('=') else {
            return Err(Failure::usage(format!("--transform '{flag}' must look like 'GLOB=COMPONENT'")));
        };
        let glob = Glob::new(glob.trim()).usage_err()?;
        let component = ComponentRef::resolve(name.trim(), World::RowTransform).usage_err()?;
        rules.push(TransformRule { glob, component, config: String::new() });
    }
    Ok(rules)
}

/// Parses `128MiB`, `256KiB`, `1GB`, `4096`.
pub fn parse_size(text: &str) -> anyhow::Result<u64> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits.parse().map_err(|_| anyhow!("size '{text}' has no number"))?;
    let factor = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        other => bail!("size '{text}' has an unknown unit '{other}'"),
    };
    let bytes = n.checked_mul(factor).ok_or_else(|| anyhow!("size '{text}' is too large"))?;
    if bytes < 8192 {
        bail!("size '{text}' is smaller than one 8 KiB page");
    }
    Ok(bytes)
}

/// One-line description of a URL without its password, for messages.
pub fn describe_url(url: &DbUrl) -> String {
    redact_url(url.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_accept_milliseconds_seconds_and_minutes() {
        assert_eq!(parse_duration("500ms").ok(), Some(std::time::Duration::from_millis(500)));
        assert_eq!(parse_duration("2").ok(), Some(std::time::Duration::from_secs(2)));
        assert_eq!(parse_duration("1m").ok(), Some(std::time::Duration::from_secs(60)));
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("0s").is_err());
    }

    #[test]
    fn limit_flags_override_the_config() {
        let config: Config =
            toml::from_str("[limits]\nmemory = '64MiB'\ncpu = '2s'\noutput_ratio = 4\n").expect("config");
        let flags = LimitArgs { cpu_limit: Some("500ms".into()), ..LimitArgs::default() };
        let limits = resolve_limits(&flags, &config).expect("limits");
        assert_eq!(limits.memory_bytes, 64 << 20);
        assert_eq!(limits.cpu_per_call, std::time::Duration::from_millis(500));
        assert_eq!(limits.output_ratio, 4);
        assert_eq!(limits.fuel, None);
    }

    #[test]
    fn sizes_accept_binary_and_decimal_units() {
        assert_eq!(parse_size("256KiB").ok(), Some(256 * 1024));
        assert_eq!(parse_size("64MiB").ok(), Some(64 << 20));
        assert_eq!(parse_size("1GB").ok(), Some(1_000_000_000));
        assert!(parse_size("12parsecs").is_err());
        assert!(parse_size("1").is_err());
    }
}
