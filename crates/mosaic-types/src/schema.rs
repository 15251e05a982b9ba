//! JSON Schemas of the checked values whose serde form is a plain string or number, for the event
//! catalogue: the schema states the check, so an analyst knows what the stored value can be.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

use crate::{MunicipalityCode, SkillLevel, SkillTag};

impl JsonSchema for MunicipalityCode {
    fn schema_name() -> Cow<'static, str> {
        "MunicipalityCode".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^[0-9]{6}$",
            "description": "A Japanese local government code (全国地方公共団体コード): five digits \
                            and a check digit, e.g. Kashiwa 122173."
        })
    }
}

impl JsonSchema for SkillTag {
    fn schema_name() -> Cow<'static, str> {
        "SkillTag".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^[a-z0-9_]+$",
            "minLength": 1,
            "maxLength": crate::skill::MAX_TAG_LEN,
            "description": "A skill tag, e.g. driving, pc_basics."
        })
    }
}

impl JsonSchema for SkillLevel {
    fn schema_name() -> Cow<'static, str> {
        "SkillLevel".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "integer",
            "minimum": 1,
            "maximum": 5,
            "description": "A level from 1 (beginner) to 5 (expert, can teach others)."
        })
    }
}
