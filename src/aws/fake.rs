//! An in-process double of AWS for unit tests of observe and the engine: resources in
//! memory, every call logged when it is awaited, statuses scripted per resource (what
//! Describe reports next), and failures armed per operation. The List calls page through
//! what it holds (by the kind in each ARN), as AWS's pages show it. Not a model of AWS: the
//! emulator tests cover AWS's behaviour.

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::sync::Mutex;

use serde_json::{Map, Value};

use super::cloud::{Cloud, Observe};
use super::events::{Listed, Secrets, Written};
use super::{AwsError, ErrorClass, ListedConnector, Live};
use crate::resource::{
    ApiDestinationSpec, Arn, ConnectionSpec, ConnectorId, ConnectorSpec, FieldPath, Kind,
    ResourceId, SpecJson,
};

#[derive(Default)]
struct Inner {
    live: BTreeMap<String, Live>,
    /// Statuses Describe reports for an id, one per call; the last one stays.
    script: BTreeMap<String, VecDeque<String>>,
    fail: BTreeMap<&'static str, String>,
    calls: Vec<String>,
    next: u32,
}

#[derive(Default)]
pub struct Fake {
    inner: Mutex<Inner>,
}

type Answer<T> = Result<T, AwsError>;

impl Fake {
    /// The next Describes of `id` report these statuses in turn (the last one sticks).
    pub fn script(&self, id: &str, statuses: &[&str]) {
        self.lock().script.insert(
            id.to_owned(),
            statuses.iter().map(|s| (*s).to_owned()).collect(),
        );
    }

    /// `operation` fails with `message` from now on.
    pub fn fail(&self, operation: &'static str, message: &str) {
        self.lock().fail.insert(operation, message.to_owned());
    }

    /// A resource AWS holds already (its kind is read from its ARN: `…:connection/…`,
    /// `…:api-destination/…`, `…:connector/…`).
    pub fn insert(&self, live: Live) {
        self.lock().live.insert(live.id.to_string(), live);
    }

    /// Every call so far, as `Operation id` (`Operation` alone for a List).
    pub fn calls(&self) -> Vec<String> {
        self.lock().calls.clone()
    }

    pub fn live(&self, id: &str) -> Option<Live> {
        self.lock().live.get(id).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A future that, when awaited (as an SDK call is sent then, not when it is built), logs
    /// the call, then fails it if armed, else runs `f` on the state.
    fn call<'a, T, F>(
        &'a self,
        operation: &'static str,
        id: &str,
        f: F,
    ) -> impl Future<Output = Answer<T>> + Send + use<'a, T, F>
    where
        T: Send,
        F: FnOnce(&mut Inner) -> Answer<T> + Send,
    {
        let line = if id.is_empty() {
            operation.to_owned()
        } else {
            format!("{operation} {id}")
        };
        async move {
            let mut inner = self.lock();
            inner.calls.push(line);
            match inner.fail.get(operation) {
                Some(message) => Err(AwsError {
                    operation,
                    class: ErrorClass::AccessDenied,
                    code: Some("AccessDeniedException".into()),
                    message: message.clone(),
                }),
                None => f(&mut inner),
            }
        }
    }

    /// What the fake holds of `kind`, by id.
    fn of_kind(inner: &Inner, kind: Kind) -> impl Iterator<Item = &Live> {
        inner
            .live
            .values()
            .filter(move |l| kind_of(l.arn.as_str()) == Some(kind))
    }

    /// A connection or API destination as its List page shows it: a connection's
    /// `authorizationType`, an API destination's every field but the description.
    fn listed(inner: &Inner, kind: Kind) -> Vec<Listed> {
        let page_fields: &[&str] = match kind {
            Kind::Connection => &["authorizationType"],
            _ => &[
                "connectionArn",
                "invocationEndpoint",
                "httpMethod",
                "invocationRateLimitPerSecond",
            ],
        };
        Fake::of_kind(inner, kind)
            .map(|l| {
                let described = l.spec.value();
                let spec: Map<String, Value> = page_fields
                    .iter()
                    .filter_map(|k| Some(((*k).to_owned(), described.get(*k)?.clone())))
                    .collect();
                Listed {
                    name: l.id.to_string(),
                    arn: l.arn.clone(),
                    status: l.status.clone(),
                    status_reason: l.status_reason.clone(),
                    last_modified: l.last_modified.clone(),
                    spec: Value::Object(spec),
                }
            })
            .collect()
    }

    fn put(inner: &mut Inner, id: &str, arn: String, spec: Value, status: Option<&str>) {
        inner.live.insert(
            id.to_owned(),
            Live {
                expires: None,
                id: ResourceId::name(id),
                arn: Arn::new(arn),
                spec: spec.into(),
                status: status.map(str::to_owned),
                status_reason: None,
                last_modified: None,
                created: Some(now()),
                tags: BTreeMap::new(),
            },
        );
    }

    fn describe(inner: &mut Inner, id: &str) -> Answer<Option<Live>> {
        let next = inner.script.get_mut(id).and_then(|q| {
            if q.len() > 1 {
                q.pop_front()
            } else {
                q.front().cloned()
            }
        });
        Ok(inner.live.get_mut(id).map(|l| {
            if let Some(s) = next {
                l.status_reason =
                    (s == "FAILED_CONNECTIVITY").then(|| "endpoint unreachable".into());
                l.status = Some(s);
            }
            l.clone()
        }))
    }

    fn remove(inner: &mut Inner, id: &str) -> Answer<()> {
        match inner.live.remove(id) {
            Some(_) => Ok(()),
            None => Err(AwsError {
                operation: "Delete",
                class: ErrorClass::NotFound,
                code: None,
                message: format!("{id} does not exist"),
            }),
        }
    }
}

/// The time now, as AWS's answers give it (RFC 3339, milliseconds).
fn now() -> String {
    humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
}

fn json<T: serde::Serialize>(spec: &T) -> Value {
    serde_json::to_value(spec).unwrap_or_default()
}

/// The kind an ARN names, by its resource type (as in AWS's ARNs).
fn kind_of(arn: &str) -> Option<Kind> {
    let resource = arn.splitn(6, ':').nth(5)?;
    let kind = resource.split('/').next()?.replace('-', "");
    Kind::ALL
        .into_iter()
        .find(|k| k.as_str().eq_ignore_ascii_case(&kind))
}

impl Observe for Fake {
    fn describe_connection(&self, name: &str) -> impl Future<Output = Answer<Option<Live>>> + Send {
        self.call("DescribeConnection", name, |i| Fake::describe(i, name))
    }
    fn describe_api_destination(
        &self,
        name: &str,
    ) -> impl Future<Output = Answer<Option<Live>>> + Send {
        self.call("DescribeApiDestination", name, |i| Fake::describe(i, name))
    }
    fn describe_connector(
        &self,
        id: &ConnectorId,
    ) -> impl Future<Output = Answer<Option<Live>>> + Send {
        let id = id.as_str();
        self.call("DescribeConnector", id, |i| Fake::describe(i, id))
    }
    fn listed_connections(&self) -> impl Future<Output = Answer<Vec<Listed>>> + Send {
        self.call("ListConnections", "", |i| {
            Ok(Fake::listed(i, Kind::Connection))
        })
    }
    fn listed_api_destinations(&self) -> impl Future<Output = Answer<Vec<Listed>>> + Send {
        self.call("ListApiDestinations", "", |i| {
            Ok(Fake::listed(i, Kind::ApiDestination))
        })
    }
    fn describe_by_id(
        &self,
        kind: Kind,
        id: &ResourceId,
    ) -> impl Future<Output = Answer<Option<Live>>> + Send {
        let id = id.as_str();
        let operation = match kind {
            Kind::Connector => "DescribeConnector",
            _ => "Describe",
        };
        self.call(operation, id, |i| Fake::describe(i, id))
    }
    fn list_ids(&self, kind: Kind) -> impl Future<Output = Answer<Vec<ResourceId>>> + Send {
        self.call("List", kind.as_str(), move |i| {
            Ok(Fake::of_kind(i, kind).map(|l| l.id.clone()).collect())
        })
    }
    fn list_connectors(&self) -> impl Future<Output = Answer<Vec<ListedConnector>>> + Send {
        self.call("ListConnectors", "", |i| {
            Ok(Fake::of_kind(i, Kind::Connector)
                .filter_map(|l| l.id.connector().ok().map(|id| (id, l)))
                .map(|(id, l)| ListedConnector {
                    id,
                    arn: l.arn.clone(),
                    url: l
                        .spec
                        .get("url")
                        .and_then(|u| u.as_str().map(str::to_owned)),
                })
                .collect())
        })
    }
}

/// A spec as the kind's Describe shows it: secret slots as `{"$sensitive": true}`,
/// references (names) left out.
fn as_described(kind: Kind, spec: &SpecJson) -> Value {
    let mut v = crate::resource::strip_references(spec.value());
    if let Some(o) = v.as_object_mut() {
        for slot in kind.rules().secret_slots {
            if let Some(field) = o.get_mut(*slot) {
                *field = serde_json::json!({ "$sensitive": true });
            }
        }
    }
    v
}

impl Cloud for Fake {
    fn create_connection(
        &self,
        name: &str,
        spec: &ConnectionSpec,
        _: &Secrets,
    ) -> impl Future<Output = Answer<Written>> + Send {
        let spec = json(spec);
        self.call("CreateConnection", name, move |i| {
            let arn = format!("arn:aws:events:fake:1:connection/{name}/1");
            Fake::put(i, name, arn.clone(), spec, Some("AUTHORIZED"));
            // No state in the answer: apply reads it back (the double's scripted states).
            Ok(written(Arn::new(arn)))
        })
    }
    fn update_connection(
        &self,
        name: &str,
        spec: &ConnectionSpec,
        _: &Secrets,
        _: &[FieldPath],
    ) -> impl Future<Output = Answer<Written>> + Send {
        let deauthorized = spec.deauthorized;
        let spec = json(spec);
        self.call("UpdateConnection", name, move |i| {
            match i.live.get_mut(name) {
                // Sent without its authorization (as `Aws::update_connection` does): that
                // part is kept.
                Some(l) if deauthorized => {
                    let mut kept = l.spec.value();
                    kept["description"] = spec.get("description").cloned().unwrap_or_default();
                    l.spec = kept.into();
                    Ok(written(l.arn.clone()))
                }
                Some(l) => {
                    l.spec = spec.into();
                    Ok(written(l.arn.clone()))
                }
                None => Fake::remove(i, name).map(|()| written(Arn::default())),
            }
        })
    }
    fn deauthorize_connection(&self, name: &str) -> impl Future<Output = Answer<()>> + Send {
        self.call("DeauthorizeConnection", name, |i| {
            if let Some(l) = i.live.get_mut(name) {
                l.status = Some("DEAUTHORIZED".into());
            }
            Ok(())
        })
    }
    fn delete_connection(&self, name: &str) -> impl Future<Output = Answer<()>> + Send {
        self.call("DeleteConnection", name, |i| Fake::remove(i, name))
    }
    fn create_api_destination(
        &self,
        name: &str,
        spec: &ApiDestinationSpec,
        connection_arn: &Arn,
    ) -> impl Future<Output = Answer<Written>> + Send {
        let mut spec = json(spec);
        spec["connectionArn"] = connection_arn.as_str().into();
        self.call("CreateApiDestination", name, move |i| {
            let arn = format!("arn:aws:events:fake:1:api-destination/{name}/1");
            Fake::put(i, name, arn.clone(), spec, Some("ACTIVE"));
            Ok(written(Arn::new(arn)))
        })
    }
    fn update_api_destination(
        &self,
        name: &str,
        spec: &ApiDestinationSpec,
        connection_arn: &Arn,
        _: &[FieldPath],
    ) -> impl Future<Output = Answer<Written>> + Send {
        let mut spec = json(spec);
        spec["connectionArn"] = connection_arn.as_str().into();
        self.call("UpdateApiDestination", name, move |i| {
            match i.live.get_mut(name) {
                Some(l) => {
                    l.spec = spec.into();
                    Ok(written(l.arn.clone()))
                }
                None => Fake::remove(i, name).map(|()| written(Arn::default())),
            }
        })
    }
    fn delete_api_destination(&self, name: &str) -> impl Future<Output = Answer<()>> + Send {
        self.call("DeleteApiDestination", name, |i| Fake::remove(i, name))
    }
    fn start_connector(
        &self,
        spec: &ConnectorSpec,
        extra_tags: &BTreeMap<String, String>,
    ) -> impl Future<Output = Answer<ResourceId>> + Send {
        let spec = json(spec);
        let tags = extra_tags.clone();
        let name = tags.values().next().cloned().unwrap_or_default();
        self.call("CreateConnector", &name, move |i| {
            i.next += 1;
            let id = format!("c-{:017x}", i.next);
            let arn = format!("arn:aws:transfer:fake:1:connector/{id}");
            Fake::put(i, &id, arn.clone(), spec, Some("ACTIVE"));
            if let Some(l) = i.live.get_mut(&id) {
                l.tags = tags;
            }
            Ok(ResourceId::name(id))
        })
    }
    fn update_connector(
        &self,
        id: &ConnectorId,
        spec: &ConnectorSpec,
        _: &[FieldPath],
    ) -> impl Future<Output = Answer<()>> + Send {
        let id = id.as_str();
        let spec = json(spec);
        self.call("UpdateConnector", id, move |i| match i.live.get_mut(id) {
            Some(l) => {
                l.spec = spec.into();
                Ok(())
            }
            None => Fake::remove(i, id),
        })
    }
    fn tag_connector(
        &self,
        arn: &Arn,
        _: &BTreeMap<String, String>,
    ) -> impl Future<Output = Answer<()>> + Send {
        self.call("TagResource", arn.as_str(), |_| Ok(()))
    }
    fn untag_connector(&self, arn: &Arn, _: &[String]) -> impl Future<Output = Answer<()>> + Send {
        self.call("UntagResource", arn.as_str(), |_| Ok(()))
    }
    fn delete_connector(&self, id: &ConnectorId) -> impl Future<Output = Answer<()>> + Send {
        let id = id.as_str();
        self.call("DeleteConnector", id, |i| Fake::remove(i, id))
    }
    fn create_by_id(
        &self,
        kind: Kind,
        spec: &SpecJson,
        _: &Secrets,
        extra_tags: &BTreeMap<String, String>,
    ) -> impl Future<Output = Answer<ResourceId>> + Send {
        let spec = as_described(kind, spec);
        let tags = extra_tags.clone();
        let name = tags.values().next().cloned().unwrap_or_default();
        self.call("Create", &name, move |i| {
            i.next += 1;
            let resource = kind.as_str().to_lowercase();
            let id = format!("{resource}-{:017x}", i.next);
            let arn = format!("arn:aws:transfer:fake:1:{resource}/{id}");
            Fake::put(i, &id, arn, spec, None);
            if let Some(l) = i.live.get_mut(&id) {
                l.tags = tags;
            }
            Ok(ResourceId::name(id))
        })
    }
    fn update_by_id(
        &self,
        kind: Kind,
        id: &ResourceId,
        spec: &SpecJson,
    ) -> impl Future<Output = Answer<()>> + Send {
        let id = id.as_str();
        let spec = as_described(kind, spec);
        self.call("Update", id, move |i| match i.live.get_mut(id) {
            Some(l) => {
                l.spec = spec.into();
                Ok(())
            }
            None => Fake::remove(i, id),
        })
    }
    fn delete_by_id(&self, kind: Kind, id: &ResourceId) -> impl Future<Output = Answer<()>> + Send {
        let id = id.as_str();
        let operation = match kind {
            Kind::Connector => "DeleteConnector",
            _ => "Delete",
        };
        self.call(operation, id, |i| Fake::remove(i, id))
    }
}

/// An answer with the ARN only: no state or time, as if AWS had said nothing more.
fn written(arn: Arn) -> Written {
    Written {
        arn,
        status: None,
        last_modified: None,
    }
}
