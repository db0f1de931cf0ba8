//! An in-process double of AWS for unit tests of the engine: resources in memory, every
//! call logged, statuses scripted per resource (what Describe reports next), and failures
//! armed per operation. Not a model of AWS: the emulator tests cover AWS's behaviour.

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::sync::Mutex;

use serde_json::Value;

use super::cloud::Cloud;
use super::events::{Secrets, Written};
use super::{AwsError, ErrorClass, Live};
use crate::resource::{
    ApiDestinationSpec, Arn, ConnectionSpec, ConnectorId, ConnectorSpec, FieldPath, ResourceId,
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

    /// Every call so far, as `Operation id`.
    pub fn calls(&self) -> Vec<String> {
        self.lock().calls.clone()
    }

    pub fn live(&self, id: &str) -> Option<Live> {
        self.lock().live.get(id).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Logs the call, then fails it if armed, else runs `f` on the state.
    fn call<T>(
        &self,
        operation: &'static str,
        id: &str,
        f: impl FnOnce(&mut Inner) -> Answer<T>,
    ) -> std::future::Ready<Answer<T>> {
        let mut inner = self.lock();
        inner.calls.push(format!("{operation} {id}"));
        let result = match inner.fail.get(operation) {
            Some(message) => Err(AwsError {
                operation,
                class: ErrorClass::AccessDenied,
                code: Some("AccessDeniedException".into()),
                message: message.clone(),
            }),
            None => f(&mut inner),
        };
        std::future::ready(result)
    }

    fn put(inner: &mut Inner, id: &str, arn: String, spec: Value, status: Option<&str>) {
        inner.live.insert(
            id.to_owned(),
            Live {
                id: ResourceId::name(id),
                arn: Arn::new(arn),
                spec,
                status: status.map(str::to_owned),
                status_reason: None,
                last_modified: None,
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

fn json<T: serde::Serialize>(spec: &T) -> Value {
    serde_json::to_value(spec).unwrap_or_default()
}

impl Cloud for Fake {
    fn describe_connection(&self, name: &str) -> impl Future<Output = Answer<Option<Live>>> + Send {
        self.call("DescribeConnection", name, |i| Fake::describe(i, name))
    }
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
        let spec = json(spec);
        self.call("UpdateConnection", name, move |i| {
            match i.live.get_mut(name) {
                Some(l) => {
                    l.spec = spec;
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
                    l.spec = spec;
                    Ok(written(l.arn.clone()))
                }
                None => Fake::remove(i, name).map(|()| written(Arn::default())),
            }
        })
    }
    fn delete_api_destination(&self, name: &str) -> impl Future<Output = Answer<()>> + Send {
        self.call("DeleteApiDestination", name, |i| Fake::remove(i, name))
    }
    fn describe_connector(
        &self,
        id: &ConnectorId,
    ) -> impl Future<Output = Answer<Option<Live>>> + Send {
        let id = id.as_str();
        self.call("DescribeConnector", id, |i| Fake::describe(i, id))
    }
    fn start_connector(
        &self,
        spec: &ConnectorSpec,
        extra_tags: &BTreeMap<String, String>,
    ) -> impl Future<Output = Answer<ConnectorId>> + Send {
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
            ConnectorId::parse(&id).map_err(|e| AwsError {
                operation: "CreateConnector",
                class: ErrorClass::Other,
                code: None,
                message: e.to_string(),
            })
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
                l.spec = spec;
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
}

/// An answer with the ARN only: no state or time, as if AWS had said nothing more.
fn written(arn: Arn) -> Written {
    Written {
        arn,
        status: None,
        last_modified: None,
    }
}
