//! Pagination of lists: page numbers from 1, a bounded page size, and the total.

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// The largest page a client may ask for.
pub const MAX_PER_PAGE: u32 = 200;

/// Which page of a list to return.
#[derive(Debug, Clone, Copy, Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::IntoParams),
    into_params(parameter_in = Query)
)]
pub struct PageRequest {
    #[serde(default = "first_page")]
    #[cfg_attr(
        feature = "openapi",
        param(minimum = 1, maximum = 4294967295_u64, default = 1, value_type = u64)
    )]
    pub page: u32,
    #[serde(default = "default_per_page")]
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 200, default = 50))]
    pub per_page: u32,
}

fn first_page() -> u32 {
    1
}

fn default_per_page() -> u32 {
    50
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            page: 1,
            per_page: 50,
        }
    }
}

impl PageRequest {
    /// Refuses page 0 and page sizes outside 1..=200.
    pub fn validated(self) -> Result<Self, Error> {
        if self.page == 0 {
            return Err(Error::invalid("page", "pages are numbered from 1"));
        }
        if self.per_page == 0 || self.per_page > MAX_PER_PAGE {
            return Err(Error::invalid(
                "per_page",
                format!("must be between 1 and {MAX_PER_PAGE}"),
            ));
        }
        Ok(self)
    }

    pub fn limit(&self) -> i64 {
        i64::from(self.per_page)
    }

    pub fn offset(&self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.per_page)
    }
}

/// One page of a list.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: u32,
    pub per_page: u32,
    pub total: i64,
}

impl<T> Page<T> {
    pub fn new(items: Vec<T>, request: PageRequest, total: i64) -> Self {
        Self {
            items,
            page: request.page,
            per_page: request.per_page,
            total,
        }
    }
}
