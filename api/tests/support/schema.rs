//! Checks a JSON value against a schema of the OpenAPI document: enough of
//! JSON Schema for what utoipa writes (`$ref`, `oneOf`, `allOf`, `type`,
//! `enum`, `required`, `properties`), with objects closed: a property the
//! schema does not name is an error, so nothing undocumented is sent.

use serde_json::Value;

/// Checks `value` against component `name` of `document`.
pub fn check(value: &Value, name: &str, document: &Value) -> Result<(), String> {
    let schema = component(document, name)?;
    matches(value, schema, document)
}

fn component<'d>(document: &'d Value, name: &str) -> Result<&'d Value, String> {
    document["components"]["schemas"]
        .get(name)
        .ok_or_else(|| format!("the document has no schema {name}"))
}

fn resolve<'d>(schema: &'d Value, document: &'d Value) -> Result<&'d Value, String> {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let name = reference
                .strip_prefix("#/components/schemas/")
                .ok_or_else(|| format!("unsupported $ref {reference}"))?;
            resolve(component(document, name)?, document)
        }
        None => Ok(schema),
    }
}

fn matches(value: &Value, schema: &Value, document: &Value) -> Result<(), String> {
    let schema = resolve(schema, document)?;
    if let Some(options) = schema.get("oneOf").and_then(Value::as_array) {
        let failures: Vec<String> = options
            .iter()
            .filter_map(|option| matches(value, option, document).err())
            .collect();
        return match options.len() - failures.len() {
            1 => Ok(()),
            0 => Err(format!("matches none of oneOf: {}", failures.join("; "))),
            n => Err(format!("matches {n} of oneOf")),
        };
    }
    if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
        let mut named = Vec::new();
        for part in parts {
            let part = resolve(part, document)?;
            fits(value, part, document)?;
            named.extend(property_names(part));
        }
        return closed(value, &named);
    }
    fits(value, schema, document)?;
    closed(value, &property_names(schema))
}

/// `value` fits `schema`'s own type, enum, required and properties (extra
/// properties allowed: `matches` checks those).
fn fits(value: &Value, schema: &Value, document: &Value) -> Result<(), String> {
    if let Some(types) = schema.get("type") {
        let types: Vec<&str> = match types {
            Value::String(one) => vec![one.as_str()],
            Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
            _ => return Err(format!("unsupported type {types}")),
        };
        if !types.iter().any(|kind| is(value, kind)) {
            return Err(format!("{value} is not of type {types:?}"));
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        return Err(format!("{value} is not one of {allowed:?}"));
    }
    let Some(object) = value.as_object() else {
        return Ok(());
    };
    for required in schema["required"].as_array().into_iter().flatten() {
        let field = required.as_str().unwrap_or_default();
        if !object.contains_key(field) {
            return Err(format!("{field} is missing"));
        }
    }
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        for (field, property) in properties {
            if let Some(inner) = object.get(field) {
                matches(inner, property, document).map_err(|error| format!("{field}: {error}"))?;
            }
        }
    }
    Ok(())
}

fn property_names(schema: &Value) -> Vec<String> {
    schema["properties"]
        .as_object()
        .map(|properties| properties.keys().cloned().collect())
        .unwrap_or_default()
}

fn closed(value: &Value, named: &[String]) -> Result<(), String> {
    match value.as_object() {
        Some(object) if !named.is_empty() => match object.keys().find(|key| !named.contains(key)) {
            Some(extra) => Err(format!("{extra} is not in the schema")),
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

fn is(value: &Value, kind: &str) -> bool {
    match kind {
        "null" => value.is_null(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        _ => false,
    }
}
