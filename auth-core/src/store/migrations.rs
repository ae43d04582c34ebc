//! The versioned schema: `auth-core/migrations/V<n>__<name>.sql`, one list for both engines,
//! applied by refinery on start and by `auth-gateway migrate`.

mod embedded {
    refinery::embed_migrations!("migrations");
}

pub(crate) fn runner() -> refinery::Runner {
    // One transaction for the whole batch: a failed migration leaves the schema as it was.
    embedded::migrations::runner().set_grouped(true)
}

/// The audit log is append-only in the database too, so no code path (and no mistaken query) can
/// rewrite history; only rows older than the retention sweep's recorded cutoff
/// (`retention_cutoffs`, set from `retention.audit_days`) may be deleted. Trigger syntax differs between the engines, so these are not migrations but
/// idempotent statements each engine runs after them.
pub(crate) const AUDIT_APPEND_ONLY_POSTGRES: &str = "
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF OLD.at < (SELECT before_at FROM retention_cutoffs WHERE name = 'audit_log') THEN
      RETURN OLD;
    END IF;
  END IF;
  RAISE EXCEPTION 'audit_log is append-only';
END $$;
CREATE OR REPLACE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE OR REPLACE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();";

pub(crate) const AUDIT_APPEND_ONLY_SQLITE: &str = "
CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
  BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
DROP TRIGGER IF EXISTS audit_log_no_delete;
CREATE TRIGGER IF NOT EXISTS audit_log_delete_past_retention BEFORE DELETE ON audit_log
  WHEN COALESCE(OLD.at >= (SELECT before_at FROM retention_cutoffs WHERE name = 'audit_log'), 1)
  BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;";

/// What the user search matches: name, email and username in one text, each on its own line (a
/// search never holds a line break, so no match spans two of them). On PostgreSQL a trigram index
/// of exactly this expression serves `LIKE '%…%'`.
pub(crate) const USER_SEARCH_TEXT: &str =
    "(lower(full_name) || '\n' || email_normalized || '\n' || username_normalized)";

/// The user search on PostgreSQL: a trigram index (pg_trgm, a trusted extension the database's
/// owner may create) of the very expression the search matches, so `LIKE '%…%'` reads the
/// index instead of every account. Not a migration because SQLite has no such index; where the
/// extension cannot be made the search still works, by reading the table.
pub(crate) fn user_search_index_postgres() -> String {
    format!(
        "CREATE EXTENSION IF NOT EXISTS pg_trgm;
         CREATE INDEX IF NOT EXISTS users_search_trgm ON users USING gin ({} gin_trgm_ops);",
        USER_SEARCH_TEXT
    )
}

pub(crate) fn applied_names(report: &refinery::Report) -> Vec<String> {
    report
        .applied_migrations()
        .iter()
        .map(|m| format!("V{}__{}", m.version(), m.name()))
        .collect()
}
