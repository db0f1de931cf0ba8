//! The project file (`outbound.yaml`): environments, each with its account, region, state,
//! manifests, overlays and values; which environment a run is for; the merged manifest set.

pub mod file;
pub mod overlay;
pub mod set;
pub mod values;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::manifest::diag::did_you_mean;

/// The name `--env` takes for every environment at once.
pub const ALL: &str = "all";

/// The project file's name, looked for at the repository root.
pub const FILE_NAME: &str = "outbound.yaml";

/// A project file, validated.
#[derive(Debug, Clone)]
pub struct Project {
    /// The file it was read from.
    pub path: PathBuf,
    pub environments: BTreeMap<String, Environment>,
}

/// One environment: a guarded unit with its own account, region, state and credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environment {
    pub name: String,
    /// The AWS account (12 digits) every run of this environment must be in.
    pub account: String,
    pub region: String,
    /// The state's location (a path, relative to the project file's directory, or `s3://`).
    pub state: String,
    /// The shared manifests (default `manifests/`), relative to the project file.
    pub manifests: Vec<PathBuf>,
    /// Documents that change, add to or leave out shared ones, in order.
    pub overlays: Vec<PathBuf>,
    /// `${values.KEY}` in the manifests' specs.
    pub values: BTreeMap<String, String>,
    /// An IAM role assumed from the run's credentials for this environment.
    pub role: Option<String>,
    /// Client-side requests per second per service, as `--rate-limit` takes them.
    pub rate_limit: Option<crate::aws::rate::RateLimits>,
}

/// What a run is for: no project (the flags alone), one environment, or every one.
#[derive(Debug, Clone)]
pub enum Selection {
    NoProject,
    One(Environment),
    All(Vec<Environment>),
}

/// Why no environment could be chosen.
#[derive(Debug, thiserror::Error)]
pub enum SelectError {
    #[error("{file} declares environments: pick one with --env NAME (or OUTBOUND_ENV)")]
    Missing { file: String, hint: String },
    #[error("no environment `{name}` in {file}")]
    Unknown {
        name: String,
        file: String,
        hint: String,
    },
    #[error(
        "--env {name} needs a project file ({FILE_NAME} at the repository root, --project FILE or OUTBOUND_PROJECT), and there is none"
    )]
    NoProject { name: String },
    #[error("`{command}` takes one environment, not --env all")]
    NotAll { command: String, hint: String },
}

impl SelectError {
    pub fn hint(&self) -> Option<String> {
        match self {
            SelectError::Missing { hint, .. }
            | SelectError::Unknown { hint, .. }
            | SelectError::NotAll { hint, .. } => Some(hint.clone()),
            SelectError::NoProject { .. } => None,
        }
    }
}

impl Project {
    /// The environment names, comma separated, for hints.
    fn names(&self) -> String {
        self.environments
            .keys()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The environments `env` names; `all` only where `all_allowed`.
    pub fn select(
        &self,
        env: Option<&str>,
        command: &str,
        all_allowed: bool,
    ) -> Result<Selection, SelectError> {
        let file = self.path.display().to_string();
        let listed = format!("the environments are {}", self.names());
        match env {
            None => Err(SelectError::Missing { file, hint: listed }),
            Some(ALL) if all_allowed => Ok(Selection::All(
                self.environments.values().cloned().collect(),
            )),
            Some(ALL) => Err(SelectError::NotAll {
                command: command.to_owned(),
                hint: format!("run it once per environment; {listed}"),
            }),
            Some(name) => match self.environments.get(name) {
                Some(e) => Ok(Selection::One(e.clone())),
                None => {
                    let close = did_you_mean(name, self.environments.keys().map(String::as_str));
                    let hint = match close {
                        Some(d) => format!("{d} {listed}"),
                        None => listed,
                    };
                    Err(SelectError::Unknown {
                        name: name.to_owned(),
                        file,
                        hint,
                    })
                }
            },
        }
    }
}

/// What `--env` chose, with no project file: none unless `--env` was given.
pub fn select(
    project: Option<&Project>,
    env: Option<&str>,
    command: &str,
    all_allowed: bool,
) -> Result<Selection, SelectError> {
    match (project, env) {
        (Some(p), env) => p.select(env, command, all_allowed),
        (None, None) => Ok(Selection::NoProject),
        (None, Some(name)) => Err(SelectError::NoProject {
            name: name.to_owned(),
        }),
    }
}

/// The project file to read: `given` (`--project` / `OUTBOUND_PROJECT`), else `outbound.yaml`
/// in the working directory or an ancestor up to the repository root (the directory holding
/// `.git`); outside a repository only the working directory is looked in.
pub fn find(given: Option<&Path>, cwd: &Path) -> Option<PathBuf> {
    if let Some(p) = given {
        return Some(p.to_owned());
    }
    let root = cwd.ancestors().find(|d| d.join(".git").exists());
    for (up, dir) in cwd.ancestors().enumerate() {
        if dir.join(FILE_NAME).is_file() {
            // Relative to the working directory, as the paths in it are shown.
            let mut relative: PathBuf = std::iter::repeat_n("..", up).collect();
            relative.push(FILE_NAME);
            return Some(relative);
        }
        if root.is_none_or(|r| r == dir) {
            break;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Environment {
        Environment {
            name: name.into(),
            account: "111122223333".into(),
            region: "eu-west-1".into(),
            state: format!("{name}.json"),
            manifests: vec!["manifests".into()],
            overlays: vec![],
            values: BTreeMap::new(),
            role: None,
            rate_limit: None,
        }
    }

    fn project() -> Project {
        Project {
            path: "outbound.yaml".into(),
            environments: ["staging", "production"]
                .into_iter()
                .map(|n| (n.to_owned(), env(n)))
                .collect(),
        }
    }

    #[test]
    fn a_project_needs_an_environment_and_lists_them() {
        let e = project().select(None, "plan", true).unwrap_err();
        assert!(e.to_string().contains("pick one with --env"), "{e}");
        assert_eq!(
            e.hint().as_deref(),
            Some("the environments are `production`, `staging`")
        );
    }

    #[test]
    fn a_mistyped_environment_gets_did_you_mean() {
        let e = project().select(Some("stagin"), "plan", true).unwrap_err();
        assert_eq!(e.to_string(), "no environment `stagin` in outbound.yaml");
        assert_eq!(
            e.hint().as_deref(),
            Some("did you mean `staging`? the environments are `production`, `staging`")
        );
    }

    #[test]
    fn all_only_where_allowed() {
        match project().select(Some("all"), "plan", true).unwrap() {
            Selection::All(envs) => assert_eq!(envs.len(), 2),
            other => panic!("{other:?}"),
        }
        let e = project().select(Some("all"), "apply", false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "`apply` takes one environment, not --env all"
        );
        match project().select(Some("staging"), "apply", false).unwrap() {
            Selection::One(e) => assert_eq!(e.name, "staging"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn without_a_project_nothing_changes_unless_env_is_given() {
        assert!(matches!(
            select(None, None, "plan", true),
            Ok(Selection::NoProject)
        ));
        let e = select(None, Some("staging"), "plan", true).unwrap_err();
        assert!(e.to_string().contains("needs a project file"), "{e}");
    }

    #[test]
    fn the_project_file_is_found_up_to_the_repository_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("repo/.git")).unwrap();
        std::fs::create_dir_all(root.join("repo/a/b")).unwrap();
        std::fs::write(root.join(FILE_NAME), "").unwrap();
        // Above the repository: not found.
        assert_eq!(find(None, &root.join("repo/a/b")), None);
        std::fs::write(root.join("repo").join(FILE_NAME), "").unwrap();
        assert_eq!(
            find(None, &root.join("repo/a/b")),
            Some(PathBuf::from("../..").join(FILE_NAME))
        );
        // Outside a repository: the working directory only.
        let lone = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(lone.path().join("x")).unwrap();
        std::fs::write(lone.path().join(FILE_NAME), "").unwrap();
        assert_eq!(find(None, &lone.path().join("x")), None);
        assert_eq!(find(None, lone.path()), Some(PathBuf::from(FILE_NAME)));
        assert_eq!(
            find(Some(Path::new("p.yaml")), lone.path()),
            Some(PathBuf::from("p.yaml"))
        );
    }
}
