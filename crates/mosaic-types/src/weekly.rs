//! Weekly time windows in Japan time: when a resident is available, when a piece recurs.

use serde::{Deserialize, Serialize};

use crate::Weekday;

/// Minutes in a day: a window ends at most at 24:00.
pub const DAY_MINUTES: u16 = 24 * 60;

/// Why a window or a set of windows is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    /// The window ends at or before its start.
    #[error("must end after it starts")]
    EndsBeforeStart,
    /// A time outside 00:00–24:00.
    #[error("times are minutes after midnight, 0 to 1440")]
    OutOfDay,
    /// Two windows of one set overlap.
    #[error("overlaps another window on the same day")]
    Overlap,
}

/// A window on one weekday, `[start, end)` in minutes after midnight JST.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(try_from = "Stored")]
pub struct WeeklyWindow {
    /// The day.
    weekday: Weekday,
    /// Start, minutes after midnight.
    start: u16,
    /// End, minutes after midnight (after `start`, at most 1440).
    end: u16,
}

/// A window as stored: checked by [`WeeklyWindow::new`] when read, so no window is invalid,
/// however it was made.
#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(rename = "WeeklyWindow")]
struct Stored {
    /// The day.
    weekday: Weekday,
    /// Start, minutes after midnight.
    start: u16,
    /// End, minutes after midnight (after `start`, at most 1440).
    end: u16,
}

impl TryFrom<Stored> for WeeklyWindow {
    type Error = WindowError;
    fn try_from(s: Stored) -> Result<Self, WindowError> {
        WeeklyWindow::new(s.weekday, s.start.into(), s.end.into())
    }
}

impl WeeklyWindow {
    /// A checked window.
    pub fn new(weekday: Weekday, start: u32, end: u32) -> Result<Self, WindowError> {
        if start >= u32::from(DAY_MINUTES) || end > u32::from(DAY_MINUTES) {
            return Err(WindowError::OutOfDay);
        }
        if end <= start {
            return Err(WindowError::EndsBeforeStart);
        }
        Ok(Self {
            weekday,
            start: start as u16,
            end: end as u16,
        })
    }

    /// The day.
    pub fn weekday(&self) -> Weekday {
        self.weekday
    }

    /// Start, minutes after midnight.
    pub fn start(&self) -> u16 {
        self.start
    }

    /// End, minutes after midnight (after the start, at most 1440).
    pub fn end(&self) -> u16 {
        self.end
    }

    /// Length in minutes.
    pub fn minutes(&self) -> u32 {
        u32::from(self.end - self.start)
    }

    /// Whether this window contains all of `other`.
    pub fn covers(&self, other: &WeeklyWindow) -> bool {
        self.weekday == other.weekday && self.start <= other.start && other.end <= self.end
    }

    /// Whether the two windows share any minute.
    pub fn overlaps(&self, other: &WeeklyWindow) -> bool {
        self.weekday == other.weekday && self.start < other.end && other.start < self.end
    }
}

/// The index of the first window that overlaps an earlier one, if any.
pub fn first_overlap(windows: &[WeeklyWindow]) -> Option<usize> {
    windows
        .iter()
        .enumerate()
        .find(|(i, w)| windows[..*i].iter().any(|earlier| earlier.overlaps(w)))
        .map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_must_end_after_it_starts_within_the_day() {
        assert_eq!(
            WeeklyWindow::new(Weekday::Monday, 600, 540),
            Err(WindowError::EndsBeforeStart)
        );
        assert_eq!(
            WeeklyWindow::new(Weekday::Monday, 600, 1441),
            Err(WindowError::OutOfDay)
        );
        assert!(WeeklyWindow::new(Weekday::Monday, 0, 1440).is_ok());
    }

    #[test]
    fn a_stored_window_is_checked_when_read() {
        let read = |json: &str| serde_json::from_str::<WeeklyWindow>(json);
        assert!(read(r#"{"weekday":"mon","start":540,"end":720}"#).is_ok());
        assert!(read(r#"{"weekday":"mon","start":720,"end":540}"#).is_err());
        assert!(read(r#"{"weekday":"mon","start":0,"end":2000}"#).is_err());
    }

    #[test]
    fn overlap_is_found_only_on_the_same_day() {
        let w = |d, s, e| WeeklyWindow::new(d, s, e).expect("valid");
        let set = [w(Weekday::Monday, 540, 720), w(Weekday::Tuesday, 600, 700)];
        assert_eq!(first_overlap(&set), None);
        let set = [w(Weekday::Monday, 540, 720), w(Weekday::Monday, 700, 800)];
        assert_eq!(first_overlap(&set), Some(1));
        // touching windows do not overlap
        let set = [w(Weekday::Monday, 540, 720), w(Weekday::Monday, 720, 800)];
        assert_eq!(first_overlap(&set), None);
    }
}
