//! Property tests of the cty codec: every value of every type survives msgpack round trips, and no
//! byte string makes the decoders panic.

use std::collections::BTreeMap;

use proptest::prelude::*;
use tfplugin::value::{self, Number, Type, Value};

fn arb_type() -> impl Strategy<Value = Type> {
    let leaf = prop_oneof![
        Just(Type::Bool),
        Just(Type::Number),
        Just(Type::String),
        Just(Type::Dynamic)
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(Type::list),
            inner.clone().prop_map(Type::set),
            inner.clone().prop_map(Type::map),
            prop::collection::btree_map("[a-z_]{1,8}", inner.clone(), 0..4).prop_map(Type::Object),
            prop::collection::vec(inner, 0..4).prop_map(Type::Tuple),
        ]
    })
}

fn arb_number() -> impl Strategy<Value = Number> {
    prop_oneof![
        any::<i64>().prop_map(Number::Int),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Number::Float),
        "-?[1-9][0-9]{18,40}(\\.[0-9]{1,20})?".prop_map(Number::Decimal),
    ]
}

/// A value of `ty`: null and unknown anywhere, otherwise a value of the right shape. Dynamic
/// attributes hold a string, as a typical dynamic value would.
fn arb_value(ty: Type) -> BoxedStrategy<Value> {
    let special = prop_oneof![Just(Value::Null), Just(Value::unknown())];
    let concrete: BoxedStrategy<Value> = match ty {
        Type::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        Type::Number => arb_number().prop_map(Value::Number).boxed(),
        Type::String => ".{0,40}".prop_map(Value::String).boxed(),
        Type::Dynamic => ".{0,10}"
            .prop_map(|s| Value::Dynamic(Type::String, Box::new(Value::String(s))))
            .boxed(),
        Type::List(t) | Type::Set(t) => prop::collection::vec(arb_value(*t), 0..4)
            .prop_map(Value::List)
            .boxed(),
        Type::Map(t) => prop::collection::btree_map(".{0,6}", arb_value(*t), 0..4)
            .prop_map(Value::Map)
            .boxed(),
        Type::Object(attrs) => {
            let fields: Vec<_> = attrs
                .into_iter()
                .map(|(k, t)| arb_value(t).prop_map(move |v| (k.clone(), v)))
                .collect();
            fields
                .prop_map(|pairs| Value::Map(pairs.into_iter().collect::<BTreeMap<_, _>>()))
                .boxed()
        }
        Type::Tuple(ts) => ts
            .into_iter()
            .map(arb_value)
            .collect::<Vec<_>>()
            .prop_map(Value::List)
            .boxed(),
    };
    prop_oneof![1 => special, 6 => concrete].boxed()
}

fn typed_value() -> impl Strategy<Value = (Type, Value)> {
    arb_type().prop_flat_map(|ty| arb_value(ty.clone()).prop_map(move |v| (ty.clone(), v)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn msgpack_round_trips((ty, value) in typed_value()) {
        let bytes = value::to_msgpack(&ty, &value).unwrap();
        let back = value::from_msgpack(&ty, &bytes).unwrap();
        prop_assert_eq!(&back, &value);
        // Encoding is stable: the decoded value encodes to the same bytes.
        prop_assert_eq!(value::to_msgpack(&ty, &back).unwrap(), bytes);
    }

    #[test]
    fn arbitrary_msgpack_never_panics(ty in arb_type(), bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = value::from_msgpack(&ty, &bytes);
    }

    #[test]
    fn arbitrary_json_never_panics(ty in arb_type(), text in ".{0,64}") {
        let _ = value::from_json(&ty, text.as_bytes());
    }
}
