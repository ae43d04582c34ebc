//! CSV exports of the console's lists: fields quoted where they must be and never read as a
//! formula by a spreadsheet, read from the list a page at a time, at most [`MAX_ROWS`] rows.

use auth_core::page::PageRequest;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// Rows an export holds at most.
pub const MAX_ROWS: u32 = 10_000;
const PER_PAGE: u32 = 200;

/// The pages an export reads, in order; stop when [`Csv::row_all`] says the list is done.
pub fn pages() -> impl Iterator<Item = PageRequest> {
    (1..=MAX_ROWS / PER_PAGE).map(|page| PageRequest {
        page,
        per_page: PER_PAGE,
    })
}

/// One CSV field: quoted when it must be, and never read as a formula by a spreadsheet.
pub fn field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// A CSV document being written.
pub struct Csv(String);

impl Csv {
    pub fn new(header: &str) -> Csv {
        Csv(format!("{header}\n"))
    }

    /// Writes the rows of one page; whether the list ends with it (`total` rows in all).
    pub fn rows(&mut self, page: &PageRequest, rows: Vec<Vec<String>>, total: i64) -> bool {
        for row in rows {
            let line: Vec<String> = row.iter().map(|f| field(f)).collect();
            self.0.push_str(&line.join(","));
            self.0.push('\n');
        }
        i64::from(page.page * page.per_page) >= total
    }

    /// The download, under the `Content-Disposition` `disposition`.
    pub fn answer(self, disposition: &'static str) -> Response {
        let mut response = self.0.into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8"),
        );
        headers.insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static(disposition),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(
            "x-content-type-options",
            HeaderValue::from_static("nosniff"),
        );
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_and_never_formulas() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(field("-1+2"), "'-1+2");
    }

    #[test]
    fn an_export_ends_with_the_page_that_reaches_the_total() {
        let mut csv = Csv::new("a");
        let mut pages = pages();
        let first = pages.next().unwrap();
        assert!(!csv.rows(&first, vec![vec!["x".into()]], 201));
        let second = pages.next().unwrap();
        assert!(csv.rows(&second, vec![vec!["y".into()]], 201));
        assert_eq!(csv.0, "a\nx\ny\n");
        assert_eq!(super::pages().count() as u32 * PER_PAGE, MAX_ROWS);
    }
}
