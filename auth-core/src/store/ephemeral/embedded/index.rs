//! The ordered indexes of the embedded store. Each member is its own row of `ephemeral_entries`
//! (kind `index`), so adding one to an index of 100,000 writes one small row, not the whole index.

use std::collections::{BTreeSet, HashMap};

use crate::store::IndexRange;
use crate::store::StoreError;

/// Between the parts of a member's row key; no index key or member holds it.
const SEPARATOR: char = '\u{1f}';
const ROW_PREFIX: &str = "index\u{1f}";

/// The row key of `member` of index `key`.
pub(super) fn row_key(key: &str, member: &str) -> String {
    format!("{ROW_PREFIX}{key}{SEPARATOR}{member}")
}

/// The index key and member a row key names, if it names one.
pub(super) fn parse_row_key(row: &str) -> Option<(&str, &str)> {
    row.strip_prefix(ROW_PREFIX)?.rsplit_once(SEPARATOR)
}

/// The score a row holds.
pub(super) fn parse_score(raw: &[u8]) -> Result<i64, StoreError> {
    std::str::from_utf8(raw)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| StoreError::Malformed("ephemeral index entry".into()))
}

/// One index in memory: each member's score and wall-clock expiry, and the members in order.
#[derive(Debug, Default)]
pub(super) struct Index {
    members: HashMap<String, (i64, i64)>,
    order: BTreeSet<(i64, String)>,
}

impl Index {
    pub fn insert(&mut self, member: &str, score: i64, expires_at_ms: i64) {
        if let Some((old, _)) = self
            .members
            .insert(member.to_string(), (score, expires_at_ms))
        {
            self.order.remove(&(old, member.to_string()));
        }
        self.order.insert((score, member.to_string()));
    }

    pub fn remove(&mut self, member: &str) -> bool {
        match self.members.remove(member) {
            Some((score, _)) => self.order.remove(&(score, member.to_string())),
            None => false,
        }
    }

    /// Forgets the members at or below `floor`, cheapest first; returns them.
    pub fn forget_up_to(&mut self, floor: i64) -> Vec<String> {
        let mut gone = Vec::new();
        while let Some((score, _)) = self.order.first()
            && *score <= floor
        {
            if let Some((_, member)) = self.order.pop_first() {
                self.members.remove(&member);
                gone.push(member);
            }
        }
        gone
    }

    /// Forgets the members whose wall-clock expiry has passed.
    pub fn sweep(&mut self, now_ms: i64) {
        let expired: Vec<String> = self
            .members
            .iter()
            .filter(|(_, (_, expires))| *expires <= now_ms)
            .map(|(member, _)| member.clone())
            .collect();
        for member in expired {
            self.remove(&member);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    pub fn range(&self, offset: usize, limit: usize) -> IndexRange {
        IndexRange {
            total: self.members.len() as u64,
            members: self
                .order
                .iter()
                .rev()
                .skip(offset)
                .take(limit)
                .map(|(_, member)| member.clone())
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_come_highest_first_and_a_new_score_moves_one() {
        let mut index = Index::default();
        index.insert("a", 10, i64::MAX);
        index.insert("b", 30, i64::MAX);
        index.insert("c", 20, i64::MAX);
        index.insert("a", 40, i64::MAX);
        assert_eq!(index.range(0, 10).members, ["a", "b", "c"]);
        assert_eq!(index.range(1, 1).members, ["b"]);
        assert_eq!(index.forget_up_to(20), ["c"]);
        assert_eq!(index.range(0, 10).total, 2);
    }

    #[test]
    fn row_keys_name_their_index_and_member() {
        let row = row_key("service-sessions:service-b", "0193-abc");
        assert_eq!(
            parse_row_key(&row),
            Some(("service-sessions:service-b", "0193-abc"))
        );
        assert_eq!(parse_row_key("session:1"), None);
    }
}
