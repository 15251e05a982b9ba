use std::io;

/// Why a personal-data operation failed. Messages never carry a key, a plaintext or a ciphertext.
#[derive(Debug, thiserror::Error)]
pub enum PrivacyError {
    /// The person's data was erased: their key is destroyed and is never created again.
    #[error("the person's personal data was erased")]
    Erased,
    /// A master key that cannot be used; the message says why (never the key itself).
    #[error("master key is not usable: {0}")]
    BadMasterKey(String),
    /// A stored person key was wrapped under another master key than the one loaded.
    #[error(
        "a person key is wrapped under master key {stored}, but the loaded master key is {current}; \
         load master key {stored} (master key rotation is not supported yet)"
    )]
    MasterKeyMismatch {
        /// Id of the master key the stored key was wrapped under.
        stored: String,
        /// Id of the master key this vault holds.
        current: String,
    },
    /// The ciphertext does not open with this key: another person's or field's, tampered with, or
    /// sealed under a key that was since destroyed.
    #[error("the sealed value cannot be opened with this key")]
    Undecryptable,
    /// A text that is not a sealed value (`v1.<base64url>`).
    #[error("not a sealed value: {0}")]
    Malformed(String),
    /// The key store's database failed.
    #[error("person key store: {0}")]
    Database(#[from] sqlx::Error),
    /// Reading or writing the master key file failed; the message names the file.
    #[error("master key file: {0}")]
    Io(#[from] io::Error),
}
