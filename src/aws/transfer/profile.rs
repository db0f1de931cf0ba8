//! AS2 profiles (`CreateProfile`, `DescribeProfile`, `UpdateProfile`, `DeleteProfile`,
//! `ListProfiles`) in manifest shape.

use std::collections::BTreeMap;

use aws_sdk_transfer::types::ProfileType;
use serde_json::{Map, Value};

use super::certificate::{all_pages, tags};
use super::live::split_tags;
use crate::aws::{Aws, AwsError, Live, absent_as_none, put, put_str};
use crate::resource::{Arn, ProfileSpec, ResourceId};

crate::aws::rate::of_service!(Transfer:
    aws_sdk_transfer::operation::create_profile::CreateProfileError,
    aws_sdk_transfer::operation::describe_profile::DescribeProfileError,
    aws_sdk_transfer::operation::update_profile::UpdateProfileError,
    aws_sdk_transfer::operation::delete_profile::DeleteProfileError,
    aws_sdk_transfer::operation::list_profiles::ListProfilesError,
);

impl Aws {
    /// `DescribeProfile`; `None` when the id is unknown.
    pub async fn describe_profile(&self, id: &ResourceId) -> Result<Option<Live>, AwsError> {
        let request = self
            .transfer
            .describe_profile()
            .profile_id(id.as_str())
            .send();
        let Some(out) = absent_as_none(self.call("DescribeProfile", request).await)? else {
            return Ok(None);
        };
        let Some(p) = out.profile() else {
            return Ok(None);
        };
        let mut spec = Map::new();
        put_str(
            &mut spec,
            "profileType",
            p.profile_type().map(|t| t.as_str()),
        );
        put_str(&mut spec, "as2Id", p.as2_id());
        let mut ids = p.certificate_ids().to_vec();
        ids.sort();
        put(&mut spec, "certificateIds", ids.into());
        let (tags, own) = split_tags(p.tags());
        put(&mut spec, "tags", own);
        Ok(Some(Live {
            expires: None,
            id: ResourceId::name(p.profile_id().unwrap_or(id.as_str())),
            arn: Arn::new(p.arn()),
            spec: Value::Object(spec).into(),
            status: None,
            status_reason: None,
            last_modified: None,
            created: None,
            tags,
        }))
    }

    /// Every profile id (`ListProfiles`, paginated).
    pub async fn list_profiles(&self) -> Result<Vec<ResourceId>, AwsError> {
        all_pages(|token| async move {
            let request = self.transfer.list_profiles().set_next_token(token).send();
            let page = self.call("ListProfiles", request).await?;
            let ids = page
                .profiles()
                .iter()
                .filter_map(|p| p.profile_id().map(ResourceId::name));
            Ok((ids.collect(), page.next_token().map(str::to_owned)))
        })
        .await
    }

    /// `CreateProfile` (its `certificateIds` resolved), tagged with the spec's tags and
    /// `extra_tags`: the `p-…` id.
    pub async fn create_profile(
        &self,
        spec: &ProfileSpec,
        extra_tags: &BTreeMap<String, String>,
    ) -> Result<ResourceId, AwsError> {
        const OP: &str = "CreateProfile";
        let request = self
            .transfer
            .create_profile()
            .as2_id(&spec.as2_id)
            .profile_type(ProfileType::from(spec.profile_type.as_str()))
            .set_certificate_ids(
                (!spec.certificate_ids.is_empty()).then(|| spec.certificate_ids.clone()),
            )
            .set_tags(tags(OP, &spec.tags, extra_tags)?)
            .customize()
            .config_override(super::creates_not_repeated())
            .send();
        let out = self.call(OP, request).await?;
        Ok(ResourceId::name(out.profile_id()))
    }

    /// `UpdateProfile`: the whole list of certificate ids (`[]` when none: the list sent
    /// replaces the stored one, aws-research P7).
    pub async fn update_profile(
        &self,
        id: &ResourceId,
        spec: &ProfileSpec,
    ) -> Result<(), AwsError> {
        let request = self
            .transfer
            .update_profile()
            .profile_id(id.as_str())
            .set_certificate_ids(Some(spec.certificate_ids.clone()))
            .send();
        self.call("UpdateProfile", request).await.map(drop)
    }

    /// `DeleteProfile`.
    pub async fn delete_profile(&self, id: &ResourceId) -> Result<(), AwsError> {
        let request = self
            .transfer
            .delete_profile()
            .profile_id(id.as_str())
            .send();
        self.call("DeleteProfile", request).await.map(drop)
    }
}
