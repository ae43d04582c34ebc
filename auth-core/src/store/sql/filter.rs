//! Builds the WHERE clause of a list query from optional filters, numbering the placeholders.

use super::SqlValue;

/// Conditions joined by AND, with their parameters.
#[derive(Debug, Default)]
pub struct Filter {
    clauses: Vec<String>,
    params: Vec<SqlValue>,
}

impl Filter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `clause`, whose `?` placeholders take `values` in order.
    pub fn add(&mut self, clause: &str, values: Vec<SqlValue>) -> &mut Self {
        let mut numbered = String::with_capacity(clause.len() + 4);
        let mut values = values.into_iter();
        for c in clause.chars() {
            if c == '?' {
                self.params.push(values.next().unwrap_or(SqlValue::Null));
                numbered.push_str(&format!("${}", self.params.len()));
            } else {
                numbered.push(c);
            }
        }
        self.clauses.push(numbered);
        self
    }

    /// Adds `clause` only when `value` is present.
    pub fn add_opt<T: Into<SqlValue>>(&mut self, clause: &str, value: Option<T>) -> &mut Self {
        if let Some(value) = value {
            self.add(clause, vec![value.into()]);
        }
        self
    }

    /// ` WHERE …` (or nothing).
    pub fn where_sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.clauses.join(" AND "))
        }
    }

    /// The next free placeholder number, for LIMIT and OFFSET after the filter.
    pub fn next_placeholder(&self) -> usize {
        self.params.len() + 1
    }

    pub fn params(&self) -> Vec<SqlValue> {
        self.params.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_placeholders_across_clauses() {
        let mut filter = Filter::new();
        filter
            .add_opt("status = ?", Some("active"))
            .add_opt("actor_id = ?", None::<String>)
            .add("(a LIKE ? OR b LIKE ?)", vec!["%x%".into(), "%x%".into()]);
        assert_eq!(
            filter.where_sql(),
            " WHERE status = $1 AND (a LIKE $2 OR b LIKE $3)"
        );
        assert_eq!(filter.next_placeholder(), 4);
        assert_eq!(filter.params().len(), 3);
    }

    #[test]
    fn no_filters_no_where() {
        assert_eq!(Filter::new().where_sql(), "");
    }
}
