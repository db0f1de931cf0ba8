//! The plan as JSON: the saved-plan format of [`crate::plan::file`], pretty-printed.

use crate::plan::Plan;
pub use crate::plan::file::{FORMAT_VERSION, PlanFile};

/// `plan --format json`.
#[allow(
    clippy::expect_used,
    reason = "the plan file is plain data: serializing cannot fail"
)]
pub fn plan(plan: &Plan) -> String {
    let mut s = serde_json::to_string_pretty(&PlanFile::from_plan(plan)).expect("plans serialize");
    s.push('\n');
    s
}
