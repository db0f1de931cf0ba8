//! The account guard's rule (SPEC §7), as a pure check: the account and region a run's
//! credentials are for, against the account and region the state records, the account a run
//! expects (an environment's, when one is given) and a saved plan's. The STS call that tells
//! who the credentials are is `aws::guard`; `commands::guarded` wires the two.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A 12-digit AWS account id (`111122223333`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccountId(String);

impl AccountId {
    /// The id in `text`, if it is 12 digits.
    pub fn parse(text: &str) -> Result<AccountId, String> {
        if text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit()) {
            Ok(AccountId(text.to_owned()))
        } else {
            Err(format!("`{text}` is not an AWS account id (12 digits)"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for AccountId {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        AccountId::parse(&text)
    }
}

impl From<AccountId> for String {
    fn from(id: AccountId) -> String {
        id.0
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a run is: the account its credentials are for (and as whom), and its region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub account: AccountId,
    /// The identity's ARN (`arn:aws:sts::…:assumed-role/…`), named in a refusal.
    pub arn: String,
    pub region: String,
}

/// What a run was checked against, as the refusal names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Against {
    /// The state at this location; with the environment it belongs to when the credentials
    /// were found in that environment's declared account (a state of another account is then
    /// the one out of place, not the credentials; another region may be `--region`'s).
    State {
        location: String,
        environment: Option<String>,
    },
    /// The account the run expects (an environment's `account`; `None`: no name).
    Expected(Option<String>),
    /// The saved plan in this file.
    Plan(String),
}

impl fmt::Display for Against {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Against::State {
                location,
                environment: None,
            } => write!(f, "the state {location} records"),
            Against::State {
                location,
                environment: Some(env),
            } => write!(f, "environment {env}'s state {location} records"),
            Against::Expected(Some(env)) => write!(f, "environment {env} declares"),
            Against::Expected(None) => f.write_str("this run expects"),
            Against::Plan(file) => write!(f, "the saved plan {file} was made for"),
        }
    }
}

/// A run refused by the guard: nothing else was called.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    #[error(
        "wrong AWS account: the credentials are for account {actual} ({arn}), but {against} \
         account {expected}; nothing was changed"
    )]
    Account {
        actual: AccountId,
        arn: String,
        expected: AccountId,
        against: Against,
    },
    #[error(
        "wrong AWS region: this run is in region {actual}, but {against} region {expected}; \
         nothing was changed"
    )]
    Region {
        actual: String,
        expected: String,
        against: Against,
    },
}

impl GuardError {
    /// What to do about it.
    pub fn hint(&self) -> String {
        match self {
            GuardError::Account {
                against:
                    Against::State {
                        environment: Some(env),
                        ..
                    },
                ..
            } => format!(
                "the credentials are for environment {env}'s account; the state is not: point \
                 {env}'s `state` in the project file at that environment's own state, or put \
                 it back (a state of another account is never applied here)"
            ),
            GuardError::Account { expected, .. } => format!(
                "run with credentials for account {expected} (AWS_PROFILE, --profile, or the \
                 role of that account); a state or plan of another account is never applied here"
            ),
            GuardError::Region { expected, .. } => format!(
                "pass --region {expected} (or set AWS_REGION), or use the state of this region"
            ),
        }
    }
}

/// What a run's credentials and region are checked against: every part optional (a new state
/// records nothing yet, and without an environment nothing is expected).
#[derive(Debug, Clone, Copy, Default)]
pub struct Recorded<'a> {
    pub account: Option<&'a AccountId>,
    pub region: Option<&'a str>,
}

/// Refuses `caller` when `recorded` names another account or region; the account first, as it
/// is the graver mistake.
pub fn check(caller: &Caller, recorded: Recorded<'_>, against: &Against) -> Result<(), GuardError> {
    if let Some(expected) = recorded.account.filter(|a| **a != caller.account) {
        return Err(GuardError::Account {
            actual: caller.account.clone(),
            arn: caller.arn.clone(),
            expected: expected.clone(),
            against: against.clone(),
        });
    }
    if let Some(expected) = recorded.region.filter(|r| *r != caller.region) {
        return Err(GuardError::Region {
            actual: caller.region.clone(),
            expected: expected.to_owned(),
            against: against.clone(),
        });
    }
    Ok(())
}

/// The guard of one run: the expected account (an environment's, if any), then the state's
/// account and region (`state`: where it is, the environment whose declared account the
/// credentials were found in, if any, and what it records).
pub fn check_run(
    caller: &Caller,
    expected: Option<(&AccountId, Option<&str>)>,
    state: Option<(&str, Option<&str>, Recorded<'_>)>,
) -> Result<(), GuardError> {
    if let Some((account, environment)) = expected {
        let recorded = Recorded {
            account: Some(account),
            region: None,
        };
        check(
            caller,
            recorded,
            &Against::Expected(environment.map(str::to_owned)),
        )?;
    }
    if let Some((location, environment, recorded)) = state {
        let against = Against::State {
            location: location.to_owned(),
            environment: environment.map(str::to_owned),
        };
        check(caller, recorded, &against)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> AccountId {
        AccountId::parse(s).unwrap()
    }

    fn caller() -> Caller {
        Caller {
            account: id("111122223333"),
            arn: "arn:aws:sts::111122223333:assumed-role/ci/run".into(),
            region: "eu-west-1".into(),
        }
    }

    #[test]
    fn an_account_id_is_twelve_digits() {
        assert!(AccountId::parse("111122223333").is_ok());
        for bad in ["11112222333", "1111222233334", "11112222333a", ""] {
            assert!(AccountId::parse(bad).is_err(), "{bad}");
        }
        let back: AccountId = serde_json::from_str("\"444455556666\"").unwrap();
        assert_eq!(serde_json::to_string(&back).unwrap(), "\"444455556666\"");
        assert!(serde_json::from_str::<AccountId>("\"4444\"").is_err());
    }

    #[test]
    fn a_state_without_account_or_region_accepts_any_run() {
        let state = Some(("state.json", None, Recorded::default()));
        assert_eq!(check_run(&caller(), None, state), Ok(()));
    }

    #[test]
    fn the_same_account_and_region_pass() {
        let account = id("111122223333");
        let recorded = Recorded {
            account: Some(&account),
            region: Some("eu-west-1"),
        };
        let expected = Some((&account, Some("staging")));
        assert_eq!(
            check_run(&caller(), expected, Some(("s", Some("staging"), recorded))),
            Ok(())
        );
    }

    #[test]
    fn another_account_is_refused_naming_both() {
        let other = id("444455556666");
        let recorded = Recorded {
            account: Some(&other),
            region: Some("us-east-1"),
        };
        let e =
            check_run(&caller(), None, Some(("s3://b/state.json", None, recorded))).unwrap_err();
        // The account is the graver mistake: named first, even when the region differs too.
        assert!(matches!(e, GuardError::Account { .. }), "{e:?}");
        let text = e.to_string();
        assert!(
            text.contains("111122223333") && text.contains("444455556666"),
            "{text}"
        );
        assert!(
            text.contains("the state s3://b/state.json records"),
            "{text}"
        );
        assert!(e.hint().contains("444455556666"));
    }

    #[test]
    fn another_region_is_refused_naming_both() {
        let recorded = Recorded {
            account: None,
            region: Some("us-east-1"),
        };
        let e = check_run(&caller(), None, Some(("state.json", None, recorded))).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("region eu-west-1") && text.contains("region us-east-1"),
            "{text}"
        );
        assert!(e.hint().contains("--region us-east-1"));
    }

    /// The credentials are in the environment's declared account: the state is out of place
    /// (moved, or another environment's `state`), and the hint says so rather than asking for
    /// the state's account.
    #[test]
    fn an_environments_state_of_another_account_points_at_the_state() {
        let other = id("444455556666");
        let recorded = Recorded {
            account: Some(&other),
            region: None,
        };
        let state = Some(("states/production.json", Some("production"), recorded));
        let e = check_run(&caller(), None, state).unwrap_err();
        assert!(
            e.to_string().contains(
                "environment production's state states/production.json records account 444455556666"
            ),
            "{e}"
        );
        let hint = e.hint();
        assert!(
            hint.contains("point production's `state` in the project file")
                && !hint.contains("run with credentials for account 444455556666"),
            "{hint}"
        );
        // A region: `--region` may move an environment (SPEC §7), so the hint stays
        // "pass --region, or use the state of this region".
        let recorded = Recorded {
            account: None,
            region: Some("us-east-1"),
        };
        let state = Some(("states/production.json", Some("production"), recorded));
        let e = check_run(&caller(), None, state).unwrap_err();
        assert!(e.hint().contains("--region us-east-1"), "{}", e.hint());
    }

    #[test]
    fn the_expected_account_is_checked_before_the_state() {
        let expected = id("999988887777");
        let e = check_run(&caller(), Some((&expected, Some("production"))), None).unwrap_err();
        assert_eq!(
            e,
            GuardError::Account {
                actual: id("111122223333"),
                arn: caller().arn,
                expected,
                against: Against::Expected(Some("production".into())),
            }
        );
        assert!(
            e.to_string()
                .contains("environment production declares account 999988887777")
        );
    }

    #[test]
    fn a_saved_plan_names_its_file() {
        let other = id("444455556666");
        let recorded = Recorded {
            account: Some(&other),
            region: None,
        };
        let e = check(&caller(), recorded, &Against::Plan("plan.json".into())).unwrap_err();
        assert!(
            e.to_string()
                .contains("the saved plan plan.json was made for account 444455556666"),
            "{e}"
        );
    }
}
