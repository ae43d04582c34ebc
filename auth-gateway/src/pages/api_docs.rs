//! `/api/docs`: the API reference, rendered on the server from the same OpenAPI document that
//! `/api/openapi.json` serves (operations grouped by tag, their parameters, bodies and answers,
//! then every schema), so it cannot fall behind the API. Plain HTML, no script, nothing loaded
//! from elsewhere; built once.

use std::sync::LazyLock;

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

/// A piece of a schema's one-line description: text, or a link to a named schema.
enum Piece {
    Text(String),
    Link(String),
}

struct Param {
    name: String,
    location: String,
    required: bool,
    schema: Vec<Piece>,
    description: String,
}

struct Answer {
    status: String,
    description: String,
    schema: Vec<Piece>,
}

struct Operation {
    anchor: String,
    method: String,
    path: String,
    summary: String,
    description: String,
    security: Vec<String>,
    params: Vec<Param>,
    body: Option<(bool, Vec<Piece>, String)>,
    answers: Vec<Answer>,
}

struct Tag {
    name: String,
    description: String,
    operations: Vec<Operation>,
}

struct Field {
    name: String,
    required: bool,
    schema: Vec<Piece>,
    description: String,
}

struct Schema {
    name: String,
    description: String,
    shape: Vec<Piece>,
    fields: Vec<Field>,
}

#[derive(Template)]
#[template(path = "api_docs.html")]
struct Reference {
    title: String,
    version: String,
    description: String,
    tags: Vec<Tag>,
    schemas: Vec<Schema>,
    closing_in: Option<i64>,
}

/// The page, rendered once from the document.
static PAGE: LazyLock<Reference> =
    LazyLock::new(|| reference(&serde_json::to_value(crate::api::openapi()).unwrap_or_default()));

/// `GET /api/docs`.
pub async fn page() -> Response {
    crate::web::page::render(&*PAGE, StatusCode::OK)
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_string()
}

fn reference(doc: &Value) -> Reference {
    let mut tags: Vec<Tag> = doc["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|tag| Tag {
            name: text(&tag["name"]),
            description: text(&tag["description"]),
            operations: Vec::new(),
        })
        .collect();
    let methods = ["get", "put", "post", "delete", "patch"];
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for method in methods {
            let Some(op) = item.get(method) else { continue };
            let tag = op["tags"][0].as_str().unwrap_or("other").to_string();
            let operation = operation(path, method, op);
            match tags.iter_mut().find(|t| t.name == tag) {
                Some(found) => found.operations.push(operation),
                None => tags.push(Tag {
                    name: tag,
                    description: String::new(),
                    operations: vec![operation],
                }),
            }
        }
    }
    let schemas = doc["components"]["schemas"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, schema)| Schema {
            name: name.clone(),
            description: text(&schema["description"]),
            shape: shape(schema),
            fields: fields(schema),
        })
        .collect();
    Reference {
        title: text(&doc["info"]["title"]),
        version: text(&doc["info"]["version"]),
        description: text(&doc["info"]["description"]),
        tags,
        schemas,
        closing_in: None,
    }
}

fn operation(path: &str, method: &str, op: &Value) -> Operation {
    let params = op["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| Param {
            name: text(&p["name"]),
            location: text(&p["in"]),
            required: p["required"].as_bool().unwrap_or(false),
            schema: shape(&p["schema"]),
            description: text(&p["description"]),
        })
        .collect();
    let body = op["requestBody"].as_object().map(|body| {
        let schema = &body["content"]["application/json"]["schema"];
        (
            body.get("required")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            shape(schema),
            body.get("description").map(text).unwrap_or_default(),
        )
    });
    let answers = op["responses"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(status, answer)| {
            let content = answer["content"].as_object();
            let schema = content
                .and_then(|c| c.values().next())
                .map(|media| shape(&media["schema"]))
                .unwrap_or_default();
            Answer {
                status: status.clone(),
                description: text(&answer["description"]),
                schema,
            }
        })
        .collect();
    let security = op["security"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|alternative| alternative.as_object().into_iter().flatten())
        .map(
            |(scheme, roles)| match roles.as_array().filter(|r| !r.is_empty()) {
                Some(roles) => format!(
                    "{scheme} ({})",
                    roles.iter().map(text).collect::<Vec<_>>().join(", ")
                ),
                None => scheme.clone(),
            },
        )
        .collect();
    Operation {
        anchor: text(&op["operationId"]),
        method: method.to_uppercase(),
        path: path.to_string(),
        summary: text(&op["summary"]),
        description: text(&op["description"]),
        security,
        params,
        body,
        answers,
    }
}

/// The properties of an object schema, with what each must be.
fn fields(schema: &Value) -> Vec<Field> {
    let required: Vec<&str> = schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    schema["properties"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, property)| Field {
            name: name.clone(),
            required: required.contains(&name.as_str()),
            schema: shape(property),
            description: text(&property["description"]),
        })
        .collect()
}

/// A schema in one line: its type, its constraints, links to the schemas it names.
fn shape(schema: &Value) -> Vec<Piece> {
    let mut pieces = Vec::new();
    describe(schema, &mut pieces);
    pieces
}

fn push(pieces: &mut Vec<Piece>, text: impl Into<String>) {
    pieces.push(Piece::Text(text.into()));
}

fn describe(schema: &Value, pieces: &mut Vec<Piece>) {
    if let Some(target) = schema["$ref"].as_str() {
        let name = target.rsplit('/').next().unwrap_or(target);
        pieces.push(Piece::Link(name.to_string()));
        return;
    }
    for (keyword, joiner) in [("oneOf", " or "), ("anyOf", " or "), ("allOf", " and ")] {
        if let Some(members) = schema[keyword].as_array() {
            for (i, member) in members.iter().enumerate() {
                if i > 0 {
                    push(pieces, joiner);
                }
                describe(member, pieces);
            }
            return;
        }
    }
    let types: Vec<String> = match &schema["type"] {
        Value::String(one) => vec![one.clone()],
        Value::Array(many) => many.iter().map(text).collect(),
        _ if schema.get("properties").is_some() => vec!["object".into()],
        _ => vec![],
    };
    push(
        pieces,
        if types.is_empty() {
            "any".to_string()
        } else {
            types.join(" or ")
        },
    );
    if let Some(items) = schema.get("items") {
        push(pieces, " of ");
        describe(items, pieces);
    }
    if let Some(values) = schema.get("additionalProperties").filter(|v| v.is_object()) {
        push(pieces, " of ");
        describe(values, pieces);
    }
    let mut rules = Vec::new();
    if let Some(values) = schema["enum"].as_array() {
        let values: Vec<String> = values.iter().map(Value::to_string).collect();
        rules.push(format!("one of {}", values.join(", ")));
    }
    for (keyword, label) in [
        ("format", "format"),
        ("minLength", "min length"),
        ("maxLength", "max length"),
        ("minimum", "≥"),
        ("maximum", "≤"),
        ("exclusiveMinimum", ">"),
        ("exclusiveMaximum", "<"),
        ("minItems", "min items"),
        ("maxItems", "max items"),
        ("pattern", "pattern"),
    ] {
        match &schema[keyword] {
            Value::Null => {}
            Value::String(value) => rules.push(format!("{label} {value}")),
            other => rules.push(format!("{label} {other}")),
        }
    }
    if schema["uniqueItems"] == Value::Bool(true) {
        rules.push("unique".into());
    }
    if !rules.is_empty() {
        push(pieces, format!(" ({})", rules.join("; ")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(schema: Value) -> String {
        shape(&schema)
            .into_iter()
            .map(|piece| match piece {
                Piece::Text(text) => text,
                Piece::Link(name) => format!("[{name}]"),
            })
            .collect()
    }

    #[test]
    fn schemas_read_as_one_line_with_their_constraints() {
        assert_eq!(
            line(serde_json::json!({ "type": "string", "minLength": 1, "maxLength": 500 })),
            "string (min length 1; max length 500)"
        );
        assert_eq!(
            line(
                serde_json::json!({ "type": "array", "items": { "$ref": "#/components/schemas/User" } })
            ),
            "array of [User]"
        );
        assert_eq!(
            line(serde_json::json!({ "oneOf": [{ "type": "null" }, { "$ref": "#/x/Hours" }] })),
            "null or [Hours]"
        );
    }

    #[test]
    fn every_operation_of_the_document_is_on_the_page() {
        let doc = serde_json::to_value(crate::api::openapi()).unwrap();
        let html = PAGE.render().unwrap();
        for (path, method, id) in
            doc["paths"]
                .as_object()
                .unwrap()
                .iter()
                .flat_map(|(path, item)| {
                    item.as_object().unwrap().iter().map(move |(method, op)| {
                        (
                            path.clone(),
                            method.to_uppercase(),
                            text(&op["operationId"]),
                        )
                    })
                })
        {
            assert!(html.contains(&format!("id=\"op-{id}\"")), "{method} {path}");
        }
        assert!(html.contains("id=\"schema-Failure\""));
        assert!(!html.contains("<script"));
    }
}
