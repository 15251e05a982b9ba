//! Sealing personal data on the way in and opening it on the way out. The clear text lives only
//! in requests and answers; events, tables and logs see [`Sealed`] ciphertext.

use mosaic_privacy::{PersonKey, Sealed};
use mosaic_proto::v1 as pb;

use crate::domain::{SealedContact, SealedPersonal};

fn seal_opt(key: &PersonKey, field: &str, value: &str) -> Option<Sealed> {
    let value = value.trim();
    (!value.is_empty()).then(|| key.seal(field, value))
}

fn open_opt(key: &PersonKey, field: &str, value: &Option<Sealed>) -> String {
    value
        .as_ref()
        .and_then(|s| key.open(field, s).ok())
        .unwrap_or_default()
}

/// A resident's personal details as they are kept: every field trimmed, so
/// `open_personal(seal_personal(p))` reads back `kept(p)`.
pub fn kept(p: &pb::PersonalDetails) -> pb::PersonalDetails {
    pb::PersonalDetails {
        display_name: p.display_name.trim().to_owned(),
        name_kana: p.name_kana.trim().to_owned(),
        phone: p.phone.trim().to_owned(),
        email: p.email.trim().to_owned(),
        address: p.address.trim().to_owned(),
        note: p.note.trim().to_owned(),
        gender_description: p.gender_description.trim().to_owned(),
    }
}

/// Seals a resident's personal details (validated) under their key, as [`kept`].
pub fn seal_personal(key: &PersonKey, p: &pb::PersonalDetails) -> SealedPersonal {
    let p = kept(p);
    SealedPersonal {
        display_name: key.seal("display_name", &p.display_name),
        name_kana: seal_opt(key, "name_kana", &p.name_kana),
        phone: seal_opt(key, "phone", &p.phone),
        email: seal_opt(key, "email", &p.email),
        address: seal_opt(key, "address", &p.address),
        note: seal_opt(key, "note", &p.note),
        gender_description: seal_opt(key, "gender_description", &p.gender_description),
    }
}

/// Opens a resident's personal details; what cannot be opened reads as empty.
pub fn open_personal(key: &PersonKey, p: &SealedPersonal) -> pb::PersonalDetails {
    pb::PersonalDetails {
        display_name: key
            .open("display_name", &p.display_name)
            .unwrap_or_default(),
        name_kana: open_opt(key, "name_kana", &p.name_kana),
        phone: open_opt(key, "phone", &p.phone),
        email: open_opt(key, "email", &p.email),
        address: open_opt(key, "address", &p.address),
        note: open_opt(key, "note", &p.note),
        gender_description: open_opt(key, "gender_description", &p.gender_description),
    }
}

/// Seals an organisation's contact person under the organisation's key.
pub fn seal_contact(key: &PersonKey, c: &pb::ContactPerson) -> SealedContact {
    SealedContact {
        name: key.seal("contact.name", c.name.trim()),
        phone: seal_opt(key, "contact.phone", &c.phone),
        email: seal_opt(key, "contact.email", &c.email),
    }
}

/// Opens an organisation's contact person.
pub fn open_contact(key: &PersonKey, c: &SealedContact) -> pb::ContactPerson {
    pb::ContactPerson {
        name: key.open("contact.name", &c.name).unwrap_or_default(),
        phone: open_opt(key, "contact.phone", &c.phone),
        email: open_opt(key, "contact.email", &c.email),
    }
}
