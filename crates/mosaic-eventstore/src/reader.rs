//! Reading the log in order with read-ahead: while a caller works on one page, the next is
//! already being fetched. A page costs a fixed round of queries besides its events, so catch-up
//! readers (projection rebuilds, the relay's re-publication, exports) read large pages and keep
//! the server busy between them.

use std::sync::Arc;

use crate::{EventStore, LogQuery, StoreError, StoredEvent};

/// Events per page a catch-up reader asks for: large enough that a page's fixed cost is small
/// beside its events, small enough that two pages in memory stay a few megabytes.
pub const READ_AHEAD_PAGE: u32 = 10_000;

/// A read of the log on its own task, cancelled when dropped unawaited (the read was
/// abandoned), so it does not hold a connection for events nobody wants.
pub(crate) struct ReadTask(tokio::task::JoinHandle<Result<Vec<StoredEvent>, StoreError>>);

impl ReadTask {
    pub(crate) fn spawn(
        read: impl Future<Output = Result<Vec<StoredEvent>, StoreError>> + Send + 'static,
    ) -> Self {
        Self(tokio::spawn(read))
    }

    pub(crate) async fn join(mut self) -> Result<Vec<StoredEvent>, StoreError> {
        (&mut self.0).await?
    }
}

impl Drop for ReadTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A sequential reader of one [`LogQuery`]'s range, one page (`query.limit` events) at a time.
///
/// After a full page it starts fetching the next one at once; a short page means the reader
/// reached the end of what is committed, so nothing is fetched until asked again.
pub struct LogReader {
    store: Arc<dyn EventStore>,
    query: LogQuery,
    ahead: Option<ReadTask>,
}

impl LogReader {
    /// A reader of `query` from `query.after` on, in pages of `query.limit` events.
    pub fn new(store: Arc<dyn EventStore>, query: LogQuery) -> Self {
        Self {
            store,
            query: LogQuery {
                limit: query.limit.max(1),
                ..query
            },
            ahead: None,
        }
    }

    /// The last position handed out (or the starting point): the next page starts after it.
    pub fn position(&self) -> u64 {
        self.query.after
    }

    /// The next page, empty at the end of what is committed (ask again later to follow the log).
    pub async fn next_page(&mut self) -> Result<Vec<StoredEvent>, StoreError> {
        let page = match self.ahead.take() {
            Some(fetch) => fetch.join().await?,
            None => self.store.read_log(&self.query).await?,
        };
        if let Some(last) = page.last() {
            self.query.after = last.position;
        }
        let more = page.len() == self.query.limit as usize
            && self.query.up_to.is_none_or(|p| self.query.after < p);
        if more {
            let (store, query) = (self.store.clone(), self.query.clone());
            self.ahead = Some(ReadTask::spawn(async move { store.read_log(&query).await }));
        }
        Ok(page)
    }
}
