//! Typed resource models: a struct per resource whose fields are its attributes, read from and
//! written to [`Value`]s with serde, and whose schema is declared beside the fields.
//!
//! [`model!`](crate::model) declares the struct, derives serde for it and implements [`Model`]:
//! each field's doc comment is the attribute's description, its Rust type gives the Terraform
//! type ([`TfType`]), and `#[tf(...)]` lists the schema builder calls (`required`, `computed`,
//! `requires_replace`, `default = …`, `validate = …`). An attribute name is written once.

use std::collections::BTreeMap;

use crate::schema::{Attribute, AttributeKind, Nesting};
use crate::value::{Maybe, Type};

/// A struct whose fields are the attributes of a schema (or of a nested object).
pub trait Model {
    /// The attributes, in declaration order, with their descriptions and behaviours.
    fn attributes() -> Vec<Attribute>;
}

/// A Rust type with a Terraform type.
pub trait TfType {
    fn tf_type() -> Type;

    /// The attribute holding a value of this type.
    fn attribute(name: &str) -> Attribute {
        Attribute::typed(name, Self::tf_type())
    }

    /// The attributes a `#[tf(flatten)]` field of this type contributes: a model's own; nothing
    /// for other types (a schema test then finds the attributes missing).
    fn flattened() -> Vec<Attribute> {
        Vec::new()
    }
}

/// The schema of one model field, built by the calls its `#[tf(...)]` lists: the builder
/// methods of [`Attribute`], and `flatten` for a model whose attributes are spliced in (with
/// `#[serde(flatten)]` on the field).
pub enum Field {
    /// One attribute, and the attributes flattening would splice in instead.
    Single(Attribute, fn() -> Vec<Attribute>),
    /// A flattened model's attributes; builder calls leave them as the model declared them.
    Group(Vec<Attribute>),
}

impl Field {
    pub fn new<T: TfType>(name: &str, doc: &[&str]) -> Field {
        Field::Single(T::attribute(name).describe(&doc_text(doc)), T::flattened)
    }

    fn map(self, f: impl FnOnce(Attribute) -> Attribute) -> Field {
        match self {
            Field::Single(a, flattened) => Field::Single(f(a), flattened),
            group => group,
        }
    }

    pub fn required(self) -> Field {
        self.map(Attribute::required)
    }
    pub fn computed(self) -> Field {
        self.map(Attribute::computed)
    }
    pub fn optional_computed(self) -> Field {
        self.map(Attribute::optional_computed)
    }
    pub fn sensitive(self) -> Field {
        self.map(Attribute::sensitive)
    }
    pub fn requires_replace(self) -> Field {
        self.map(Attribute::requires_replace)
    }
    pub fn default(self, value: impl Into<crate::Value>) -> Field {
        self.map(|a| a.default(value))
    }
    pub fn describe(self, text: &str) -> Field {
        self.map(|a| a.describe(text))
    }
    pub fn validate(
        self,
        check: impl Fn(&crate::Value) -> Result<(), String> + Send + Sync + 'static,
    ) -> Field {
        self.map(|a| a.validate(check))
    }
    /// Declares the field's model, whose attributes must all be strings, to Terraform as a
    /// `map(string)` so that a misspelt key is refused instead of dropped ([`Nesting::Keyed`]).
    pub fn keyed(self) -> Field {
        self.map(|mut a| {
            if let AttributeKind::Nested(Nesting::Single, inner) = a.kind {
                assert!(
                    inner.iter().all(
                        |i| matches!(i.kind, AttributeKind::Typed(Type::String)) && !i.computed
                    ),
                    "keyed attribute {}: every attribute of its model must be a plain string",
                    a.name
                );
                a.kind = AttributeKind::Nested(Nesting::Keyed, inner);
            }
            a
        })
    }
    /// Splices in the attributes of the field's model.
    pub fn flatten(self) -> Field {
        match self {
            Field::Single(_, flattened) => Field::Group(flattened()),
            group => group,
        }
    }

    pub fn into_attributes(self) -> Vec<Attribute> {
        match self {
            Field::Single(a, _) => vec![a],
            Field::Group(attributes) => attributes,
        }
    }
}

impl TfType for String {
    fn tf_type() -> Type {
        Type::String
    }
}

impl TfType for bool {
    fn tf_type() -> Type {
        Type::Bool
    }
}

impl TfType for i64 {
    fn tf_type() -> Type {
        Type::Number
    }
}

impl TfType for f64 {
    fn tf_type() -> Type {
        Type::Number
    }
}

impl<T: TfType> TfType for Vec<T> {
    fn tf_type() -> Type {
        Type::list(T::tf_type())
    }
}

impl<T: TfType> TfType for BTreeMap<String, T> {
    fn tf_type() -> Type {
        Type::map(T::tf_type())
    }
    /// A map of models is a map-nested attribute (`name = { key = { … } }`): each element's
    /// attributes keep their descriptions, optionality and validators, and Terraform fills an
    /// element's omitted optional attributes with null instead of refusing the object.
    fn attribute(name: &str) -> Attribute {
        let inner = T::flattened();
        if inner.is_empty() {
            Attribute::typed(name, Self::tf_type())
        } else {
            Attribute::nested(name, Nesting::Map, inner)
        }
    }
}

/// Null is a value of every type: `Option` and `Maybe` take their content's attribute.
impl<T: TfType> TfType for Option<T> {
    fn tf_type() -> Type {
        T::tf_type()
    }
    fn attribute(name: &str) -> Attribute {
        T::attribute(name)
    }
}

impl<T: TfType> TfType for Maybe<T> {
    fn tf_type() -> Type {
        T::tf_type()
    }
    fn attribute(name: &str) -> Attribute {
        T::attribute(name)
    }
}

/// The object type of a model's attributes.
pub fn object_type<M: Model>() -> Type {
    Type::Object(
        M::attributes()
            .iter()
            .map(|a| (a.name.clone(), a.ty()))
            .collect(),
    )
}

/// A model as a nested attribute (`name = { … }`).
pub fn nested<M: Model>(name: &str) -> Attribute {
    Attribute::nested(name, Nesting::Single, M::attributes())
}

/// The attribute name of a field: its identifier without `r#`.
pub const fn attribute_name(field: &'static str) -> &'static str {
    match field.as_bytes() {
        [b'r', b'#', ..] => field.split_at(2).1,
        _ => field,
    }
}

/// The description from a field's doc comment lines (each starts with a space).
pub fn doc_text(lines: &[&str]) -> String {
    lines
        .iter()
        .map(|l| l.trim())
        .collect::<Vec<_>>()
        .join(" ")
        .trim()
        .to_string()
}

/// Declares a model struct: serde derives, [`Model`] and [`TfType`] (a field of a model type is
/// a nested attribute; a list of them a list of objects).
///
/// ```ignore
/// tfplugin::model! {
///     pub(crate) struct Database {
///         /// Lower-case letters, digits and `_`.
///         #[tf(required, requires_replace, validate = validate_name)]
///         pub(crate) name: String,
///         /// The database's ARN.
///         #[tf(computed)]
///         pub(crate) arn: Maybe<String>,
///     }
/// }
/// ```
#[macro_export]
macro_rules! model {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $(
                $(#[doc = $doc:literal])*
                #[tf($($key:ident $(= $val:expr)?),* $(,)?)]
                $(#[serde($($serde:tt)*)])*
                $fvis:vis $field:ident : $ty:ty
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Default, ::serde::Deserialize, ::serde::Serialize)]
        #[serde(default)]
        $vis struct $name {
            $(
                $(#[doc = $doc])*
                $(#[serde($($serde)*)])*
                $fvis $field: $ty,
            )*
        }

        /// The attribute names, for code that works on raw values (plan modifications).
        #[allow(non_upper_case_globals, dead_code)]
        impl $name {
            $(
                $fvis const $field: &'static str =
                    $crate::model::attribute_name(stringify!($field));
            )*
        }

        impl $crate::model::Model for $name {
            fn attributes() -> ::std::vec::Vec<$crate::Attribute> {
                let mut attributes = ::std::vec::Vec::new();
                $(
                    attributes.extend(
                        $crate::model::Field::new::<$ty>($name::$field, &[$($doc),*])
                            $(.$key($($val)?))*
                            .into_attributes(),
                    );
                )*
                attributes
            }
        }

        impl $crate::model::TfType for $name {
            fn tf_type() -> $crate::Type {
                $crate::model::object_type::<$name>()
            }
            fn attribute(name: &str) -> $crate::Attribute {
                $crate::model::nested::<$name>(name)
            }
            fn flattened() -> ::std::vec::Vec<$crate::Attribute> {
                <$name as $crate::model::Model>::attributes()
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use crate::value::{Maybe, Type, Value, from_value, to_value};

    fn check_name(value: &Value) -> Result<(), String> {
        match value.as_str() {
            Some("bad") => Err("bad name".into()),
            _ => Ok(()),
        }
    }

    crate::model! {
        pub(crate) struct Logging {
            /// Where logs go.
            #[tf(required)]
            pub(crate) target_bucket: String,
        }
    }

    crate::model! {
        /// A test resource.
        pub(crate) struct Thing {
            /// The name,
            /// on two lines.
            #[tf(required, requires_replace, validate = check_name)]
            pub(crate) name: String,
            /// Whether to force.
            #[tf(default = false)]
            pub(crate) force: Maybe<bool>,
            /// Computed by the provider.
            #[tf(computed)]
            pub(crate) arn: Maybe<String>,
            /// Access logs.
            #[tf()]
            pub(crate) logging: Option<Logging>,
        }
    }

    #[test]
    fn the_schema_comes_from_the_fields() {
        use super::Model;
        let attributes = Thing::attributes();
        let names: Vec<&str> = attributes.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["name", "force", "arn", "logging"]);
        assert_eq!(Thing::arn, "arn");
        let name = &attributes[0];
        assert_eq!(name.description, "The name, on two lines.");
        assert!(name.required && name.requires_replace);
        assert_eq!(name.validators.len(), 1);
        assert!(attributes[1].optional && attributes[1].computed);
        assert_eq!(attributes[1].default, Some(Value::Bool(false)));
        assert!(attributes[2].computed && !attributes[2].optional);
        assert_eq!(
            attributes[3].ty(),
            Type::object([("target_bucket", Type::String)])
        );
        assert!(matches!(
            attributes[3].kind,
            crate::schema::AttributeKind::Nested(..)
        ));
    }

    crate::model! {
        pub(crate) struct Outer {
            /// Own attribute.
            #[tf(required)]
            pub(crate) id: String,
            #[tf(flatten)]
            #[serde(flatten)]
            pub(crate) logging: Logging,
        }
    }

    #[test]
    fn flattened_models_splice_their_attributes_in() {
        use super::Model;
        let names: Vec<String> = Outer::attributes().into_iter().map(|a| a.name).collect();
        assert_eq!(names, ["id", "target_bucket"]);
        let value = Value::object([
            ("id", Value::from("x")),
            ("target_bucket", Value::from("logs")),
        ]);
        let outer: Outer = from_value(&value).unwrap();
        assert_eq!(outer.logging.target_bucket, "logs");
        assert_eq!(to_value(&outer).unwrap(), value);
    }

    #[test]
    fn models_round_trip_through_values() {
        let value = Value::object([
            ("name", Value::from("a")),
            ("force", Value::Null),
            ("arn", Value::unknown()),
            (
                "logging",
                Value::object([("target_bucket", Value::from("logs"))]),
            ),
        ]);
        let thing: Thing = from_value(&value).unwrap();
        assert_eq!(thing.arn, Maybe::Unknown);
        assert_eq!(thing.logging.as_ref().unwrap().target_bucket, "logs");
        assert_eq!(to_value(&thing).unwrap(), value);
    }
}
