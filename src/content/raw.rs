//! The YAML files exactly as editors write them: serde types with source positions.
//!
//! Every value a later check needs to point at is a [`Spanned`], so that `check` reports the
//! line and column the YAML parser saw. The structs ignore unknown fields: `load.rs` first reads
//! each file as a generic [`Node`] tree and reports every key its [`Shape`] does not know (with
//! its position), so one unknown field never hides the file's other errors. Nothing here
//! validates beyond that and what serde does; `load.rs` turns these into the typed model.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_saphyr::Spanned;

pub type S<T> = Spanned<T>;

#[derive(Debug, Deserialize)]
pub struct RawEntry {
    pub id: S<String>,
    pub title: S<String>,
    pub topic: S<String>,
    pub questions: S<Vec<S<String>>>,
    pub summary: S<String>,
    pub answer: S<String>,
    #[serde(default)]
    pub programmes: Vec<S<String>>,
    #[serde(default)]
    pub related: Vec<S<String>>,
    pub sources: S<Vec<RawSource>>,
    pub reviewed: S<String>,
    /// When the entry's changing figures or dates must next be re-checked (optional).
    #[serde(default)]
    pub review_by: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
pub struct RawProgramme {
    pub id: S<String>,
    pub name: S<String>,
    pub provider: S<String>,
    pub regions: S<Vec<S<String>>>,
    pub summary: S<String>,
    pub how_to_join: S<String>,
    #[serde(default)]
    pub contact: Option<RawContact>,
    pub questions: S<Vec<S<String>>>,
    pub sources: S<Vec<RawSource>>,
    pub reviewed: S<String>,
}

#[derive(Debug, Deserialize)]
pub struct RawSource {
    pub title: S<String>,
    pub url: S<String>,
}

#[derive(Debug, Deserialize)]
pub struct RawContact {
    #[serde(default)]
    pub url: Option<S<String>>,
    #[serde(default)]
    pub phone: Option<S<String>>,
    #[serde(default)]
    pub email: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
pub struct RawTopics {
    pub topics: Vec<RawTopic>,
}

#[derive(Debug, Deserialize)]
pub struct RawTopic {
    pub id: S<String>,
    pub title: S<String>,
}

#[derive(Debug, Deserialize)]
pub struct RawRegions {
    pub regions: Vec<RawRegion>,
}

#[derive(Debug, Deserialize)]
pub struct RawRegion {
    pub id: S<String>,
    pub name: S<String>,
    #[serde(default)]
    pub places: Vec<S<String>>,
}

#[derive(Debug, Deserialize)]
pub struct RawSynonyms {
    pub groups: Vec<S<Vec<S<String>>>>,
}

/// `out-of-scope.yaml`: messages the guidance does not cover.
#[derive(Debug, Deserialize)]
pub struct RawOffTopic {
    pub examples: S<Vec<S<String>>>,
    /// Examples that only teach declining: not on the crisis check's calm side.
    #[serde(default)]
    pub decline_only: Vec<S<String>>,
}

#[derive(Debug, Deserialize)]
pub struct RawCrisis {
    pub phrases: S<Vec<S<String>>>,
    /// Phrases whose words are masked before the crisis check looks ("suicide prevention").
    #[serde(default)]
    pub safe_phrases: Vec<S<String>>,
    #[serde(default)]
    pub structure: Option<RawCrisisStructure>,
    /// Crisis messages for the meaning layer.
    #[serde(default)]
    pub examples: Vec<S<String>>,
    /// Alarming-looking messages that are not a risk now, for calibrating the meaning layer.
    #[serde(default)]
    pub not_crisis: Vec<S<String>>,
    pub message: S<String>,
    #[serde(default)]
    pub entry: Option<S<String>>,
    #[serde(default)]
    pub programmes: Vec<S<String>>,
}

/// The word lists of the crisis structure layer (see `content/crisis.yaml`).
#[derive(Debug, Default, Deserialize)]
pub struct RawCrisisStructure {
    #[serde(default)]
    pub people: Vec<S<String>>,
    #[serde(default)]
    pub intents: Vec<S<String>>,
    #[serde(default)]
    pub done: Vec<S<String>>,
    #[serde(default)]
    pub means: Vec<S<String>>,
    #[serde(default)]
    pub places: Vec<S<String>>,
    #[serde(default)]
    pub acts: Vec<S<String>>,
    #[serde(default)]
    pub emergencies: Vec<S<String>>,
    #[serde(default)]
    pub weapons: Vec<S<String>>,
    #[serde(default)]
    pub violence: Vec<S<String>>,
    #[serde(default)]
    pub presence: Vec<S<String>>,
    #[serde(default)]
    pub now: Vec<S<String>>,
    #[serde(default)]
    pub past: Vec<S<String>>,
    #[serde(default)]
    pub hypothetical: Vec<S<String>>,
    #[serde(default)]
    pub safety: Vec<S<String>>,
}

/// A raw type whose fields `check` knows: its own (from its derived `Deserialize`, so a field
/// added to the struct is known at once) and, for fields holding mappings or lists of
/// mappings, the shape of those.
pub trait Shaped: DeserializeOwned {
    fn nested() -> Vec<(&'static str, Shape)> {
        Vec::new()
    }

    fn shape() -> Shape {
        Shape {
            fields: fields_of::<Self>(),
            nested: Self::nested(),
        }
    }
}

/// The keys a mapping may hold, and the shapes of the mappings under some of them.
#[derive(Debug)]
pub struct Shape {
    pub fields: &'static [&'static str],
    pub nested: Vec<(&'static str, Shape)>,
}

impl Shaped for RawEntry {
    fn nested() -> Vec<(&'static str, Shape)> {
        vec![("sources", RawSource::shape())]
    }
}

impl Shaped for RawProgramme {
    fn nested() -> Vec<(&'static str, Shape)> {
        vec![
            ("sources", RawSource::shape()),
            ("contact", RawContact::shape()),
        ]
    }
}

impl Shaped for RawSource {}
impl Shaped for RawContact {}
impl Shaped for RawTopic {}
impl Shaped for RawRegion {}
impl Shaped for RawSynonyms {}
impl Shaped for RawOffTopic {}
impl Shaped for RawCrisis {
    fn nested() -> Vec<(&'static str, Shape)> {
        vec![("structure", RawCrisisStructure::shape())]
    }
}
impl Shaped for RawCrisisStructure {}

impl Shaped for RawTopics {
    fn nested() -> Vec<(&'static str, Shape)> {
        vec![("topics", RawTopic::shape())]
    }
}

impl Shaped for RawRegions {
    fn nested() -> Vec<(&'static str, Shape)> {
        vec![("regions", RawRegion::shape())]
    }
}

/// The field names serde's derived `Deserialize` for `T` asks for (empty if `T` is not a
/// struct): read by handing it a deserializer that records them and stops.
fn fields_of<T: DeserializeOwned>() -> &'static [&'static str] {
    use serde::de::{self, Visitor};
    use serde::forward_to_deserialize_any;

    struct Fields<'a>(&'a mut &'static [&'static str]);

    impl<'de> de::Deserializer<'de> for Fields<'_> {
        type Error = de::value::Error;

        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("not a struct"))
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _visitor: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(de::Error::custom("fields read"))
        }

        forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }

    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Fields(&mut fields));
    fields
}

/// Any YAML value, with the position of every key and value: what a file holds before it is
/// read into its raw type.
#[derive(Debug)]
pub enum Node {
    Scalar,
    Seq(Vec<S<Node>>),
    Map(Vec<(S<String>, S<Node>)>),
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{MapAccess, SeqAccess, Visitor};
        use std::fmt;

        struct V;

        macro_rules! scalar {
            ($($f:ident: $t:ty),*) => {$(
                fn $f<E>(self, _: $t) -> Result<Node, E> {
                    Ok(Node::Scalar)
                }
            )*};
        }

        impl<'de> Visitor<'de> for V {
            type Value = Node;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any YAML value")
            }

            scalar!(visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_i128: i128,
                visit_u128: u128, visit_f64: f64, visit_str: &str, visit_bytes: &[u8]);

            fn visit_unit<E>(self) -> Result<Node, E> {
                Ok(Node::Scalar)
            }

            fn visit_none<E>(self) -> Result<Node, E> {
                Ok(Node::Scalar)
            }

            fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
                Node::deserialize(d)
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<S<Node>>()? {
                    items.push(item);
                }
                Ok(Node::Seq(items))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<S<KeyText>>()? {
                    let value = map.next_value::<S<Node>>()?;
                    let key = S {
                        value: key.value.0,
                        referenced: key.referenced,
                        defined: key.defined,
                    };
                    entries.push((key, value));
                }
                Ok(Node::Map(entries))
            }
        }

        d.deserialize_any(V)
    }
}

/// A mapping key as text, whatever scalar it is (`1:` or `true:` as well as `name:`).
struct KeyText(String);

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Visitor;
        use std::fmt;

        struct V;

        impl Visitor<'_> for V {
            type Value = KeyText;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key")
            }

            fn visit_str<E>(self, v: &str) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }

            fn visit_bool<E>(self, v: bool) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }

            fn visit_i64<E>(self, v: i64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }

            fn visit_u64<E>(self, v: u64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }

            fn visit_f64<E>(self, v: f64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }

            fn visit_unit<E>(self) -> Result<KeyText, E> {
                Ok(KeyText("~".to_string()))
            }
        }

        d.deserialize_any(V)
    }
}
