//! The document, and validation against its schemas.

use std::collections::BTreeSet;

use serde_json::{Value, json};

/// The document, and validation against its schemas.
pub(crate) struct Contract {
    pub(crate) doc: Value,
    /// The document's components with every object schema closed.
    pub(crate) components: Value,
}

impl Contract {
    pub(crate) fn new() -> Contract {
        let doc = serde_json::to_value(auth_gateway::api::openapi()).unwrap();
        let components = closed(&doc["components"]);
        Contract { doc, components }
    }

    /// A reference to component schema `name`.
    pub(crate) fn named(name: &str) -> Value {
        json!({ "$ref": format!("#/components/schemas/{name}") })
    }

    /// The JSON schema of the answer `status` of `method path`; panics when it is not documented.
    pub(crate) fn response(&self, path: &str, method: &str, status: u16) -> Value {
        let response = &self.doc["paths"][path][method]["responses"][status.to_string()];
        assert!(
            response.is_object(),
            "{method} {path} does not document {status}"
        );
        response["content"]["application/json"]["schema"].clone()
    }

    /// Every operation: path, method, operation object.
    pub(crate) fn operations(&self) -> Vec<(String, String, Value)> {
        let paths = self.doc["paths"].as_object().expect("paths");
        paths
            .iter()
            .flat_map(|(path, item)| {
                let item = item.as_object().expect("path item");
                item.iter()
                    .filter(|(method, _)| {
                        ["get", "put", "post", "delete"].contains(&method.as_str())
                    })
                    .map(|(method, operation)| (path.clone(), method.clone(), operation.clone()))
            })
            .collect()
    }

    /// Validates `instance` against `schema` (which may refer to the components), formats included.
    pub(crate) fn check(&self, schema: &Value, instance: &Value) -> Result<(), String> {
        let mut root = schema.clone();
        root["components"] = self.components.clone();
        let validator = jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(&root)
            .map_err(|err| format!("the schema does not compile: {err}"))?;
        let errors: Vec<String> = validator
            .iter_errors(instance)
            .map(|err| format!("{err} (at `{}`)", err.instance_path()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }

    pub(crate) fn assert_valid(&self, schema: &Value, instance: &Value) {
        if let Err(errors) = self.check(schema, instance) {
            panic!("{instance}\ndoes not match {schema}: {errors}");
        }
    }
}

/// `components` with every object schema closed: a property it does not name is an error, unless
/// it says what other properties may be. A schema that is a part of an `allOf` stays open; its
/// parent is closed over all its parts instead.
fn closed(components: &Value) -> Value {
    let mut components = components.clone();
    let mut parts = BTreeSet::new();
    all_of_parts(&components, &mut parts);
    if let Some(schemas) = components["schemas"].as_object_mut() {
        for (name, schema) in schemas.iter_mut() {
            close(schema, !parts.contains(name));
        }
    }
    components
}

fn all_of_parts(value: &Value, parts: &mut BTreeSet<String>) {
    match value {
        Value::Object(object) => {
            for member in object
                .get("allOf")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(name) = member["$ref"]
                    .as_str()
                    .and_then(|r| r.strip_prefix("#/components/schemas/"))
                {
                    parts.insert(name.to_string());
                }
            }
            object.values().for_each(|v| all_of_parts(v, parts));
        }
        Value::Array(items) => items.iter().for_each(|v| all_of_parts(v, parts)),
        _ => {}
    }
}

fn close(schema: &mut Value, here: bool) {
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    let names_properties = object.contains_key("properties") || object.contains_key("allOf");
    if here && names_properties && !object.contains_key("additionalProperties") {
        object.insert("unevaluatedProperties".into(), Value::Bool(false));
    }
    for (keyword, child) in object.iter_mut() {
        match (keyword.as_str(), child) {
            ("properties", Value::Object(properties)) => {
                properties.values_mut().for_each(|p| close(p, true));
            }
            ("items" | "additionalProperties", child) => close(child, true),
            ("oneOf" | "anyOf", Value::Array(members)) => {
                members.iter_mut().for_each(|m| close(m, true));
            }
            ("allOf", Value::Array(members)) => members.iter_mut().for_each(|m| close(m, false)),
            _ => {}
        }
    }
}
