//! Certificates (`ImportCertificate`, `DescribeCertificate`, `UpdateCertificate`,
//! `DeleteCertificate`, `ListCertificates`) in manifest shape. The body, chain and key are
//! never read back as values: Describe returns the body and chain (AWS never returns the
//! key), which are shown as `{"$sensitive": true}` and compared by fingerprint, like secrets.

use std::collections::BTreeMap;

use aws_sdk_transfer::types::{CertificateUsageType, DescribedCertificate, Tag};
use aws_smithy_types::DateTime;
use serde_json::{Map, Value};

use super::live::split_tags;
use crate::aws::events::Secrets;
use crate::aws::{Aws, AwsError, Live, absent_as_none, built, invalid, put, put_str};
use crate::resource::certificate::{CERTIFICATE, CHAIN, PRIVATE_KEY};
use crate::resource::{Arn, CertificateSpec, ResourceId};

/// RFC 3339 to the second, the form manifests write dates in.
fn date(time: Option<&DateTime>) -> Option<String> {
    let t = time?;
    let secs = u64::try_from(t.secs()).ok()?;
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
    Some(humantime::format_rfc3339_seconds(at).to_string())
}

/// A manifest date as an AWS timestamp.
fn timestamp(op: &'static str, text: Option<&String>) -> Result<Option<DateTime>, AwsError> {
    text.map(|t| {
        humantime::parse_rfc3339(t)
            .map(DateTime::from)
            .map_err(|e| invalid(op, format!("`{t}` is not an RFC 3339 date: {e}")))
    })
    .transpose()
}

/// The spec's tags and `extra` as AWS tags.
pub(super) fn tags(
    op: &'static str,
    own: &BTreeMap<String, String>,
    extra: &BTreeMap<String, String>,
) -> Result<Option<Vec<Tag>>, AwsError> {
    let mut out = Vec::new();
    for (key, value) in own.iter().chain(extra) {
        out.push(built(op, Tag::builder().key(key).value(value).build())?);
    }
    Ok((!out.is_empty()).then_some(out))
}

/// Every item of a paginated List call: `page` sends the request of one page (given the
/// token of the previous one) and answers its items and the next token.
pub(super) async fn all_pages<T, Page>(
    mut page: impl FnMut(Option<String>) -> Page,
) -> Result<Vec<T>, AwsError>
where
    Page: Future<Output = Result<(Vec<T>, Option<String>), AwsError>>,
{
    let mut all = Vec::new();
    let mut token = None;
    loop {
        let (items, next) = page(token).await?;
        all.extend(items);
        token = next.filter(|t| !t.is_empty());
        if token.is_none() {
            return Ok(all);
        }
    }
}

crate::aws::rate::of_service!(Transfer:
    aws_sdk_transfer::operation::import_certificate::ImportCertificateError,
    aws_sdk_transfer::operation::describe_certificate::DescribeCertificateError,
    aws_sdk_transfer::operation::update_certificate::UpdateCertificateError,
    aws_sdk_transfer::operation::delete_certificate::DeleteCertificateError,
    aws_sdk_transfer::operation::list_certificates::ListCertificatesError,
);

impl Aws {
    /// `DescribeCertificate`; `None` when the id is unknown.
    pub async fn describe_certificate(&self, id: &ResourceId) -> Result<Option<Live>, AwsError> {
        let Some(c) = self.described_certificate(id).await? else {
            return Ok(None);
        };
        let c = &c;
        let sensitive = || serde_json::json!({ "$sensitive": true });
        let mut spec = Map::new();
        put_str(&mut spec, "usage", c.usage().map(|u| u.as_str()));
        if c.certificate().is_some_and(|b| !b.is_empty()) {
            spec.insert("certificate".into(), sensitive());
        }
        if c.certificate_chain().is_some_and(|b| !b.is_empty()) {
            spec.insert("certificateChain".into(), sensitive());
        }
        if c.r#type().map(|t| t.as_str()) == Some("CERTIFICATE_WITH_PRIVATE_KEY") {
            spec.insert("privateKey".into(), sensitive());
        }
        put_str(&mut spec, "activeDate", date(c.active_date()).as_deref());
        put_str(
            &mut spec,
            "inactiveDate",
            date(c.inactive_date()).as_deref(),
        );
        put_str(&mut spec, "description", c.description());
        let (tags, own) = split_tags(c.tags());
        put(&mut spec, "tags", own);
        Ok(Some(Live {
            expires: date(c.not_after_date()),
            id: ResourceId::name(c.certificate_id().unwrap_or(id.as_str())),
            arn: Arn::new(c.arn()),
            spec: Value::Object(spec).into(),
            status: c.status().map(|s| s.as_str().to_owned()),
            status_reason: None,
            last_modified: None,
            created: None,
            tags,
        }))
    }

    /// The PEM body and chain `DescribeCertificate` returns (public; what `outbound import`
    /// writes as files); `None` when the id is unknown.
    pub async fn certificate_pem(
        &self,
        id: &ResourceId,
    ) -> Result<Option<(String, Option<String>)>, AwsError> {
        Ok(self.described_certificate(id).await?.and_then(|c| {
            let chain = c.certificate_chain().filter(|b| !b.is_empty());
            Some((c.certificate()?.to_owned(), chain.map(str::to_owned)))
        }))
    }

    /// `DescribeCertificate` as the SDK answers it; `None` when the id is unknown.
    async fn described_certificate(
        &self,
        id: &ResourceId,
    ) -> Result<Option<DescribedCertificate>, AwsError> {
        let request = self
            .transfer
            .describe_certificate()
            .certificate_id(id.as_str())
            .send();
        let out = absent_as_none(self.call("DescribeCertificate", request).await)?;
        Ok(out.and_then(|o| o.certificate))
    }

    /// Every certificate id (`ListCertificates`, paginated).
    pub async fn list_certificates(&self) -> Result<Vec<ResourceId>, AwsError> {
        all_pages(|token| async move {
            let request = self
                .transfer
                .list_certificates()
                .set_next_token(token)
                .send();
            let page = self.call("ListCertificates", request).await?;
            let ids = page
                .certificates()
                .iter()
                .filter_map(|c| c.certificate_id().map(ResourceId::name));
            Ok((ids.collect(), page.next_token().map(str::to_owned)))
        })
        .await
    }

    /// `ImportCertificate` of `spec` with its PEM values from `secrets`, tagged with the
    /// spec's tags and `extra_tags`: the `cert-…` id.
    pub async fn import_certificate(
        &self,
        spec: &CertificateSpec,
        secrets: &Secrets,
        extra_tags: &BTreeMap<String, String>,
    ) -> Result<ResourceId, AwsError> {
        const OP: &str = "ImportCertificate";
        let value = |p: &str| secrets.get(p).map(|v| v.expose().to_owned());
        let Some(body) = value(CERTIFICATE) else {
            return Err(invalid(OP, "the certificate's PEM was not resolved"));
        };
        let request = self
            .transfer
            .import_certificate()
            .usage(CertificateUsageType::from(spec.usage.as_str()))
            .certificate(body)
            .set_certificate_chain(value(CHAIN))
            .set_private_key(value(PRIVATE_KEY))
            .set_active_date(timestamp(OP, spec.active_date.as_ref())?)
            .set_inactive_date(timestamp(OP, spec.inactive_date.as_ref())?)
            .set_description(spec.description.clone())
            .set_tags(tags(OP, &spec.tags, extra_tags)?)
            .customize()
            .config_override(super::creates_not_repeated())
            .send();
        let out = self.call(OP, request).await?;
        Ok(ResourceId::name(out.certificate_id()))
    }

    /// `UpdateCertificate`: the dates and the description (both dates always, as AWS may
    /// reset one it is not sent: aws-research S6).
    pub async fn update_certificate(
        &self,
        id: &ResourceId,
        spec: &CertificateSpec,
    ) -> Result<(), AwsError> {
        const OP: &str = "UpdateCertificate";
        let request = self
            .transfer
            .update_certificate()
            .certificate_id(id.as_str())
            .set_active_date(timestamp(OP, spec.active_date.as_ref())?)
            .set_inactive_date(timestamp(OP, spec.inactive_date.as_ref())?)
            .set_description(spec.description.clone())
            .send();
        self.call(OP, request).await.map(drop)
    }

    /// `DeleteCertificate`.
    pub async fn delete_certificate(&self, id: &ResourceId) -> Result<(), AwsError> {
        let request = self
            .transfer
            .delete_certificate()
            .certificate_id(id.as_str())
            .send();
        self.call("DeleteCertificate", request).await.map(drop)
    }
}
