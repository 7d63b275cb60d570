//! TODO

use minijinja::Environment;

pub fn register(_env: &mut Environment<'static>) {}
