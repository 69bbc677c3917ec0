//! Attribute paths: where in a configuration or state a value lives.
//!
//! Steps are attribute name, string map key or integer list index; there is
//! no step for a set element (protocol rule), so paths into sets stop at the
//! set itself.

use std::fmt;

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathStep {
    /// An object attribute or nested block by name.
    Attribute(String),
    /// A map element by key.
    ElementKey(String),
    /// A list or tuple element by index.
    ElementIndex(i64),
}

/// A path from the root of a resource's value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct AttributePath {
    steps: Vec<PathStep>,
}

impl AttributePath {
    /// The empty path (the whole value).
    pub fn root() -> AttributePath {
        AttributePath::default()
    }
    /// A path to one top-level attribute.
    pub fn attr(name: impl Into<String>) -> AttributePath {
        AttributePath {
            steps: vec![PathStep::Attribute(name.into())],
        }
    }
    /// A path made of the given steps.
    pub fn from_steps(steps: Vec<PathStep>) -> AttributePath {
        AttributePath { steps }
    }
    /// This path extended by an attribute name.
    #[must_use]
    pub fn then_attr(&self, name: impl Into<String>) -> AttributePath {
        self.then(PathStep::Attribute(name.into()))
    }
    /// This path extended by a map key.
    #[must_use]
    pub fn then_key(&self, key: impl Into<String>) -> AttributePath {
        self.then(PathStep::ElementKey(key.into()))
    }
    /// This path extended by a list index.
    #[must_use]
    pub fn then_index(&self, index: usize) -> AttributePath {
        self.then(PathStep::ElementIndex(index as i64))
    }
    fn then(&self, step: PathStep) -> AttributePath {
        let mut steps = self.steps.clone();
        steps.push(step);
        AttributePath { steps }
    }
    /// Appends a step in place.
    pub fn push(&mut self, step: PathStep) {
        self.steps.push(step);
    }
    /// Removes the last step in place.
    pub fn pop(&mut self) -> Option<PathStep> {
        self.steps.pop()
    }
    /// The steps, root first.
    pub fn steps(&self) -> &[PathStep] {
        &self.steps
    }
    /// True for the root path.
    pub fn is_root(&self) -> bool {
        self.steps.is_empty()
    }
    /// The same path with every index and key step removed: the schema
    /// location of the value (used to match plan modifiers to values).
    pub fn schema_path(&self) -> AttributePath {
        AttributePath {
            steps: self
                .steps
                .iter()
                .filter(|s| matches!(s, PathStep::Attribute(_)))
                .cloned()
                .collect(),
        }
    }
}

impl fmt::Display for AttributePath {
    /// HCL-like rendering: `health_check.path`, `env["KEY"]`, `subnets[0]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.steps.iter().enumerate() {
            match s {
                PathStep::Attribute(n) if i == 0 => write!(f, "{n}")?,
                PathStep::Attribute(n) => write!(f, ".{n}")?,
                PathStep::ElementKey(k) => write!(f, "[{k:?}]")?,
                PathStep::ElementIndex(ix) => write!(f, "[{ix}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_hcl() {
        let p = AttributePath::attr("env").then_key("DB_URL");
        assert_eq!(p.to_string(), r#"env["DB_URL"]"#);
        let p = AttributePath::attr("health_check")
            .then_index(0)
            .then_attr("path");
        assert_eq!(p.to_string(), "health_check[0].path");
        assert_eq!(p.schema_path().to_string(), "health_check.path");
    }
}
