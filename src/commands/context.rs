//! The per-environment context of a run: built once by the command, from the project file's
//! environment (if any) under the flags given, and passed down. It holds the one AWS
//! configuration of the environment (credentials, its role assumed, region, endpoint),
//! which the state store and the service clients are both made from.

use std::path::PathBuf;

use crate::cli::{AwsArgs, GlobalArgs};
use crate::manifest::DesiredState;
use crate::manifest::diag::Diagnostics;
use crate::project::{self, Environment, Selection};
use crate::render;

/// One environment of one run (or the flags alone, without a project file).
pub struct Context {
    /// The project's environment; `None` without a project file.
    pub env: Option<Environment>,
    /// The command line's manifest paths, when given: they replace the environment's
    /// shared manifests (its overlays still apply).
    paths: Option<Vec<PathBuf>>,
    /// The AWS settings: the environment's region, state and rate limits, under the flags.
    pub aws: AwsArgs,
    config: tokio::sync::OnceCell<aws_config::SdkConfig>,
}

impl Context {
    /// The context of `env` (or of the flags alone) for a command given `paths` and `aws`.
    pub fn new(
        env: Option<Environment>,
        paths: &[PathBuf],
        aws: &AwsArgs,
        global: &GlobalArgs,
    ) -> Context {
        let mut aws = aws.clone();
        let explicit = global.explicit;
        if let Some(e) = &env {
            if aws.region.is_none() {
                aws.region = Some(e.region.clone());
            }
            if !explicit.state {
                aws.state.clone_from(&e.state);
            }
            if !explicit.rate_limit
                && let Some(r) = e.rate_limit
            {
                aws.rate_limit = r;
            }
        }
        let paths = (env.is_none() || explicit.paths).then(|| paths.to_vec());
        Context {
            env,
            paths,
            aws,
            config: tokio::sync::OnceCell::new(),
        }
    }

    /// The environment's name, if there is a project file.
    pub fn name(&self) -> Option<&str> {
        self.env.as_ref().map(|e| e.name.as_str())
    }

    /// The account the environment declares (the guard checks it).
    pub fn expected_account(&self) -> Option<&str> {
        self.env.as_ref().map(|e| e.account.as_str())
    }

    /// The manifest set of this environment, validated (overlays merged, values substituted);
    /// warnings are printed here, problems returned.
    pub fn validate(
        &self,
        options: crate::manifest::load::Options,
        resolve_secrets: bool,
    ) -> Result<DesiredState, Diagnostics> {
        match &self.env {
            None => crate::manifest::validate_with(
                self.paths.as_deref().unwrap_or_default(),
                options,
                resolve_secrets,
            ),
            Some(env) => {
                let v =
                    project::set::validate(env, self.paths.as_deref(), options, resolve_secrets);
                render::envs::warnings(&v.warnings);
                v.desired
            }
        }
    }

    /// The environment's AWS configuration, loaded on first use and then kept: the store and
    /// the clients share it. With a `role`, its credentials are the role's, assumed from
    /// the run's.
    pub async fn config(&self) -> anyhow::Result<&aws_config::SdkConfig> {
        self.config
            .get_or_try_init(|| async {
                let base = crate::aws::shared_config(&super::aws_options(&self.aws), None).await?;
                let role = self.env.as_ref().and_then(|e| e.role.as_deref());
                Ok::<_, anyhow::Error>(match role {
                    None => base,
                    Some(role) => {
                        let session = format!("outbound-{}", self.name().unwrap_or("run"));
                        crate::aws::assume_role(&base, role, &session).await?
                    }
                })
            })
            .await
    }

    /// The state store, from the environment's configuration.
    pub async fn store(&self) -> anyhow::Result<crate::store::Store> {
        if self.aws.state.starts_with("s3://") {
            Ok(crate::store::open_with_config(
                &self.aws.state,
                self.config().await?,
            )?)
        } else {
            // A local state needs no AWS configuration.
            Ok(crate::store::open(&self.aws.state, &super::aws_options(&self.aws)).await?)
        }
    }

    /// The service clients, from the environment's configuration; `secrets` are scrubbed
    /// from their errors.
    pub async fn clients(&self, secrets: Vec<String>) -> anyhow::Result<crate::aws::Aws> {
        let config = self.config().await?;
        Ok(crate::aws::Aws::from_config(
            config,
            &super::aws_options(&self.aws),
            secrets,
        ))
    }
}

/// The contexts a command runs in: one without a project file or for `--env NAME`, one
/// per environment for `--env all` (where `all_allowed`).
pub fn contexts(
    global: &GlobalArgs,
    paths: &[PathBuf],
    aws: &AwsArgs,
    command: &str,
    all_allowed: bool,
) -> anyhow::Result<Vec<Context>> {
    let cwd = std::env::current_dir()?;
    let found = project::find(global.project.as_deref(), &cwd);
    let project = match found {
        None => None,
        Some(path) => match project::file::read(&path) {
            Ok(p) => Some(p),
            Err(diags) => {
                render::diagnostics(&diags);
                return Err(Reported.into());
            }
        },
    };
    let selection = match project::select(
        project.as_ref(),
        global.env.as_deref(),
        command,
        all_allowed,
    ) {
        Ok(s) => s,
        Err(e) => {
            let hint = e.hint();
            let e = anyhow::Error::new(e);
            render::error(&e);
            if let Some(h) = hint {
                render::message(&format!("  hint: {h}\n"));
            }
            return Err(Reported.into());
        }
    };
    let explicit = global.explicit;
    Ok(match selection {
        Selection::NoProject => vec![Context::new(None, paths, aws, global)],
        Selection::One(env) => vec![Context::new(Some(env), paths, aws, global)],
        Selection::All(envs) => {
            if explicit.state || aws.region.is_some() {
                render::message(
                    "error: --env all: --state and --region would apply to every environment; \
                     they are each environment's own (outbound.yaml)\n",
                );
                return Err(Reported.into());
            }
            envs.into_iter()
                .map(|e| Context::new(Some(e), paths, aws, global))
                .collect()
        }
    })
}

/// An error already printed on stderr: the run exits 1 without printing it again.
#[derive(Debug, thiserror::Error)]
#[error("(reported)")]
pub struct Reported;
