//! The variables a template sees: layers of raw values, highest last,
//! rendered lazily when a template reads them (like Ansible's lazy vars).

use std::sync::{Arc, Mutex, PoisonError};

use minijinja::value::{Enumerator, Object};
use minijinja::{Environment, Error, ErrorKind, Value};
use rustle_format::Vars;
use serde_json::Value as Json;

use super::convert::to_value;
use super::render::{has_template, render_json};

#[derive(Debug)]
pub struct Scope {
    env: Arc<Environment<'static>>,
    /// Lowest precedence first.
    layers: Vec<Arc<Vars>>,
    /// Other hosts' variables, by inventory name, for `hostvars`.
    others: Arc<Vars>,
    /// This host's own variables as `hostvars` shows them (inventory,
    /// facts, registered and set ones, extra and magic variables: not the
    /// play's, a role's or a task's); all of `layers` when not given.
    own: Option<Arc<Scope>>,
    /// Variables being rendered right now, to catch self references.
    resolving: Mutex<Vec<String>>,
}

impl Scope {
    pub fn new(env: Arc<Environment<'static>>, layers: Vec<Arc<Vars>>, others: Arc<Vars>) -> Scope {
        Scope {
            env,
            layers,
            others,
            own: None,
            resolving: Mutex::new(Vec::new()),
        }
    }

    /// This scope, with `hostvars` of this host showing only `own` layers.
    pub fn with_own(mut self, own: Vec<Arc<Vars>>) -> Scope {
        let others = self.others.clone();
        self.own = Some(Arc::new(Scope::new(self.env.clone(), own, others)));
        self
    }

    /// The raw value of `name` from the highest layer that has it.
    pub fn raw(&self, name: &str) -> Option<&Json> {
        self.layers.iter().rev().find_map(|layer| layer.get(name))
    }

    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for layer in &self.layers {
            for name in layer.keys() {
                if !names.contains(name) {
                    names.push(name.clone());
                }
            }
        }
        names
    }

    fn resolve(self: &Arc<Self>, name: &str, raw: &Json) -> Value {
        if !has_template(raw) {
            return to_value(raw);
        }
        if !self.enter(name) {
            return Value::from(Error::new(
                ErrorKind::InvalidOperation,
                format!("Recursive loop detected in template: '{name}' refers to itself"),
            ));
        }
        let ctx = Value::from_dyn_object(self.clone());
        let value = render_json(&self.env, &ctx, raw);
        self.leave(name);
        value.unwrap_or_else(Value::from)
    }

    fn enter(&self, name: &str) -> bool {
        let mut resolving = self
            .resolving
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if resolving.iter().any(|n| n == name) {
            return false;
        }
        resolving.push(name.to_owned());
        true
    }

    fn leave(&self, name: &str) {
        let mut resolving = self
            .resolving
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        resolving.retain(|n| n != name);
    }
}

impl Object for Scope {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let name = key.as_str()?;
        match name {
            "vars" => Some(Value::from_dyn_object(self.clone())),
            "hostvars" => Some(Value::from_object(HostVars(self.clone()))),
            _ => self.raw(name).map(|raw| self.resolve(name, raw)),
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.names().into_iter().map(Value::from).collect())
    }
}

/// `hostvars`: this host's variables under its inventory name, and the
/// other hosts' variables the stretch was given.
#[derive(Debug)]
struct HostVars(Arc<Scope>);

impl HostVars {
    fn host(&self) -> Option<&str> {
        self.0.raw("inventory_hostname")?.as_str()
    }
}

impl Object for HostVars {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let name = key.as_str()?;
        if Some(name) == self.host() {
            let own = self.0.own.clone().unwrap_or_else(|| self.0.clone());
            return Some(Value::from_dyn_object(own));
        }
        self.0.others.get(name).map(to_value)
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let mut names: Vec<Value> = self.host().map(Value::from).into_iter().collect();
        let others = self
            .0
            .others
            .keys()
            .filter(|h| Some(h.as_str()) != self.host());
        names.extend(others.map(|h| Value::from(h.as_str())));
        Enumerator::Values(names)
    }
}
