//! The versioned schema: `auth-core/migrations/V<n>__<name>.sql`, one list for both engines,
//! applied by refinery on start and by `auth-gateway migrate`.

mod embedded {
    refinery::embed_migrations!("migrations");
}

pub(crate) fn runner() -> refinery::Runner {
    // One transaction for the whole batch: a failed migration leaves the schema as it was.
    embedded::migrations::runner().set_grouped(true)
}

pub(crate) fn applied_names(report: &refinery::Report) -> Vec<String> {
    report
        .applied_migrations()
        .iter()
        .map(|m| format!("V{}__{}", m.version(), m.name()))
        .collect()
}
