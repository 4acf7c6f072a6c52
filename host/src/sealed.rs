//! An encrypted dump as a whole: which objects are encrypted (every one but
//! `manifest.json` and the upload records a store keeps), the passphrase
//! mode's identity file, the sealed part of the manifest, and the keys a
//! reader brings. The cipher itself is [`crate::stage::encrypt`].
//!
//! Encrypted objects get `.age` appended to their key: `plan.json.age`,
//! `journal/000003.json.age`, `schema/pre-data.sql.age`,
//! `data/public.film.00003.copy.zst.age`, `sealed.json.age`. The passphrase
//! mode's `keys/identity.age` is encrypted to the passphrase.

use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Arc;

use age::secrecy::SecretString;
use age::stream::StreamWriter;
use anyhow::{Context, anyhow};

use crate::error::Failure;
use crate::manifest::{Encryption, FileRecord, Manifest, Sealed};
use crate::stage::encrypt::{self, Keys, Recipients, SCHEME, SUFFIX, Sealer};
use crate::store::hash::hash_reader;
use crate::store::{Store, Written};

/// The passphrase mode's identity file.
pub const IDENTITY: &str = "keys/identity.age";
/// The sealed part of the manifest.
pub const SEALED: &str = "sealed.json.age";
/// The environment variable `--identity` falls back to.
pub const IDENTITY_ENV: &str = "SLUICE_AGE_IDENTITY_FILE";

/// What `dump` was asked to encrypt to, checked before anything connects.
#[derive(Debug, Clone, Default)]
pub struct EncryptTo {
    /// `--encrypt-to` and `--encrypt-to-file` recipients.
    pub recipients: Option<Recipients>,
    /// `--passphrase-file`'s passphrase.
    pub passphrase: Option<SecretString>,
}

impl EncryptTo {
    /// Whether the dump is encrypted at all.
    pub fn enabled(&self) -> bool {
        self.recipients.is_some() || self.passphrase.is_some()
    }

    /// What the frozen plan records of it (a resume must ask for the same).
    pub fn setting(&self) -> String {
        let mut words: Vec<String> = self.recipients.iter().flat_map(|r| r.keys()).collect();
        if self.passphrase.is_some() {
            words.push("a passphrase".to_owned());
        }
        words.join(", ")
    }
}

/// Where a reader's keys come from: `--identity FILE` (or
/// `SLUICE_AGE_IDENTITY_FILE`), or `--passphrase-file FILE` for a dump made
/// in passphrase mode.
#[derive(Debug, Clone, Default)]
pub struct Unlock {
    /// An age identity file.
    pub identity: Option<PathBuf>,
    /// A file whose first line is the passphrase.
    pub passphrase: Option<PathBuf>,
}

impl Unlock {
    /// Whether any key source was given.
    pub fn given(&self) -> bool {
        self.identity.is_some() || self.passphrase.is_some()
    }
}

/// One run's view of an encrypted dump: the sealer (writing) and the keys
/// (reading), either or both; neither for a dump in the clear.
#[derive(Clone, Default)]
pub struct Secrecy {
    /// Encrypts what the run writes.
    pub sealer: Option<Arc<Sealer>>,
    /// Opens what the run reads.
    pub keys: Option<Arc<Keys>>,
}

impl Secrecy {
    /// Whether objects are encrypted.
    pub fn on(&self) -> bool {
        self.sealer.is_some() || self.keys.is_some()
    }

    /// The object's key: `.age` appended when the dump is encrypted.
    pub fn key(&self, base: &str) -> String {
        if self.on() { format!("{base}{SUFFIX}") } else { base.to_owned() }
    }

    /// Writes `bytes` as the object `base` (encrypted when the dump is).
    pub fn put(&self, store: &dyn Store, base: &str, bytes: &[u8]) -> io::Result<Written> {
        match &self.sealer {
            Some(sealer) => {
                let key = self.key(base);
                store.put(&key, &sealer.seal(&key, bytes)?)
            }
            None => store.put(base, bytes),
        }
    }

    /// Reads the object `base`, in the clear or, when the dump is
    /// encrypted, decrypted and checked for its binding.
    pub fn get(&self, store: &dyn Store, base: &str) -> anyhow::Result<Option<Vec<u8>>> {
        if let Some(bytes) = store.get(base)? {
            return Ok(Some(bytes));
        }
        let key = format!("{base}{SUFFIX}");
        let Some(bytes) = store.get(&key)? else { return Ok(None) };
        let keys = self
            .keys
            .as_ref()
            .ok_or_else(|| anyhow!("{}/{key} is encrypted: {}", store.location(), needs_key_words()))?;
        Ok(Some(keys.open(&key, &bytes)?.0))
    }
}

fn needs_key_words() -> String {
    format!("give --identity FILE (or set {IDENTITY_ENV}), or --passphrase-file FILE for a dump made with a passphrase")
}

/// A writer that encrypts into `out` when the dump is encrypted.
pub enum SealWriter<W: Write> {
    /// In the clear.
    Plain(W),
    /// age, to the dump's recipients.
    Age(StreamWriter<W>),
}

impl<W: Write> SealWriter<W> {
    /// Starts the object `key` (its final key, `.age` included).
    pub fn new(sealer: Option<&Sealer>, key: &str, out: W) -> io::Result<Self> {
        Ok(match sealer {
            Some(sealer) => SealWriter::Age(sealer.writer(key, out)?),
            None => SealWriter::Plain(out),
        })
    }

    /// Ends the encryption (its last chunk) and returns the sink.
    pub fn finish(self) -> io::Result<W> {
        match self {
            SealWriter::Plain(w) => Ok(w),
            SealWriter::Age(w) => w.finish(),
        }
    }
}

impl<W: Write> Write for SealWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            SealWriter::Plain(w) => w.write(buf),
            SealWriter::Age(w) => w.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            SealWriter::Plain(w) => w.write_all(buf),
            SealWriter::Age(w) => w.write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            SealWriter::Plain(w) => w.flush(),
            SealWriter::Age(w) => w.flush(),
        }
    }
}

/// A fresh dump's secrecy: in passphrase mode, a new identity for the dump,
/// stored encrypted to the passphrase (the only slow key derivation of the
/// dump) before any other object.
pub fn begin(store: &dyn Store, asked: &EncryptTo, dump_id: &str) -> anyhow::Result<(Secrecy, Option<FileRecord>)> {
    if !asked.enabled() {
        return Ok((Secrecy::default(), None));
    }
    let mut recipients = asked.recipients.clone();
    let mut record = None;
    if let Some(passphrase) = &asked.passphrase {
        let (identity, file) = encrypt::passphrase_identity(passphrase)?;
        let written = store.put(IDENTITY, &file).with_context(|| format!("cannot write {IDENTITY}"))?;
        record = Some(FileRecord { file: written.key, bytes: written.bytes, sha256: written.sha256 });
        recipients = Some(match recipients {
            Some(r) => r.with(identity.to_public()),
            None => Recipients::one(identity.to_public()),
        });
    }
    let recipients = recipients.ok_or_else(|| anyhow!("no recipient to encrypt to"))?;
    Ok((Secrecy { sealer: Some(Arc::new(Sealer::new(recipients, dump_id))), keys: None }, record))
}

/// At the end of an encrypted dump: moves what the manifest must not show
/// into `sealed.json.age` and records how the dump is encrypted.
pub fn seal_manifest(
    store: &dyn Store,
    sealer: &Sealer,
    manifest: &mut Manifest,
    passphrase_identity: Option<FileRecord>,
) -> anyhow::Result<()> {
    let sealed = manifest.seal(sealer.dump_id());
    let text = serde_json::to_vec(&sealed)?;
    let written = store.put(SEALED, &sealer.seal(SEALED, &text)?).with_context(|| format!("cannot write {SEALED}"))?;
    manifest.encryption = Some(Encryption {
        scheme: SCHEME.to_owned(),
        recipients: sealer.recipients(),
        passphrase_identity,
        sealed: FileRecord { file: written.key, bytes: written.bytes, sha256: written.sha256 },
    });
    Ok(())
}

/// The keys `unlock` names, for a dump whose passphrase identity file (if
/// any) is at [`IDENTITY`]: an unreadable file is bad input (exit 2), a
/// wrong passphrase a failed job (exit 1).
pub fn keys(store: &dyn Store, unlock: &Unlock, identity_record: Option<&FileRecord>) -> Result<Keys, Failure> {
    if let Some(path) = &unlock.identity {
        return Keys::from_file(path).map_err(Failure::Usage);
    }
    let Some(path) = &unlock.passphrase else {
        return Err(Failure::usage(format!("the dump at {} is encrypted: {}", store.location(), needs_key_words())));
    };
    let passphrase = encrypt::read_passphrase(path).map_err(Failure::Usage)?;
    let bytes = store
        .get(IDENTITY)
        .map_err(|e| Failure::Job(anyhow::Error::new(e).context(format!("cannot read {IDENTITY}"))))?
        .ok_or_else(|| {
            Failure::usage(format!(
                "the dump at {} was not made with --passphrase-file (it has no {IDENTITY}): give --identity FILE",
                store.location()
            ))
        })?;
    if let Some(record) = identity_record {
        let seen = hash_reader(&bytes[..]).map_err(|e| Failure::Job(e.into()))?;
        if seen != (record.bytes, record.sha256.clone()) {
            return Err(Failure::Job(anyhow!("{IDENTITY} does not match its size and SHA-256 in the manifest")));
        }
    }
    let identity = encrypt::unlock(&passphrase, IDENTITY, &bytes).map_err(Failure::Job)?;
    Ok(Keys::one(identity, &format!("the identity in {IDENTITY} that the passphrase file {} unlocks", path.display())))
}

/// Opens an encrypted dump's manifest for a reader: checks that `unlock`'s
/// keys are among the recipients (else exit 1, before anything else
/// happens), then reads the sealed part back into `manifest`. A dump in
/// the clear needs no key; `required` says whether an encrypted one may be
/// read without (plain `verify` checks the stored bytes only).
pub fn open_manifest(
    store: &dyn Store,
    manifest: &mut Manifest,
    unlock: &Unlock,
    required: bool,
) -> Result<Option<Arc<Keys>>, Failure> {
    let Some(encryption) = manifest.encryption.clone() else {
        return Ok(None);
    };
    if !required && !unlock.given() {
        return Ok(None);
    }
    if encryption.scheme != SCHEME {
        return Err(Failure::usage(format!(
            "the dump is encrypted with {}; this sluice reads {SCHEME}",
            encryption.scheme
        )));
    }
    let dump_id =
        manifest.dump_id.clone().ok_or_else(|| Failure::usage("the encrypted dump's manifest has no dump_id"))?;
    let keys = keys(store, unlock, encryption.passphrase_identity.as_ref())?;
    if !keys.opens(&encryption.recipients) {
        return Err(Failure::Job(anyhow!(
            "{} is not one of this dump's recipients ({}): nothing was read",
            keys.source(),
            encryption.recipients.join(", ")
        )));
    }
    let keys = keys.bound_to(&dump_id);
    let record = &encryption.sealed;
    let bytes = store
        .get(&record.file)
        .map_err(|e| Failure::Job(e.into()))?
        .ok_or_else(|| Failure::Job(anyhow!("{} is missing", record.file)))?;
    let seen = hash_reader(&bytes[..]).map_err(|e| Failure::Job(e.into()))?;
    if seen != (record.bytes, record.sha256.clone()) {
        return Err(Failure::Job(anyhow!("{} does not match its size and SHA-256 in the manifest", record.file)));
    }
    let (plain, _) = keys.open(&record.file, &bytes).map_err(Failure::Job)?;
    let sealed: Sealed = serde_json::from_slice(&plain)
        .with_context(|| format!("{} is not a sealed manifest", record.file))
        .map_err(Failure::Job)?;
    manifest.unseal(sealed).map_err(Failure::Job)?;
    Ok(Some(Arc::new(keys)))
}
