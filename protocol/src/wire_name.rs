//! The names of unit-only wire enums (`Role`, `LeadKind`, `ConversationStatus`, …), taken from
//! their serde representation, so each name is written once — in the enum's
//! `#[serde(rename_all = …)]` — and `as_str` / `parse` (used by the stores and logs) cannot
//! drift from what goes over the wire.
//!
//! [`name`] reads the `&'static str` serde hands to `serialize_unit_variant`; [`parse`]
//! deserialises from a bare string. [`wire_names!`] gives an enum both as inherent methods.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::de::value::{BorrowedStrDeserializer, Error as ValueError};
use serde::ser::{self, Impossible, Serialize};

/// The wire name of a unit variant, e.g. `"supervisor"` for `Role::Supervisor`.
///
/// Returns `""` for a value that is not a unit enum variant; every enum given [`wire_names!`]
/// is unit-only, and its tests check each variant round-trips.
pub(crate) fn name<T: Serialize>(value: &T) -> &'static str {
    value.serialize(VariantName).unwrap_or("")
}

/// The variant with this wire name, if any.
pub(crate) fn parse<T: DeserializeOwned>(text: &str) -> Option<T> {
    T::deserialize(BorrowedStrDeserializer::<ValueError>::new(text)).ok()
}

/// Gives a unit-only serde enum `as_str(self) -> &'static str` and
/// `parse(&str) -> Option<Self>`, both from its serde names.
macro_rules! wire_names {
    ($($ty:ty),+ $(,)?) => {$(
        impl $ty {
            /// The name on the wire (and in the database).
            pub fn as_str(self) -> &'static str {
                $crate::wire_name::name(&self)
            }

            /// The variant with this wire name, if any.
            pub fn parse(text: &str) -> Option<Self> {
                $crate::wire_name::parse(text)
            }
        }
    )+};
}
pub(crate) use wire_names;

/// A serializer that only accepts a unit variant and yields its name.
struct VariantName;

#[derive(Debug)]
struct NotAUnitVariant;

impl fmt::Display for NotAUnitVariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a unit enum variant")
    }
}

impl std::error::Error for NotAUnitVariant {}

impl ser::Error for NotAUnitVariant {
    fn custom<T: fmt::Display>(_: T) -> Self {
        NotAUnitVariant
    }
}

type No = Impossible<&'static str, NotAUnitVariant>;

/// Serializer methods that refuse their value: `refuse!(Ok; method(arg types), …)`.
macro_rules! refuse {
    ($ok:ty; $($method:ident($($arg:ty),*)),+ $(,)?) => {$(
        fn $method(self, $(_: $arg),*) -> Result<$ok, NotAUnitVariant> {
            Err(NotAUnitVariant)
        }
    )+};
}

impl ser::Serializer for VariantName {
    type Ok = &'static str;
    type Error = NotAUnitVariant;
    type SerializeSeq = No;
    type SerializeTuple = No;
    type SerializeTupleStruct = No;
    type SerializeTupleVariant = No;
    type SerializeMap = No;
    type SerializeStruct = No;
    type SerializeStructVariant = No;

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<&'static str, NotAUnitVariant> {
        Ok(variant)
    }

    refuse!(
        &'static str;
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str),
        serialize_bytes(&[u8]),
        serialize_none(),
        serialize_unit(),
        serialize_unit_struct(&'static str),
    );

    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<&'static str, Self::Error> {
        Err(NotAUnitVariant)
    }

    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<&'static str, Self::Error> {
        Err(NotAUnitVariant)
    }

    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<&'static str, Self::Error> {
        Err(NotAUnitVariant)
    }

    refuse!(
        No;
        serialize_seq(Option<usize>),
        serialize_tuple(usize),
        serialize_tuple_struct(&'static str, usize),
        serialize_tuple_variant(&'static str, u32, &'static str, usize),
        serialize_map(Option<usize>),
        serialize_struct(&'static str, usize),
        serialize_struct_variant(&'static str, u32, &'static str, usize),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};

    #[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Sample {
        One,
        TwoWords,
        #[serde(rename = "custom")]
        Third,
    }

    #[test]
    fn names_come_from_serde() {
        assert_eq!(name(&Sample::One), "one");
        assert_eq!(name(&Sample::TwoWords), "two_words");
        assert_eq!(name(&Sample::Third), "custom");
        assert_eq!(parse::<Sample>("two_words"), Some(Sample::TwoWords));
        assert_eq!(parse::<Sample>("custom"), Some(Sample::Third));
        assert_eq!(parse::<Sample>("Third"), None);
        assert_eq!(parse::<Sample>(""), None);
    }

    #[test]
    fn values_that_are_not_unit_variants_have_no_name() {
        assert_eq!(name(&3u8), "");
        assert_eq!(name(&Some(Sample::One)), "");
    }
}
