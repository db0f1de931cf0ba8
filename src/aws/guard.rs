//! Who the credentials are: one STS `GetCallerIdentity`, the account guard's only call before
//! the check (`state::guard`) lets a run go on. AWS documents that the call needs no IAM
//! permission (an explicit deny cannot block it), so a plan role needs no new policy.

use aws_sdk_sts::config::Credentials;

use super::{AwsError, AwsOptions, CallLog, ErrorClass, logged, shared_config};
use crate::state::guard::{AccountId, Caller};

/// The account and ARN of the credentials `options` resolve to (the standard chain), and the
/// region the run's clients call.
pub async fn identify(options: &AwsOptions) -> Result<Caller, AwsError> {
    identify_with(options, None).await
}

/// [`identify`] with fixed credentials (emulators, tests).
pub async fn identify_with(
    options: &AwsOptions,
    credentials: Option<Credentials>,
) -> Result<Caller, AwsError> {
    let config = shared_config(options, credentials).await?;
    identify_from(&config).await
}

/// [`identify`] with an AWS configuration loaded once for the run (an environment's, its role
/// assumed): the store and the clients are made from the same one.
pub async fn identify_from(config: &aws_config::SdkConfig) -> Result<Caller, AwsError> {
    let region = config.region().map(ToString::to_string).unwrap_or_default();
    let sts = aws_sdk_sts::Client::new(config);
    let calls = CallLog::default();
    let answer = logged(
        &calls,
        &[],
        "GetCallerIdentity",
        sts.get_caller_identity().send(),
    )
    .await?;
    let account = answer.account().unwrap_or_default();
    let account = AccountId::parse(account).map_err(|why| AwsError {
        operation: "GetCallerIdentity",
        class: ErrorClass::Other,
        code: None,
        message: format!("the answer names no account: {why}"),
    })?;
    Ok(Caller {
        account,
        arn: answer.arn().unwrap_or_default().to_owned(),
        region,
    })
}
