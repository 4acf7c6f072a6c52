//! The native `encrypt` byte stage: age v1 (the `age` crate) to X25519
//! recipients, after compression, in the host only: keys never reach a
//! component.
//!
//! Every file carries, in its age header beside one `X25519` stanza per
//! recipient, a `sluice-binding` stanza: its only argument is the dump's id
//! and its body the file's key in the dump (`data/public.film.00003.copy.zst.age`).
//! The header MAC, keyed by the file key, authenticates it, so a file cannot
//! be moved to another place or another dump without the open failing;
//! other age tools ignore a stanza they do not know (`age -d` reads these
//! files as they are). The plaintext is exactly the compressed file.

use std::cell::RefCell;
use std::collections::HashSet;
use std::io::{self, Read, Write};
use std::path::Path;

use age::secrecy::{ExposeSecret, SecretString};
use age::stream::{StreamReader, StreamWriter};
use age::x25519;
use age::{DecryptError, Decryptor, EncryptError, Encryptor};
use age_core::format::{FileKey, Stanza};
use anyhow::{Context, anyhow, bail};

/// The suffix of every encrypted object's key.
pub const SUFFIX: &str = ".age";
/// What the manifest calls the scheme.
pub const SCHEME: &str = "age-v1-x25519";
/// The stanza that binds a file to its place.
const BINDING_TAG: &str = "sluice-binding";
/// Every age file starts with this line.
const MAGIC: &[u8] = b"age-encryption.org/v1\n";

/// Whether `bytes` begin like an age file.
pub fn is_age(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

/// The recipients a dump is encrypted to, parsed and checked: never empty.
#[derive(Clone)]
pub struct Recipients(Vec<x25519::Recipient>);

impl std::fmt::Debug for Recipients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.keys()).finish()
    }
}

impl Recipients {
    /// Parses `--encrypt-to` values and `--encrypt-to-file` files (one
    /// recipient a line, `#` comments, blank lines ignored).
    pub fn parse(flags: &[String], files: &[std::path::PathBuf]) -> anyhow::Result<Self> {
        let mut recipients = Vec::new();
        for flag in flags {
            recipients.push(parse_recipient(flag.trim(), "--encrypt-to")?);
        }
        for file in files {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("cannot encrypt: cannot read the recipients file {}", file.display()))?;
            let before = recipients.len();
            for (number, line) in text.lines().enumerate() {
                // A `#` starts a comment, on a line of its own or after a
                // recipient (no recipient holds one).
                let line = line.split('#').next().unwrap_or("").trim();
                if line.is_empty() {
                    continue;
                }
                let origin = format!("{} line {}", file.display(), number + 1);
                recipients.push(parse_recipient(line, &origin)?);
            }
            if recipients.len() == before {
                bail!("cannot encrypt: the recipients file {} names no recipient", file.display());
            }
        }
        if recipients.is_empty() {
            bail!("cannot encrypt: no recipient to encrypt to");
        }
        let mut seen = HashSet::new();
        recipients.retain(|r| seen.insert(r.to_string()));
        Ok(Recipients(recipients))
    }

    /// Adds one recipient (the passphrase mode's own).
    pub fn with(mut self, recipient: x25519::Recipient) -> Self {
        if !self.0.iter().any(|r| r.to_string() == recipient.to_string()) {
            self.0.push(recipient);
        }
        self
    }

    /// Only `recipient`.
    pub fn one(recipient: x25519::Recipient) -> Self {
        Recipients(vec![recipient])
    }

    /// The public keys (`age1…`), sorted.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.0.iter().map(|r| r.to_string()).collect();
        keys.sort();
        keys
    }

    /// Parses public keys as a manifest or plan recorded them.
    pub fn from_keys(keys: &[String]) -> anyhow::Result<Self> {
        let parsed: anyhow::Result<Vec<_>> = keys.iter().map(|k| parse_recipient(k, "a recorded recipient")).collect();
        let parsed = parsed?;
        if parsed.is_empty() {
            bail!("the dump records no recipient");
        }
        Ok(Recipients(parsed))
    }
}

/// One recipient; the error is one line that says where it came from.
fn parse_recipient(text: &str, origin: &str) -> anyhow::Result<x25519::Recipient> {
    if text.is_empty() {
        bail!("cannot encrypt: {origin} is an empty recipient");
    }
    if text.starts_with("AGE-SECRET-KEY-") {
        // Never echo a secret back, not even a mistyped one.
        bail!("cannot encrypt: {origin} is a secret key where a public recipient (age1…) belongs");
    }
    text.parse::<x25519::Recipient>().map_err(|why| {
        let shown: String = text.chars().take(80).collect();
        anyhow!("cannot encrypt: {origin} '{shown}' is not an age X25519 recipient (age1…): {why}")
    })
}

/// Writes files encrypted to the dump's recipients, each bound to its key.
#[derive(Debug, Clone)]
pub struct Sealer {
    recipients: Recipients,
    dump_id: String,
}

impl Sealer {
    /// Encrypts to `recipients`, binding files to `dump_id`.
    pub fn new(recipients: Recipients, dump_id: &str) -> Self {
        Sealer { recipients, dump_id: dump_id.to_owned() }
    }

    /// The recipients' public keys, sorted.
    pub fn recipients(&self) -> Vec<String> {
        self.recipients.keys()
    }

    /// The dump id files are bound to.
    pub fn dump_id(&self) -> &str {
        &self.dump_id
    }

    /// A writer that encrypts into `out` what becomes the object `key`.
    /// Call [`StreamWriter::finish`]: a file without its last chunk does
    /// not decrypt.
    pub fn writer<W: Write>(&self, key: &str, out: W) -> io::Result<StreamWriter<W>> {
        let binding = Binding { dump_id: &self.dump_id, key };
        let recipients =
            self.recipients.0.iter().map(|r| r as &dyn age::Recipient).chain(std::iter::once(&binding as _));
        let encryptor = Encryptor::with_recipients(recipients).map_err(|e: EncryptError| io::Error::other(e))?;
        encryptor.wrap_output(out)
    }

    /// `plain` encrypted as the object `key`.
    pub fn seal(&self, key: &str, plain: &[u8]) -> io::Result<Vec<u8>> {
        let mut writer = self.writer(key, Vec::with_capacity(plain.len() + 256))?;
        writer.write_all(plain)?;
        writer.finish()
    }
}

/// The stanza that binds a file: not a recipient, but age's one joint for
/// what goes into the authenticated header.
struct Binding<'a> {
    dump_id: &'a str,
    key: &'a str,
}

impl age::Recipient for Binding<'_> {
    fn wrap_file_key(&self, _: &FileKey) -> Result<(Vec<Stanza>, HashSet<String>), EncryptError> {
        let stanza = Stanza {
            tag: BINDING_TAG.to_owned(),
            args: vec![self.dump_id.to_owned()],
            body: self.key.as_bytes().to_vec(),
        };
        Ok((vec![stanza], HashSet::new()))
    }
}

/// Why an encrypted file did not open.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// None of the identities is a recipient of the file.
    #[error("{key}: none of the identities in {origin} can decrypt it")]
    NotARecipient {
        /// The object.
        key: String,
        /// Where the identities came from.
        origin: String,
    },
    /// The file's binding names another place or dump.
    #[error("{key} is bound to {bound} of dump {bound_dump}: the file was moved, swapped or copied in from elsewhere")]
    Misplaced {
        /// The object.
        key: String,
        /// The key its binding names.
        bound: String,
        /// The dump id its binding names.
        bound_dump: String,
    },
    /// The header holds no (or more than one) binding.
    #[error("{key} carries no sluice binding: it is not a file this dump wrote")]
    Unbound {
        /// The object.
        key: String,
    },
    /// Not an age file, or a damaged header.
    #[error("{key} is not a readable age file: {reason}")]
    Damaged {
        /// The object.
        key: String,
        /// What age said.
        reason: String,
    },
}

/// The identities that open a dump's files (`--identity`, or the one a
/// passphrase unlocks).
#[derive(Clone)]
pub struct Keys {
    identities: Vec<x25519::Identity>,
    source: String,
    /// The dump every file must be bound to, once known.
    dump_id: Option<String>,
}

impl Keys {
    /// Reads an age identity file: `AGE-SECRET-KEY-1…` lines, `#`
    /// comments. Errors name the file and line, never its content.
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the identity file {}", path.display()))?;
        let mut identities = Vec::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let identity = line.parse::<x25519::Identity>().map_err(|why| {
                anyhow!(
                    "{} line {} is not an age X25519 identity (AGE-SECRET-KEY-1…): {why}",
                    path.display(),
                    number + 1
                )
            })?;
            identities.push(identity);
        }
        if identities.is_empty() {
            bail!("the identity file {} holds no identity", path.display());
        }
        Ok(Keys { identities, source: format!("the identity file {}", path.display()), dump_id: None })
    }

    /// One identity, from `source` (for messages).
    pub fn one(identity: x25519::Identity, source: &str) -> Self {
        Keys { identities: vec![identity], source: source.to_owned(), dump_id: None }
    }

    /// The same keys, accepting only files bound to `dump_id`.
    pub fn bound_to(mut self, dump_id: &str) -> Self {
        self.dump_id = Some(dump_id.to_owned());
        self
    }

    /// Where the identities came from, for messages.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The identities' public keys.
    pub fn public(&self) -> Vec<String> {
        self.identities.iter().map(|i| i.to_public().to_string()).collect()
    }

    /// Whether any identity is one of `recipients`.
    pub fn opens(&self, recipients: &[String]) -> bool {
        self.public().iter().any(|key| recipients.contains(key))
    }

    /// Opens the encrypted object `key`: checks its header and its binding
    /// (to `key`, and to the dump once [`Keys::bound_to`] named it); returns
    /// the plaintext reader and the dump id the file is bound to. The
    /// payload is authenticated as it is read: a changed byte fails the read.
    pub fn reader<R: Read>(&self, key: &str, input: R) -> Result<(StreamReader<R>, String), OpenError> {
        let dump_id = self.dump_id.as_deref();
        let damaged = |e: DecryptError| OpenError::Damaged { key: key.to_owned(), reason: e.to_string() };
        let decryptor = Decryptor::new(input).map_err(damaged)?;
        let watching: Vec<Watching<'_>> =
            self.identities.iter().map(|inner| Watching { inner, bindings: RefCell::new(Vec::new()) }).collect();
        let reader = decryptor.decrypt(watching.iter().map(|w| w as &dyn age::Identity)).map_err(|e| match e {
            DecryptError::NoMatchingKeys => {
                OpenError::NotARecipient { key: key.to_owned(), origin: self.source.clone() }
            }
            other => damaged(other),
        })?;
        // The header MAC held, so the stanzas seen are the writer's.
        let bindings = watching.iter().map(|w| w.bindings.take()).find(|b| !b.is_empty()).unwrap_or_default();
        let [(bound_dump, bound)] = &bindings[..] else {
            return Err(OpenError::Unbound { key: key.to_owned() });
        };
        if bound != key || dump_id.is_some_and(|id| id != bound_dump) {
            return Err(OpenError::Misplaced {
                key: key.to_owned(),
                bound: bound.clone(),
                bound_dump: bound_dump.clone(),
            });
        }
        Ok((reader, bound_dump.clone()))
    }

    /// The plaintext of the encrypted object `key` held in `bytes`.
    pub fn open(&self, key: &str, bytes: &[u8]) -> anyhow::Result<(Vec<u8>, String)> {
        let (mut reader, bound) = self.reader(key, bytes)?;
        let mut plain = Vec::new();
        reader
            .read_to_end(&mut plain)
            .map_err(|e| anyhow!("{key} does not decrypt: {e} (the file is damaged or was changed)"))?;
        Ok((plain, bound))
    }
}

/// An identity that also notes the header's binding stanzas.
struct Watching<'a> {
    inner: &'a x25519::Identity,
    bindings: RefCell<Vec<(String, String)>>,
}

impl age::Identity for Watching<'_> {
    fn unwrap_stanza(&self, stanza: &Stanza) -> Option<Result<FileKey, DecryptError>> {
        age::Identity::unwrap_stanza(self.inner, stanza)
    }

    fn unwrap_stanzas(&self, stanzas: &[Stanza]) -> Option<Result<FileKey, DecryptError>> {
        let bindings = stanzas
            .iter()
            .filter(|s| s.tag == BINDING_TAG)
            .filter_map(|s| match (&s.args[..], String::from_utf8(s.body.clone())) {
                ([id], Ok(key)) => Some((id.clone(), key)),
                _ => None,
            })
            .collect();
        *self.bindings.borrow_mut() = bindings;
        stanzas.iter().find_map(|stanza| self.unwrap_stanza(stanza))
    }
}

/// Reads a passphrase file's first line (without its line ending).
pub fn read_passphrase(path: &Path) -> anyhow::Result<SecretString> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read the passphrase file {}", path.display()))?;
    let line = text.lines().next().unwrap_or("");
    if line.is_empty() {
        bail!("the passphrase file {} is empty", path.display());
    }
    Ok(SecretString::from(line.to_owned()))
}

/// The scrypt work factor of passphrase mode: N = 2^18, so the derivation
/// needs 128 × 8 × N = 256 MiB once per dump and per restore (about a second
/// on a current core). age would calibrate it per machine to about a second,
/// which here picks 2^18 or 2^19 from run to run: a dump's memory must not
/// double by chance in a pod with a memory limit.
pub const SCRYPT_LOG_N: u8 = 18;

/// A new identity for one dump's passphrase mode, and the file that holds
/// it encrypted to the passphrase (age's scrypt recipient; the slow key
/// derivation runs here once, and once per restore).
pub fn passphrase_identity(passphrase: &SecretString) -> anyhow::Result<(x25519::Identity, Vec<u8>)> {
    let identity = x25519::Identity::generate();
    let mut recipient = age::scrypt::Recipient::new(passphrase.clone());
    recipient.set_work_factor(SCRYPT_LOG_N);
    let encryptor = Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))?;
    let mut writer = encryptor.wrap_output(Vec::new())?;
    writer.write_all(identity.to_string().expose_secret().as_bytes())?;
    writer.write_all(b"\n")?;
    Ok((identity, writer.finish()?))
}

/// The identity a passphrase unlocks from a dump's identity file.
pub fn unlock(passphrase: &SecretString, file: &str, bytes: &[u8]) -> anyhow::Result<x25519::Identity> {
    let decryptor = Decryptor::new(bytes).map_err(|e| anyhow!("{file} is not a readable age file: {e}"))?;
    let identity = age::scrypt::Identity::new(passphrase.clone());
    let mut reader = decryptor.decrypt(std::iter::once(&identity as &dyn age::Identity)).map_err(|e| match e {
        DecryptError::DecryptionFailed | DecryptError::KeyDecryptionFailed | DecryptError::NoMatchingKeys => {
            anyhow!("the passphrase does not unlock {file}: wrong passphrase")
        }
        other => anyhow!("cannot unlock {file}: {other}"),
    })?;
    let mut text = String::new();
    reader.read_to_string(&mut text).map_err(|e| anyhow!("{file} does not decrypt: {e}"))?;
    text.trim().parse::<x25519::Identity>().map_err(|why| anyhow!("{file} holds no identity: {why}"))
}

/// A new random dump id (128 bits, hex).
pub fn new_dump_id() -> anyhow::Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| anyhow!("no randomness for the dump id: {e}"))?;
    Ok(hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (x25519::Identity, Recipients) {
        let identity = x25519::Identity::generate();
        let recipients = Recipients::one(identity.to_public());
        (identity, recipients)
    }

    #[test]
    fn passphrase_mode_uses_the_pinned_work_factor_and_unlocks() {
        let passphrase = SecretString::from("correct horse".to_owned());
        let (identity, file) = passphrase_identity(&passphrase).expect("wrap");
        let header = String::from_utf8_lossy(&file[..file.len().min(300)]).into_owned();
        let stanza = header.lines().find(|l| l.starts_with("-> scrypt ")).expect("an scrypt stanza");
        assert!(stanza.ends_with(&format!(" {SCRYPT_LOG_N}")), "{stanza}");
        let unlocked = unlock(&passphrase, "keys/identity.age", &file).expect("unlock");
        assert_eq!(unlocked.to_public().to_string(), identity.to_public().to_string());
        let wrong = SecretString::from("wrong".to_owned());
        let error = unlock(&wrong, "keys/identity.age", &file).err().expect("wrong passphrase").to_string();
        assert!(error.contains("wrong passphrase"), "{error}");
    }

    #[test]
    fn a_sealed_file_opens_in_its_place_only() {
        let (identity, recipients) = pair();
        let sealer = Sealer::new(recipients, "d1");
        let keys = Keys::one(identity.clone(), "test").bound_to("d1");
        let sealed = sealer.seal("data/a.copy.age", b"rows\n").expect("seal");
        assert!(is_age(&sealed));
        let (plain, bound) = keys.open("data/a.copy.age", &sealed).expect("open");
        assert_eq!((plain.as_slice(), bound.as_str()), (&b"rows\n"[..], "d1"));
        let moved = keys.open("data/b.copy.age", &sealed).expect_err("moved").to_string();
        assert!(moved.contains("is bound to data/a.copy.age"), "{moved}");
        let elsewhere = Keys::one(identity, "test").bound_to("d2");
        let other = elsewhere.open("data/a.copy.age", &sealed).expect_err("other dump").to_string();
        assert!(other.contains("of dump d1"), "{other}");
    }

    #[test]
    fn the_wrong_identity_and_a_changed_byte_fail() {
        let (_, recipients) = pair();
        let sealed = Sealer::new(recipients, "d1").seal("k", &[7u8; 200_000]).expect("seal");
        let stranger = Keys::one(x25519::Identity::generate(), "a stranger's file");
        let error = stranger.open("k", &sealed).expect_err("not a recipient").to_string();
        assert!(error.contains("none of the identities in a stranger's file"), "{error}");

        let (identity, recipients) = pair();
        let mut sealed = Sealer::new(recipients, "d1").seal("k", &[7u8; 200_000]).expect("seal");
        let at = sealed.len() - 1000;
        sealed[at] ^= 1;
        let error = Keys::one(identity, "test").open("k", &sealed).expect_err("flipped").to_string();
        assert!(error.contains("does not decrypt"), "{error}");
    }

    #[test]
    fn a_changed_binding_breaks_the_header_mac() {
        let (identity, recipients) = pair();
        let sealed = Sealer::new(recipients, "d1").seal("data/a", b"x").expect("seal");
        let text = String::from_utf8_lossy(&sealed).into_owned();
        // The binding's body is base64 of the key; `ZGF0YS9h` is "data/a", `ZGF0YS9i` "data/b".
        assert!(text.contains("ZGF0YS9h"), "{text}");
        let forged = text.replacen("ZGF0YS9h", "ZGF0YS9i", 1);
        let error = Keys::one(identity, "test").open("data/b", forged.as_bytes()).expect_err("forged");
        assert!(error.to_string().contains("not a readable age file"), "{error}");
    }

    #[test]
    fn recipients_are_checked_without_echoing_secrets() {
        let (identity, _) = pair();
        let secret = identity.to_string().expose_secret().to_owned();
        let error = format!("{:#}", Recipients::parse(std::slice::from_ref(&secret), &[]).expect_err("a secret"));
        assert!(!error.contains(&secret) && error.contains("secret key"), "{error}");
        assert!(Recipients::parse(&[], &[]).is_err());
        assert!(Recipients::parse(&["age1nope".to_owned()], &[]).is_err());
        let public = identity.to_public().to_string();
        let parsed = Recipients::parse(&[public.clone(), public.clone()], &[]).expect("valid");
        assert_eq!(parsed.keys(), vec![public]);
    }

    #[test]
    fn a_passphrase_unlocks_the_dump_identity() {
        let passphrase = SecretString::from("correct horse".to_owned());
        let (identity, file) = passphrase_identity(&passphrase).expect("make");
        let unlocked = unlock(&passphrase, "keys/identity.age", &file).expect("unlock");
        assert_eq!(unlocked.to_public().to_string(), identity.to_public().to_string());
        let Err(wrong) = unlock(&SecretString::from("wrong".to_owned()), "keys/identity.age", &file) else {
            panic!("a wrong passphrase unlocked the identity")
        };
        assert!(wrong.to_string().contains("wrong passphrase"), "{wrong}");
    }
}
