//! Skills: a tag from the controlled vocabulary and a level from 1 to 5.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Longest skill tag.
pub const MAX_TAG_LEN: usize = 40;

/// Why a skill is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SkillError {
    /// Not `a-z`, `0-9` and `_`, or too long.
    #[error("a skill tag is 1 to 40 characters of a-z, 0-9 and _, e.g. pc_basics")]
    Tag,
    /// Outside 1–5.
    #[error("a skill level is 1 (beginner) to 5 (expert)")]
    Level,
}

/// A skill tag, e.g. `driving`, `pc_basics`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SkillTag(String);

impl SkillTag {
    /// A checked tag.
    pub fn parse(s: &str) -> Result<Self, SkillError> {
        let ok = !s.is_empty()
            && s.len() <= MAX_TAG_LEN
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(SkillError::Tag)
        }
    }

    /// The tag.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SkillTag {
    type Error = SkillError;
    fn try_from(s: String) -> Result<Self, SkillError> {
        Self::parse(&s)
    }
}

impl From<SkillTag> for String {
    fn from(t: SkillTag) -> String {
        t.0
    }
}

impl fmt::Display for SkillTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A level from 1 (beginner) to 5 (expert, can teach others).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct SkillLevel(u8);

impl SkillLevel {
    /// A checked level.
    pub fn new(level: u32) -> Result<Self, SkillError> {
        if (1..=5).contains(&level) {
            Ok(Self(level as u8))
        } else {
            Err(SkillError::Level)
        }
    }

    /// The level.
    pub fn get(self) -> u8 {
        self.0
    }
}

impl TryFrom<u8> for SkillLevel {
    type Error = SkillError;
    fn try_from(n: u8) -> Result<Self, SkillError> {
        Self::new(u32::from(n))
    }
}

impl From<SkillLevel> for u8 {
    fn from(l: SkillLevel) -> u8 {
        l.0
    }
}

/// A skill at a level.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Skill {
    /// What.
    pub tag: SkillTag,
    /// How well.
    pub level: SkillLevel,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_and_levels_are_checked() {
        assert!(SkillTag::parse("pc_basics").is_ok());
        assert_eq!(SkillTag::parse("PC"), Err(SkillError::Tag));
        assert_eq!(SkillTag::parse(""), Err(SkillError::Tag));
        assert!(SkillLevel::new(5).is_ok());
        assert_eq!(SkillLevel::new(0), Err(SkillError::Level));
        assert_eq!(SkillLevel::new(6), Err(SkillError::Level));
        assert!(serde_json::from_str::<SkillLevel>("7").is_err());
    }
}
