//! What can go wrong below the domain: the store is down, a constraint refused a write, or a value
//! in the store is not what the code expects.

/// A storage failure.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The backend cannot be reached now; callers answer 503 and may retry.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// A unique constraint refused the write; holds the constraint or column text.
    #[error("unique constraint violated: {0}")]
    Unique(String),
    /// A stored value has a shape the code does not expect.
    #[error("stored data is malformed: {0}")]
    Malformed(String),
    /// Anything else the backend reported.
    #[error("storage error: {0}")]
    Backend(String),
}

impl StoreError {
    /// Whether a unique violation concerns the named column or constraint fragment.
    pub fn is_unique_on(&self, fragment: &str) -> bool {
        matches!(self, StoreError::Unique(what) if what.contains(fragment))
    }
}
