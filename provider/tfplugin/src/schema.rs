//! Schemas: what a provider, resource or data source accepts, with the behaviour the framework
//! implements once for everyone (defaults, replacement, validation).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::diag::{AttributePath, Diagnostic, Diagnostics};
use crate::proto::tfplugin6 as pb;
use crate::value::{Type, Value};

/// Checks a known, non-null value; `Err` is the message for the user, which should say what is
/// expected (the framework adds the attribute path).
pub type Validator = Arc<dyn Fn(&Value) -> Result<(), String> + Send + Sync>;

/// How the attributes of a nested attribute are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nesting {
    Single,
    List,
    Set,
    Map,
    /// One object whose attributes are all strings, declared to Terraform as `map(string)`.
    /// Terraform converts an object written for a nested attribute to its declared type and so
    /// drops a misspelt key before the provider sees it (hashicorp/terraform#33570):
    /// `logging = { target_prefx = … }` would be accepted without a word. A map arrives whole,
    /// and validation refuses any key that is not one of the attributes.
    Keyed,
}

#[derive(Clone)]
pub struct Attribute {
    pub name: String,
    pub kind: AttributeKind,
    pub description: String,
    pub required: bool,
    pub optional: bool,
    pub computed: bool,
    pub sensitive: bool,
    /// A change to this attribute replaces the object instead of updating it.
    pub requires_replace: bool,
    /// Value planned when the configuration leaves the attribute out (makes it optional+computed).
    pub default: Option<Value>,
    pub validators: Vec<Validator>,
}

#[derive(Clone)]
pub enum AttributeKind {
    Typed(Type),
    Nested(Nesting, Vec<Attribute>),
}

impl Attribute {
    fn new(name: &str, kind: AttributeKind) -> Self {
        Attribute {
            name: name.to_string(),
            kind,
            description: String::new(),
            required: false,
            optional: true,
            computed: false,
            sensitive: false,
            requires_replace: false,
            default: None,
            validators: Vec::new(),
        }
    }

    pub fn typed(name: &str, ty: Type) -> Self {
        Attribute::new(name, AttributeKind::Typed(ty))
    }
    pub fn string(name: &str) -> Self {
        Attribute::typed(name, Type::String)
    }
    pub fn bool(name: &str) -> Self {
        Attribute::typed(name, Type::Bool)
    }
    pub fn number(name: &str) -> Self {
        Attribute::typed(name, Type::Number)
    }
    pub fn string_map(name: &str) -> Self {
        Attribute::typed(name, Type::map(Type::String))
    }
    pub fn string_list(name: &str) -> Self {
        Attribute::typed(name, Type::list(Type::String))
    }
    /// An attribute holding an object (or list/set/map of objects) with attributes of its own,
    /// written `name = { … }` in configuration.
    pub fn nested(name: &str, nesting: Nesting, attributes: Vec<Attribute>) -> Self {
        Attribute::new(name, AttributeKind::Nested(nesting, attributes))
    }

    pub fn required(mut self) -> Self {
        self.required = true;
        self.optional = false;
        self.computed = false;
        self
    }
    /// Set by the provider only.
    pub fn computed(mut self) -> Self {
        self.computed = true;
        self.optional = false;
        self.required = false;
        self
    }
    /// Set by the user, or by the provider when the user leaves it out.
    pub fn optional_computed(mut self) -> Self {
        self.computed = true;
        self.optional = true;
        self.required = false;
        self
    }
    pub fn default(mut self, value: impl Into<Value>) -> Self {
        self.default = Some(value.into());
        self.optional_computed()
    }
    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }
    pub fn requires_replace(mut self) -> Self {
        self.requires_replace = true;
        self
    }
    pub fn describe(mut self, text: &str) -> Self {
        self.description = text.to_string();
        self
    }
    pub fn validate(
        mut self,
        check: impl Fn(&Value) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        self.validators.push(Arc::new(check));
        self
    }

    pub fn ty(&self) -> Type {
        match &self.kind {
            AttributeKind::Typed(t) => t.clone(),
            AttributeKind::Nested(nesting, attrs) => {
                let object = object_type(attrs);
                match nesting {
                    Nesting::Single => object,
                    Nesting::List => Type::list(object),
                    Nesting::Set => Type::set(object),
                    Nesting::Map => Type::map(object),
                    Nesting::Keyed => Type::map(Type::String),
                }
            }
        }
    }

    fn to_proto(&self) -> pb::schema::Attribute {
        use pb::schema::object::NestingMode;
        let mode = |nesting: &Nesting| match nesting {
            Nesting::Single => Some(NestingMode::Single),
            Nesting::List => Some(NestingMode::List),
            Nesting::Set => Some(NestingMode::Set),
            Nesting::Map => Some(NestingMode::Map),
            // Declared as the plain type `map(string)`.
            Nesting::Keyed => None,
        };
        let (ty, nested_type) = match &self.kind {
            AttributeKind::Nested(nesting, attrs) if let Some(mode) = mode(nesting) => (
                Vec::new(),
                Some(pb::schema::Object {
                    attributes: attrs.iter().map(Attribute::to_proto).collect(),
                    nesting: mode as i32,
                    ..Default::default()
                }),
            ),
            _ => (self.ty().to_json_bytes(), None),
        };
        pb::schema::Attribute {
            name: self.name.clone(),
            r#type: ty,
            nested_type,
            description: self.description.clone(),
            required: self.required,
            optional: self.optional,
            computed: self.computed,
            sensitive: self.sensitive,
            ..Default::default()
        }
    }
}

fn object_type(attrs: &[Attribute]) -> Type {
    Type::Object(
        attrs
            .iter()
            .map(|a| (a.name.clone(), a.ty()))
            .collect::<BTreeMap<_, _>>(),
    )
}

/// The schema of a provider configuration, resource or data source.
#[derive(Clone)]
pub struct Schema {
    /// Bump when stored state needs upgrading (see `Resource::upgrade_state`).
    pub version: i64,
    pub description: String,
    pub attributes: Vec<Attribute>,
}

impl Schema {
    pub fn new(description: &str, attributes: Vec<Attribute>) -> Self {
        Schema {
            version: 0,
            description: description.to_string(),
            attributes,
        }
    }

    pub fn with_version(mut self, version: i64) -> Self {
        self.version = version;
        self
    }

    /// The object type values of this schema decode to.
    pub fn ty(&self) -> Type {
        object_type(&self.attributes)
    }

    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    pub fn to_proto(&self) -> pb::Schema {
        pb::Schema {
            version: self.version,
            block: Some(pb::schema::Block {
                version: self.version,
                attributes: self.attributes.iter().map(Attribute::to_proto).collect(),
                description: self.description.clone(),
                description_kind: pb::StringKind::Markdown as i32,
                ..Default::default()
            }),
        }
    }

    /// Runs every attribute's validators over a configuration; unknown and null values are
    /// skipped (they are checked again once known).
    pub fn validate(&self, config: &Value) -> Diagnostics {
        let mut diags = Diagnostics::new();
        validate_attributes(
            &self.attributes,
            config,
            &AttributePath::default(),
            &mut diags,
        );
        diags
    }
}

fn validate_attributes(
    attrs: &[Attribute],
    object: &Value,
    at: &AttributePath,
    diags: &mut Diagnostics,
) {
    for attr in attrs {
        let value = object.get(&attr.name);
        let path = at.clone().attribute(&attr.name);
        // Terraform passes a value set for a computed-only attribute on without a word; the
        // provider would then overwrite it.
        if attr.computed && !attr.optional && !value.is_null() {
            diags.push(
                Diagnostic::error(
                    format!("{path} cannot be set"),
                    format!(
                        "{} is read-only: the provider computes it. Remove it from the configuration.",
                        attr.name
                    ),
                )
                .at(path.clone()),
            );
            continue;
        }
        // Terraform reports a required attribute left out, but not one set to null (a
        // variable left unset): the provider must.
        if attr.required && value.is_null() {
            diags.push(
                Diagnostic::error(
                    format!("Missing value for {path}"),
                    format!(
                        "{} is required but null here (a variable left unset?); give it a value.",
                        attr.name
                    ),
                )
                .at(path.clone()),
            );
            continue;
        }
        if value.is_null() || value.is_unknown() {
            continue;
        }
        if let AttributeKind::Typed(Type::List(_) | Type::Set(_) | Type::Map(_)) = &attr.kind
            && let Some(place) = null_element(value)
        {
            diags.push(
                Diagnostic::error(
                    format!("Null element in {path}"),
                    format!(
                        "{} holds null at {place} (a variable left unset?); remove it or give it a value.",
                        attr.name
                    ),
                )
                .at(path.clone()),
            );
            continue;
        }
        for check in &attr.validators {
            if let Err(message) = check(value) {
                diags.push(
                    Diagnostic::error(format!("Invalid value for {path}"), message)
                        .at(path.clone()),
                );
            }
        }
        if let AttributeKind::Nested(nesting, inner) = &attr.kind {
            match (nesting, value) {
                (Nesting::Single, _) => validate_attributes(inner, value, &path, diags),
                (Nesting::Keyed, Value::Map(entries)) => {
                    let names: Vec<&str> = inner.iter().map(|a| a.name.as_str()).collect();
                    for key in entries.keys().filter(|k| !names.contains(&k.as_str())) {
                        diags.push(
                            Diagnostic::error(
                                format!("Unsupported key {key:?} in {path}"),
                                format!(
                                    "{} takes the keys {}; check the spelling.",
                                    attr.name,
                                    validators::quoted_list(&names)
                                ),
                            )
                            .at(path.clone().key(key)),
                        );
                    }
                    validate_attributes(inner, value, &path, diags);
                }
                (Nesting::List | Nesting::Set, Value::List(items)) => {
                    for (i, item) in items.iter().enumerate() {
                        validate_attributes(inner, item, &path.clone().index(i as i64), diags);
                    }
                }
                (Nesting::Map, Value::Map(items)) => {
                    for (k, item) in items {
                        validate_attributes(inner, item, &path.clone().key(k), diags);
                    }
                }
                _ => {}
            }
        }
    }
}

/// Where a collection holds null: `element 1`, `key "id"`.
fn null_element(collection: &Value) -> Option<String> {
    match collection {
        Value::List(items) => items
            .iter()
            .position(Value::is_null)
            .map(|i| format!("element {i}")),
        Value::Map(entries) => entries
            .iter()
            .find(|(_, v)| v.is_null())
            .map(|(k, _)| format!("key {k:?}")),
        _ => None,
    }
}

/// Ready-made validators. Each message says what is expected.
pub mod validators {
    use super::Value;

    /// One of a fixed set of strings.
    pub fn one_of(
        allowed: &'static [&'static str],
    ) -> impl Fn(&Value) -> Result<(), String> + Send + Sync {
        move |v| match v.as_str() {
            Some(s) if allowed.contains(&s) => Ok(()),
            Some(s) => Err(format!("{s:?} is not one of {}.", quoted_list(allowed))),
            None => Ok(()),
        }
    }

    /// Every element of a list is one of a fixed set of strings.
    pub fn each_one_of(
        allowed: &'static [&'static str],
    ) -> impl Fn(&Value) -> Result<(), String> + Send + Sync {
        let check = one_of(allowed);
        move |v| v.as_list().unwrap_or(&[]).iter().try_for_each(&check)
    }

    /// A validator of every element of a list; the message names the element.
    pub fn each(
        check: impl Fn(&Value) -> Result<(), String> + Send + Sync + 'static,
    ) -> impl Fn(&Value) -> Result<(), String> + Send + Sync + 'static {
        move |list| {
            for (i, item) in list.as_list().unwrap_or(&[]).iter().enumerate() {
                if !item.is_null() && !item.is_unknown() {
                    check(item).map_err(|e| format!("element {i}: {e}"))?;
                }
            }
            Ok(())
        }
    }

    /// A URL with one of the given schemes and a host, e.g. `http://127.0.0.1:4566`.
    pub fn url(
        schemes: &'static [&'static str],
    ) -> impl Fn(&Value) -> Result<(), String> + Send + Sync {
        move |v| {
            let Some(s) = v.as_str() else { return Ok(()) };
            let valid = s.split_once("://").is_some_and(|(scheme, rest)| {
                schemes.contains(&scheme)
                    && !rest.is_empty()
                    && !rest.starts_with('/')
                    && !rest.contains(char::is_whitespace)
            });
            if valid {
                Ok(())
            } else {
                Err(format!(
                    "{s:?} is not a URL; write it as {}://host[:port][/path].",
                    schemes.join("|")
                ))
            }
        }
    }

    pub fn quoted_list(items: &[&str]) -> String {
        items
            .iter()
            .map(|s| format!("{s:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> Schema {
        Schema::new(
            "test",
            vec![
                Attribute::string("sql").required(),
                Attribute::string_list("keys"),
                Attribute::string_map("types"),
                Attribute::string("id").computed(),
            ],
        )
    }

    fn paths(diags: &Diagnostics) -> Vec<String> {
        diags
            .0
            .iter()
            .map(|d| d.path.as_ref().map(ToString::to_string).unwrap_or_default())
            .collect()
    }

    #[test]
    fn a_null_required_value_is_refused_at_its_attribute() {
        let config = Value::object([("sql", Value::Null)]);
        assert_eq!(paths(&schema().validate(&config)), ["sql"]);
        let unknown = Value::object([("sql", Value::unknown())]);
        assert!(schema().validate(&unknown).is_empty());
    }

    #[test]
    fn computed_only_attributes_cannot_be_set() {
        let config = Value::object([("sql", Value::from("x")), ("id", Value::from("mine"))]);
        assert_eq!(paths(&schema().validate(&config)), ["id"]);
        let unset = Value::object([("sql", Value::from("x")), ("id", Value::Null)]);
        assert!(schema().validate(&unset).is_empty());
    }

    fn keyed() -> Schema {
        let inner = vec![
            Attribute::string("target_bucket").required(),
            Attribute::string("target_prefix"),
        ];
        Schema::new(
            "test",
            vec![Attribute::nested("logging", Nesting::Keyed, inner)],
        )
    }

    #[test]
    fn a_keyed_object_is_a_string_map_that_refuses_unknown_keys() {
        assert_eq!(
            keyed().attribute("logging").unwrap().ty(),
            Type::map(Type::String)
        );
        let logging = |entries: &[(&str, &str)]| {
            Value::object([(
                "logging",
                Value::Map(
                    entries
                        .iter()
                        .map(|(k, v)| (k.to_string(), Value::from(*v)))
                        .collect(),
                ),
            )])
        };
        let good = logging(&[("target_bucket", "logs"), ("target_prefix", "raw/")]);
        assert!(keyed().validate(&good).is_empty());
        let typo = keyed().validate(&logging(&[
            ("target_bucket", "logs"),
            ("target_prefx", "raw/"),
        ]));
        assert_eq!(paths(&typo), [r#"logging["target_prefx"]"#], "{typo}");
        assert!(typo.0[0].detail.contains("\"target_prefix\""), "{typo}");
        let missing = keyed().validate(&logging(&[("target_prefix", "raw/")]));
        assert_eq!(paths(&missing), ["logging.target_bucket"], "{missing}");
    }

    #[test]
    fn null_elements_of_collections_are_refused() {
        let config = Value::object([
            ("sql", Value::from("select 1")),
            ("keys", Value::List(vec![Value::from("a"), Value::Null])),
            (
                "types",
                Value::Map([("id".to_string(), Value::Null)].into_iter().collect()),
            ),
        ]);
        let diags = schema().validate(&config);
        assert_eq!(paths(&diags), ["keys", "types"], "{diags}");
        assert!(diags.0[0].detail.contains("element 1"), "{diags}");
    }
}
