//! Secrets at rest and the random values the OAuth flow needs. [`TokenCipher`] seals OAuth
//! tokens (and upload URLs, which grant write access to a user's upload) with AES-256-GCM under
//! the key from `REELSMITH_TOKEN_KEY`, each value bound to the row and column it lives in, so a
//! sealed value copied to another row does not open. Also: session ids, PKCE pairs.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use sha2::{Digest, Sha256};

/// The format tag in front of each sealed value, so the scheme can change later.
const SEALED_PREFIX: &str = "v1.";
const NONCE_BYTES: usize = 12;

/// AES-256-GCM over token strings.
#[derive(Clone)]
pub struct TokenCipher {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for TokenCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenCipher(..)")
    }
}

/// A sealed value did not open: another key, another row, or tampered with.
#[derive(Debug, PartialEq, Eq)]
pub struct OpenError;

impl TokenCipher {
    /// The key as base64 of 32 bytes (`openssl rand -base64 32`).
    pub fn from_base64(key: &str) -> Result<Self, String> {
        let bytes = STANDARD.decode(key.trim()).map_err(|_| {
            "REELSMITH_TOKEN_KEY is not base64: make one with `openssl rand -base64 32`".to_string()
        })?;
        if bytes.len() != 32 {
            return Err(format!(
                "REELSMITH_TOKEN_KEY is {} bytes; it must be 32 (`openssl rand -base64 32`)",
                bytes.len()
            ));
        }
        let cipher = Aes256Gcm::new_from_slice(&bytes)
            .map_err(|_| "REELSMITH_TOKEN_KEY has the wrong length".to_string())?;
        Ok(Self { cipher })
    }

    /// A fresh key that lives as long as the process (demo mode and tests).
    pub fn random() -> Self {
        let key: [u8; 32] = rand::random();
        Self {
            cipher: Aes256Gcm::new(&key.into()),
        }
    }

    /// Seals `plaintext`; `context` names where it is stored (e.g. `connections.access_token:<row>`).
    pub fn seal(&self, plaintext: &str, context: &str) -> String {
        let nonce_bytes: [u8; NONCE_BYTES] = rand::random();
        let nonce = Nonce::from_slice(&nonce_bytes);
        let payload = Payload {
            msg: plaintext.as_bytes(),
            aad: context.as_bytes(),
        };
        // Encryption only fails for messages over 64 GiB; tokens are a few hundred bytes.
        let ciphertext = self.cipher.encrypt(nonce, payload).unwrap_or_default();
        let mut sealed = nonce_bytes.to_vec();
        sealed.extend_from_slice(&ciphertext);
        format!("{SEALED_PREFIX}{}", URL_SAFE_NO_PAD.encode(sealed))
    }

    /// Opens a value sealed with the same key and context.
    pub fn open(&self, sealed: &str, context: &str) -> Result<String, OpenError> {
        let body = sealed.strip_prefix(SEALED_PREFIX).ok_or(OpenError)?;
        let bytes = URL_SAFE_NO_PAD.decode(body).map_err(|_| OpenError)?;
        if bytes.len() < NONCE_BYTES + 16 {
            return Err(OpenError);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
        let payload = Payload {
            msg: ciphertext,
            aad: context.as_bytes(),
        };
        let plaintext = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), payload)
            .map_err(|_| OpenError)?;
        String::from_utf8(plaintext).map_err(|_| OpenError)
    }
}

/// A random URL-safe token of `bytes` random bytes (session ids, OAuth `state`).
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::fill(&mut buf[..]);
    URL_SAFE_NO_PAD.encode(buf)
}

/// Hex SHA-256, the form in which session ids and states are stored: a copy of the database
/// does not hand out live sessions.
pub fn sha256_hex(value: &str) -> String {
    Sha256::digest(value.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A PKCE pair: the verifier (43 characters from 32 random bytes, RFC 7636 §4.1) and its S256
/// challenge, `BASE64URL(SHA256(verifier))` (§4.2).
pub fn pkce_pair() -> (String, String) {
    let verifier = random_token(32);
    let challenge = pkce_challenge(&verifier);
    (verifier, challenge)
}

pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_and_place() {
        let cipher = TokenCipher::random();
        let sealed = cipher.seal("act.secret-token", "connections.access_token:abc");
        assert!(!sealed.contains("secret"));
        assert_eq!(
            cipher
                .open(&sealed, "connections.access_token:abc")
                .unwrap(),
            "act.secret-token"
        );
        assert_eq!(
            cipher.open(&sealed, "connections.access_token:other-row"),
            Err(OpenError)
        );
        assert_eq!(
            TokenCipher::random().open(&sealed, "connections.access_token:abc"),
            Err(OpenError)
        );
        // Each seal has its own nonce.
        assert_ne!(
            sealed,
            cipher.seal("act.secret-token", "connections.access_token:abc")
        );
        // Tampering is detected.
        let mut tampered = sealed.into_bytes();
        let last = tampered.len() - 1;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert_eq!(
            cipher.open(&tampered, "connections.access_token:abc"),
            Err(OpenError)
        );
        assert_eq!(cipher.open("plain", "x"), Err(OpenError));
    }

    #[test]
    fn keys_are_32_bytes_of_base64() {
        let key = STANDARD.encode([7u8; 32]);
        let a = TokenCipher::from_base64(&key).unwrap();
        let b = TokenCipher::from_base64(&format!("{key}\n")).unwrap();
        assert_eq!(b.open(&a.seal("x", "c"), "c").unwrap(), "x");
        assert!(TokenCipher::from_base64(&STANDARD.encode([7u8; 16]))
            .unwrap_err()
            .contains("16 bytes"));
        assert!(TokenCipher::from_base64("not base64!")
            .unwrap_err()
            .contains("openssl"));
    }

    #[test]
    fn pkce_challenge_is_base64url_of_sha256() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r7wW1gFWFOEjXk"),
            // Python: base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=")
            "bwWFMyPfdG9qreDhH2lmftFx_dFeLDalzcT1gb_j68g"
        );
        let (verifier, challenge) = pkce_pair();
        assert_eq!(verifier.len(), 43);
        assert_eq!(pkce_challenge(&verifier), challenge);
    }
}
