//! Relay-style connections over the domain's pages: opaque cursors, `pageInfo`, `totalCount`.

use async_graphql::{
    OutputType, SimpleObject,
    connection::{Connection, Edge, EmptyFields},
};
use cognigraph_domain::page::{Page, PageRequest};

use super::context::DomainResultExt as _;
use crate::errors::ApiError;

/// How many items the connection has in all (not only in this page).
#[derive(SimpleObject, Debug, Clone, Copy)]
pub(crate) struct TotalCount {
    /// Items matching the filter, in all pages.
    pub total_count: u64,
}

/// A page of `T`.
pub(crate) type PageOf<T> = Connection<String, T, TotalCount, EmptyFields>;

/// `first` (1–100, default 20) and `after` (a cursor from this connection) as a page request.
pub(crate) fn page_request(
    first: Option<i32>,
    after: Option<&str>,
) -> Result<PageRequest, ApiError> {
    PageRequest::from_args(first, after).api()
}

/// The connection of a domain page, each item turned into its node.
pub(crate) fn connection<T, N: OutputType>(page: Page<T>, node: impl Fn(T) -> N) -> PageOf<N> {
    let mut connection = Connection::with_additional_fields(
        page.has_previous_page,
        page.has_next_page,
        TotalCount {
            total_count: page.total_count,
        },
    );
    connection.edges.extend(
        page.items
            .into_iter()
            .map(|(cursor, item)| Edge::new(cursor.encode(), node(item))),
    );
    connection
}
