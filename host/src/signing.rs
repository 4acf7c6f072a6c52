//! Signing the manifest in the minisign format: `dump --sign-key FILE`
//! writes `manifest.json.minisig` (just before the manifest), and
//! `verify --signer PUBKEY` checks it. The manifest lists every file's
//! size and SHA-256, so the signature covers the whole dump. Encryption to
//! public recipients alone proves nothing about who made a dump: anyone
//! with the public key can make one.

use std::io::Cursor;
use std::path::Path;

use anyhow::{Context, anyhow, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use minisign::{PublicKey, SecretKey, SecretKeyBox, SignatureBox};

use crate::store::Store;
use crate::store::naming::MANIFEST;

/// The signature's key.
pub const SIGNATURE: &str = "manifest.json.minisig";
/// Names the file holding the password of an encrypted minisign key.
pub const PASSWORD_ENV: &str = "SLUICE_SIGN_KEY_PASSWORD_FILE";

/// Reads a minisign secret key: one made without a password (`minisign -G
/// -W`), or a password-protected one whose password is the first line of
/// the file `SLUICE_SIGN_KEY_PASSWORD_FILE` names. Errors never quote the
/// key.
pub fn load_secret_key(path: &Path) -> anyhow::Result<SecretKey> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read the signing key {}", path.display()))?;
    let not_a_key = || anyhow!("{} is not a minisign secret key", path.display());
    let bytes = text.lines().nth(1).and_then(|line| BASE64.decode(line.trim()).ok()).ok_or_else(not_a_key)?;
    let key = SecretKey::from_bytes(&bytes).map_err(|_| not_a_key())?;
    if !key.is_encrypted() {
        // Read from the bytes rather than with `into_unencrypted_secret_key`:
        // minisign 0.11 (Debian's) writes `-G -W` keys with an all-zero
        // checksum, which the crate rejects and the minisign CLI accepts.
        return Ok(key);
    }
    let key_box = SecretKeyBox::from_string(&text).map_err(|_| not_a_key())?;
    let Some(password_file) = std::env::var_os(PASSWORD_ENV) else {
        bail!(
            "the signing key {} is password-protected: set {PASSWORD_ENV} to a file holding its password",
            path.display()
        );
    };
    let password = std::fs::read_to_string(&password_file)
        .with_context(|| format!("cannot read the file {PASSWORD_ENV} names"))?;
    let password = password.lines().next().unwrap_or("").to_owned();
    key_box
        .into_secret_key(Some(password))
        .map_err(|_| anyhow!("the password in {PASSWORD_ENV}'s file does not open the signing key {}", path.display()))
}

/// Signs the manifest's exact bytes; the trusted comment names the dump.
pub fn sign(store: &dyn Store, key: &SecretKey, manifest: &[u8], dump_id: &str) -> anyhow::Result<()> {
    let comment = format!("sluice manifest of dump {dump_id}");
    let signature = minisign::sign(None, key, Cursor::new(manifest), Some(&comment), Some("signature from sluice"))
        .map_err(|e| anyhow!("cannot sign the manifest: {e}"))?;
    store
        .put(SIGNATURE, signature.to_string().as_bytes())
        .with_context(|| format!("cannot write {}/{SIGNATURE}", store.location()))?;
    Ok(())
}

/// A public key given as the key itself (`RW…`) or as a `.pub` file.
pub fn public_key(signer: &str) -> anyhow::Result<PublicKey> {
    let path = Path::new(signer);
    if path.is_file() {
        return PublicKey::from_file(path).map_err(|e| anyhow!("{signer} is not a minisign public key: {e}"));
    }
    PublicKey::from_base64(signer.trim())
        .map_err(|_| anyhow!("--signer {signer}: neither a minisign public key nor a file holding one"))
}

/// Checks `manifest.json.minisig` against `signer`: Ok(the trusted
/// comment) or why not.
pub fn verify(store: &dyn Store, signer: &PublicKey) -> anyhow::Result<String> {
    let manifest = store.get(MANIFEST)?.ok_or_else(|| anyhow!("{MANIFEST} is missing"))?;
    let Some(signature) = store.get(SIGNATURE)? else {
        bail!("the dump is not signed: it has no {SIGNATURE}");
    };
    let signature = String::from_utf8(signature)
        .ok()
        .and_then(|text| SignatureBox::from_string(&text).ok())
        .ok_or_else(|| anyhow!("{SIGNATURE} is not a minisign signature"))?;
    minisign::verify(signer, &signature, Cursor::new(&manifest), true, false, false)
        .map_err(|e| anyhow!("{SIGNATURE} does not prove {MANIFEST} came from the signer: {e}"))?;
    Ok(signature.trusted_comment().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::MemoryStore;

    #[test]
    fn a_signed_manifest_verifies_and_a_changed_one_does_not() {
        let pair = minisign::KeyPair::generate_unencrypted_keypair().expect("keys");
        let store = MemoryStore::default();
        store.put(MANIFEST, b"{\"a\":1}\n").expect("put");
        sign(&store, &pair.sk, b"{\"a\":1}\n", "d1").expect("sign");
        assert_eq!(verify(&store, &pair.pk).expect("verified"), "sluice manifest of dump d1");
        store.put(MANIFEST, b"{\"a\":2}\n").expect("put");
        assert!(verify(&store, &pair.pk).is_err());
        let other = minisign::KeyPair::generate_unencrypted_keypair().expect("keys");
        store.put(MANIFEST, b"{\"a\":1}\n").expect("put");
        assert!(verify(&store, &other.pk).is_err());
    }

    /// The key file `minisign -G -W` (0.11) writes: no KDF, a zero checksum.
    #[test]
    fn an_unencrypted_key_with_a_zero_checksum_signs() {
        let pair = minisign::KeyPair::generate_unencrypted_keypair().expect("keys");
        let mut bytes = pair.sk.to_bytes();
        let len = bytes.len();
        bytes[len - 32..].fill(0);
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("zero.key");
        let text = format!("untrusted comment: minisign encrypted secret key\n{}\n", BASE64.encode(&bytes));
        std::fs::write(&path, text).expect("write");
        let key = load_secret_key(&path).expect("an unencrypted key loads");
        let store = MemoryStore::default();
        store.put(MANIFEST, b"{}\n").expect("put");
        sign(&store, &key, b"{}\n", "d2").expect("sign");
        verify(&store, &pair.pk).expect("the signature verifies");
        std::fs::write(&path, "untrusted comment: x\nnot base64\n").expect("write");
        assert!(load_secret_key(&path).expect_err("not a key").to_string().contains("is not a minisign secret key"));
    }
}
