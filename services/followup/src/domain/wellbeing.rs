//! Wellbeing and effect measures: each instrument's items and their published scoring, checked
//! before anything is sealed, and a resident's measures over time (the first of an instrument is
//! their baseline).

use chrono::NaiveDate;
use mosaic_events::followup::{FollowUpEvent, Instrument, MeasureRecorded};
use mosaic_privacy::Sealed;
use mosaic_types::ResidentId;
use serde::{Deserialize, Serialize};

use super::engagement::FollowUpError;

/// What a measure says, as sealed in `MeasureRecorded`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Reading {
    /// A scored instrument: its items and its score.
    Scored {
        /// The answers, in the instrument's order.
        items: Vec<u32>,
        /// The score by the instrument's published scoring.
        score: f64,
    },
    /// A numeric measure of the municipality's own.
    Custom {
        /// What is measured.
        name: String,
        /// The value.
        value: f64,
        /// Its unit.
        unit: String,
    },
}

/// Each scored instrument's number of items and the range of each.
fn items_of(instrument: Instrument) -> Option<(usize, std::ops::RangeInclusive<u32>)> {
    match instrument {
        Instrument::Who5 => Some((5, 0..=5)),
        Instrument::Loneliness3 => Some((3, 1..=3)),
        Instrument::SelfRatedHealth => Some((1, 1..=5)),
        Instrument::Custom => None,
    }
}

/// The score of a scored instrument's items: WHO-5 as a percentage (raw × 4), the others as the
/// sum. `Err` names the field and why.
pub fn score(instrument: Instrument, items: &[u32]) -> Result<f64, (String, String)> {
    let Some((n, range)) = items_of(instrument) else {
        return Err((
            "instrument".into(),
            "CUSTOM takes name, value and unit".into(),
        ));
    };
    if items.len() != n {
        return Err((
            "items".into(),
            format!(
                "{} takes {n} items, not {}",
                instrument.as_str(),
                items.len()
            ),
        ));
    }
    if let Some((i, v)) = items.iter().enumerate().find(|(_, v)| !range.contains(v)) {
        return Err((
            format!("items[{i}]"),
            format!("{v} is outside {} to {}", range.start(), range.end()),
        ));
    }
    let sum: u32 = items.iter().sum();
    Ok(match instrument {
        Instrument::Who5 => f64::from(sum * 4),
        _ => f64::from(sum),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instruments_score_as_published_and_refuse_items_out_of_range() {
        assert_eq!(score(Instrument::Who5, &[3, 4, 2, 5, 3]), Ok(68.0));
        assert_eq!(score(Instrument::Loneliness3, &[1, 2, 3]), Ok(6.0));
        assert_eq!(score(Instrument::SelfRatedHealth, &[2]), Ok(2.0));
        assert_eq!(
            score(Instrument::Who5, &[3, 4, 6, 5, 3]).map_err(|e| e.0),
            Err("items[2]".to_owned())
        );
        assert_eq!(
            score(Instrument::Loneliness3, &[0, 2, 3]).map_err(|e| e.0),
            Err("items[0]".to_owned())
        );
        assert_eq!(
            score(Instrument::Who5, &[3, 4]).map_err(|e| e.0),
            Err("items".to_owned())
        );
        assert!(score(Instrument::Custom, &[]).is_err());
    }
}

/// A resident's measures, folded from their stream.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Wellbeing {
    /// Every measure, in the order taken.
    pub measures: Vec<MeasureRecorded>,
}

/// Record a measure (its reading checked and sealed at the edge).
#[derive(Debug, Clone, PartialEq)]
pub struct Measure {
    /// The resident.
    pub resident_id: ResidentId,
    /// Which instrument.
    pub instrument: Instrument,
    /// When it was taken.
    pub on: NaiveDate,
    /// Today (JST): nothing is taken before it happens.
    pub today: NaiveDate,
    /// The reading, sealed.
    pub reading: Sealed,
}

impl mosaic_domain::Aggregate for Wellbeing {
    type Command = Measure;
    type Event = FollowUpEvent;
    type Error = FollowUpError;

    fn decide(&self, m: &Measure) -> Result<Vec<FollowUpEvent>, FollowUpError> {
        if m.on > m.today {
            return Err(FollowUpError::Invalid {
                field: "on".into(),
                reason: format!("{} is after today ({})", m.on, m.today),
            });
        }
        Ok(vec![FollowUpEvent::MeasureRecorded(MeasureRecorded {
            resident_id: m.resident_id.clone(),
            instrument: m.instrument,
            on: m.on,
            reading: m.reading.clone(),
        })])
    }

    fn evolve(mut self, event: &FollowUpEvent) -> Self {
        if let FollowUpEvent::MeasureRecorded(m) = event {
            self.measures.push(m.clone());
        }
        self
    }
}
