//! The configuration loader, `auth_core::config::from_toml`, on any text and on the built-in
//! defaults with keys set to other values (of any type, or a sibling's), removed, or added.
//!
//! Checks: it returns, never panics; a refusal names a key; an accepted configuration passes
//! `Config::validate` again (what `load` checked once still holds).
#![no_main]

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use auth_core::config::{DEFAULT_TOML, from_toml};
use libfuzzer_sys::fuzz_target;
use toml::{Table, Value};

#[derive(Debug, Arbitrary)]
enum Input {
    Raw(String),
    Edited(Vec<Edit>),
}

#[derive(Debug, Arbitrary)]
enum Edit {
    /// Sets a key of the defaults (by index) to a value.
    Set(u16, Setting),
    /// Removes a key of the defaults.
    Remove(u16),
    /// Adds a key under a section of the defaults.
    Add(u16, String, Setting),
}

#[derive(Debug, Arbitrary)]
enum Setting {
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(String),
    /// A value of the kind some key expects: an address, a URL, a time, a zone, a CIDR, ...
    Known(u8),
    List(Vec<String>),
    /// The default value of another key.
    Borrow(u16),
}

const KNOWN: &[&str] = &[
    "127.0.0.1:8080",
    "[::1]:0",
    "0.0.0.0:99999",
    "http://127.0.0.1:8080",
    "https://a.example/x",
    "ftp://x",
    "localhost",
    "a..b",
    "09:00",
    "17:00",
    "24:00",
    "23:59:60",
    "Europe/Paris",
    "Mars/Olympus",
    "UTC",
    "2026-02-30",
    "mon",
    "sunday",
    "10.0.0.0/8",
    "::/0",
    "300.1.1.1",
    "postgres://u@h:5432/db",
    "redis://127.0.0.1:6379",
    "smtp://127.0.0.1:25",
    "embedded",
    "postgres",
    "Auth <no-reply@example.com>",
    "not a mailbox",
    "/service-b",
    "/a/",
    "",
];

/// Every key of the defaults, as a path of table keys and array indexes.
#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(usize),
}

fn defaults() -> &'static (Table, Vec<Vec<Step>>) {
    static DEFAULTS: OnceLock<(Table, Vec<Vec<Step>>)> = OnceLock::new();
    DEFAULTS.get_or_init(|| {
        let table: Table = DEFAULT_TOML
            .parse()
            .expect("the built-in defaults are TOML");
        let mut paths = Vec::new();
        collect(&Value::Table(table.clone()), &mut Vec::new(), &mut paths);
        (table, paths)
    })
}

fn collect(value: &Value, path: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    if !path.is_empty() {
        out.push(path.clone());
    }
    match value {
        Value::Table(table) => {
            for (key, child) in table {
                path.push(Step::Key(key.clone()));
                collect(child, path, out);
                path.pop();
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                path.push(Step::Index(i));
                collect(child, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

fn at<'a>(root: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    path.iter()
        .try_fold(root, |value, step| match (step, value) {
            (Step::Key(key), Value::Table(table)) => table.get_mut(key),
            (Step::Index(i), Value::Array(items)) => items.get_mut(*i),
            _ => None,
        })
}

fn value(setting: &Setting, root: &Value, paths: &[Vec<Step>]) -> Value {
    match setting {
        Setting::Int(n) => Value::Integer(*n),
        Setting::Float(f) => Value::Float(*f),
        Setting::Bool(b) => Value::Boolean(*b),
        Setting::Text(text) => Value::String(text.clone()),
        Setting::Known(i) => Value::String(KNOWN[usize::from(*i) % KNOWN.len()].into()),
        Setting::List(items) => Value::Array(items.iter().cloned().map(Value::String).collect()),
        Setting::Borrow(i) => {
            let mut root = root.clone();
            let path = &paths[usize::from(*i) % paths.len()];
            at(&mut root, path).map_or(Value::Integer(0), |v| v.clone())
        }
    }
}

/// The defaults with `edits` made, as TOML text.
fn edited(edits: &[Edit]) -> Option<String> {
    let (table, paths) = defaults();
    let pristine = Value::Table(table.clone());
    let mut root = pristine.clone();
    for edit in edits {
        match edit {
            Edit::Set(i, setting) => {
                let new = value(setting, &pristine, paths);
                if let Some(slot) = at(&mut root, &paths[usize::from(*i) % paths.len()]) {
                    *slot = new;
                }
            }
            Edit::Remove(i) => {
                let path = &paths[usize::from(*i) % paths.len()];
                let (last, parent) = path.split_last()?;
                match (last, at(&mut root, parent)) {
                    (Step::Key(key), Some(Value::Table(table))) => {
                        table.remove(key);
                    }
                    (Step::Index(i), Some(Value::Array(items))) if *i < items.len() => {
                        items.remove(*i);
                    }
                    _ => {}
                }
            }
            Edit::Add(i, key, setting) => {
                let new = value(setting, &pristine, paths);
                if let Some(Value::Table(table)) =
                    at(&mut root, &paths[usize::from(*i) % paths.len()])
                {
                    table.insert(key.clone(), new);
                }
            }
        }
    }
    toml::to_string(&root).ok()
}

fn load(input: Input) {
    let text = match &input {
        Input::Raw(text) => text.clone(),
        Input::Edited(edits) => match edited(edits) {
            Some(text) => text,
            None => return,
        },
    };
    match from_toml(&text) {
        Ok(config) => {
            if let Err(err) = config.validate() {
                panic!("accepted, then refused by validate: {err}");
            }
        }
        Err(err) => assert!(!err.key.is_empty(), "a refusal that names no key: {err}"),
    }
}

fuzz_target!(|input: Input| load(input));
