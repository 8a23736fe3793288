//! Relay-style connections over the domain's pages: opaque cursors, `pageInfo`, `totalCount`.

use async_graphql::{
    Context, OutputType, SimpleObject,
    connection::{Connection, Edge, EmptyFields},
};
use cognigraph_domain::page::{DEFAULT_FIRST, MAX_FIRST, Page, PageRequest};

use crate::errors::{ApiError, DomainResultExt as _};

/// How many items the connection has in all (not only in this page).
#[derive(SimpleObject, Debug, Clone, Copy)]
pub(crate) struct TotalCount {
    /// Items matching the filter, in all pages.
    pub total_count: u64,
}

/// A page of `T`.
pub(crate) type PageOf<T> = Connection<String, T, TotalCount, EmptyFields>;

/// `first` (1–100, default 20) and `after` (a cursor from this connection) as a page request,
/// which counts the whole list only when the query selects `totalCount` on this connection field
/// (`ctx` is the connection field's context; fragments and aliases included): the count reads
/// every matching row's index entry, the page only `first + 1`.
pub(crate) fn page_request(
    ctx: &Context<'_>,
    first: Option<i32>,
    after: Option<&str>,
) -> Result<PageRequest, ApiError> {
    let request = PageRequest::from_args(first, after).api()?;
    Ok(if ctx.look_ahead().field("totalCount").exists() {
        request
    } else {
        request.without_total_count()
    })
}

/// The complexity of a list field: what one item's selection costs, times the most items the
/// page can hold (`first`, its default when absent, at most the maximum page; an out-of-range
/// `first` is refused later, at resolution, and counts as the maximum here). So a query's
/// complexity grows with the size of the answer it can produce, and `MAX_QUERY_COMPLEXITY`
/// bounds that size.
pub(crate) fn page_cost(first: Option<i32>, child_complexity: usize) -> usize {
    let items = first
        .and_then(|first| u32::try_from(first).ok())
        .filter(|first| (1..=MAX_FIRST).contains(first))
        .unwrap_or(if first.is_none() {
            DEFAULT_FIRST
        } else {
            MAX_FIRST
        });
    usize::try_from(items)
        .unwrap_or(usize::MAX)
        .saturating_mul(child_complexity.max(1))
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
