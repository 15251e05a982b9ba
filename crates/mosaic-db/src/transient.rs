//! Which database errors pass by themselves: the database is restarting, unreachable or busy,
//! so the same work can succeed later. Anything else (a constraint, a bad statement, data that
//! does not fit) fails the same way however often it is retried.

/// Whether `error` is worth waiting out: the connection was refused, reset or timed out, the
/// pool had no connection to give in time, the server is shutting down or starting, or it has
/// no connection slots left. SQLSTATE classes and codes, never error text.
pub fn transient(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            // 08: connection exception; 57P01–57P03: admin or crash shutdown, cannot connect
            // now; 53300: too many connections; 40001 / 40P01: serialization failure, deadlock.
            code.starts_with("08")
                || matches!(
                    &*code,
                    "57P01" | "57P02" | "57P03" | "53300" | "40001" | "40P01"
                )
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_failures_pass_and_statement_errors_do_not() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert!(transient(&sqlx::Error::Io(refused)));
        assert!(transient(&sqlx::Error::PoolTimedOut));
        assert!(!transient(&sqlx::Error::RowNotFound));
        assert!(!transient(&sqlx::Error::PoolClosed));
        assert!(!transient(&sqlx::Error::ColumnNotFound("x".into())));
    }
}
