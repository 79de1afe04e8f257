//! Fields of the source rather than of the line: static fields from `ADD_FIELDS`
//! (`service.name=shop,labels.team=web`), `cloud.*` from the event's ARNs and the Lambda
//! environment, and an ECS task's container from its `awslogs` stream name.

use serde_json::{Map, Value};

use super::json::ObjectWriter;
use super::schema;

/// The fields `ADD_FIELDS` may set, besides `labels.<name>`.
pub const ADDABLE_FIELDS: [&str; 14] = [
    "service.name",
    "service.environment",
    "service.version",
    "service.id",
    "service.node.name",
    "host.name",
    "host.hostname",
    "host.id",
    "organization.name",
    "organization.id",
    "cloud.provider",
    "cloud.region",
    "cloud.account.id",
    "cloud.availability_zone",
];

/// The longest value `ADD_FIELDS` takes: the index template indexes keywords up to this length.
const MAX_VALUE_CHARS: usize = 1024;

/// The fields every document of a source carries, from `ADD_FIELDS`; built once at start-up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddedFields {
    /// `cloud.*` set by the setting: they win over what the event says.
    cloud: CloudFields,
    /// The other objects (`host`, `labels`, `organization`, `service`), rendered as members:
    /// `,"host":{...},"service":{...}`, or empty.
    members: Vec<u8>,
}

/// `cloud.*` values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct CloudFields {
    provider: Option<String>,
    region: Option<String>,
    account_id: Option<String>,
    availability_zone: Option<String>,
}

impl AddedFields {
    /// Reads `name=value` pairs separated by commas; names are [`ADDABLE_FIELDS`] and
    /// `labels.<name>`. The error says which pair is not accepted and why.
    pub fn parse(value: &str) -> Result<Self, String> {
        let mut added = Self::default();
        let mut others = Map::new();
        let mut seen = Vec::new();
        for (index, pair) in value.split(',').enumerate().filter(|(_, pair)| !pair.trim().is_empty()) {
            let position = index + 1;
            let Some((name, field_value)) = pair.split_once('=') else {
                return Err(format!("pair {position} ({:?}) is not name=value", pair.trim()));
            };
            let (name, field_value) = (name.trim(), field_value.trim());
            check_name(name).map_err(|why| format!("pair {position} ({:?}): {why}", pair.trim()))?;
            if field_value.is_empty() || field_value.chars().count() > MAX_VALUE_CHARS {
                return Err(format!(
                    "pair {position} ({:?}): a value has 1 to {MAX_VALUE_CHARS} characters",
                    pair.trim()
                ));
            }
            if seen.contains(&name) {
                return Err(format!("pair {position}: {name} is set twice"));
            }
            seen.push(name);
            let value = Some(field_value.to_owned());
            match name {
                "cloud.provider" => added.cloud.provider = value,
                "cloud.region" => added.cloud.region = value,
                "cloud.account.id" => added.cloud.account_id = value,
                "cloud.availability_zone" => added.cloud.availability_zone = value,
                _ => insert_dotted(&mut others, name, field_value),
            }
        }
        if !others.is_empty() {
            let object = serde_json::to_vec(&Value::Object(others)).expect("strings always serialize");
            // `{"host":...}` ─▶ `,"host":...`: members appended after the document's others.
            added.members.push(b',');
            added.members.extend_from_slice(&object[1..object.len() - 1]);
        }
        Ok(added)
    }

    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Whether the setting names a `cloud.*` field.
    #[inline(always)]
    pub(super) fn sets_cloud(&self) -> bool {
        self.cloud != CloudFields::default()
    }
}

/// What a name must be: one of [`ADDABLE_FIELDS`], or `labels.` and a label name.
fn check_name(name: &str) -> Result<(), String> {
    if ADDABLE_FIELDS.contains(&name) {
        return Ok(());
    }
    if let Some(label) = name.strip_prefix("labels.") {
        let valid = !label.is_empty()
            && label.len() <= 100
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        return if valid {
            Ok(())
        } else {
            Err(format!(
                "a label name has 1 to 100 letters, digits, '_' or '-' (no dot: ECS labels are flat); {label:?} is not one"
            ))
        };
    }
    Err(format!("unknown field {name:?}; fields are {}, labels.<name>", ADDABLE_FIELDS.join(", ")))
}

/// Sets `service.node.name` in `object` as `{"service":{"node":{"name":value}}}`.
fn insert_dotted(object: &mut Map<String, Value>, name: &str, value: &str) {
    match name.split_once('.') {
        // Labels are flat: `labels.team-a` is one key, whatever it holds.
        Some(("labels", label)) => {
            let labels = object.entry("labels").or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(labels) = labels {
                labels.insert(label.to_owned(), Value::String(value.to_owned()));
            }
        }
        Some((head, rest)) => {
            let child = object.entry(head).or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(child) = child {
                insert_dotted(child, rest, value);
            }
        }
        None => {
            object.insert(name.to_owned(), Value::String(value.to_owned()));
        }
    }
}

/// The AWS account and region an event's resources belong to, for `cloud.*`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CloudOrigin<'a> {
    pub region: Option<&'a str>,
    pub account_id: Option<&'a str>,
}

impl<'a> CloudOrigin<'a> {
    /// The region and account of an ARN (`arn:aws:kinesis:eu-west-1:123456789012:stream/web`);
    /// `fallback_region` (the function's own) where the ARN names none.
    pub fn of_arn(arn: Option<&'a str>, fallback_region: Option<&'a str>) -> Self {
        let mut parts = arn.unwrap_or_default().split(':');
        let (region, account) = match (parts.next(), parts.next(), parts.next()) {
            (Some("arn"), Some(_partition), Some(_service)) => (parts.next(), parts.next()),
            _ => (None, None),
        };
        Self {
            region: region.filter(|region| !region.is_empty()).or(fallback_region),
            account_id: account.filter(|account| is_account_id(account)),
        }
    }

    /// The same, with the account `owner` (a CloudWatch Logs envelope's: the account the log was
    /// written in) when it is one.
    pub fn owned_by(self, owner: &'a str) -> Self {
        if is_account_id(owner) { Self { account_id: Some(owner), ..self } } else { self }
    }
}

/// An AWS account id: twelve digits.
fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

/// `cloud.*`: the setting's values, else the event's (with `cloud.provider` `aws`).
pub(super) fn write_cloud(doc: &mut ObjectWriter<'_>, origin: Option<CloudOrigin<'_>>, added: &AddedFields) {
    let set = &added.cloud;
    let origin = origin.unwrap_or_default();
    let from_event = origin != CloudOrigin::default();
    let provider = set.provider.as_deref().or(from_event.then_some("aws"));
    let region = set.region.as_deref().or(origin.region);
    let account = set.account_id.as_deref().or(origin.account_id);
    if provider.is_none() && region.is_none() && account.is_none() && set.availability_zone.is_none() {
        return;
    }
    doc.open(schema::CLOUD);
    if let Some(provider) = provider {
        doc.string(schema::PROVIDER, provider);
    }
    if let Some(region) = region {
        doc.string(schema::REGION, region);
    }
    if let Some(zone) = &set.availability_zone {
        doc.string(schema::AVAILABILITY_ZONE, zone);
    }
    if let Some(account) = account {
        doc.open(schema::ACCOUNT);
        doc.string(schema::ID, account);
        doc.close();
    }
    doc.close();
}

/// The setting's other objects (`host`, `labels`, `organization`, `service`).
#[inline(always)]
pub(super) fn write_added_members(doc: &mut ObjectWriter<'_>, added: &AddedFields) {
    if !added.members.is_empty() {
        doc.members(&added.members);
    }
}

/// The container and task of an ECS task's `awslogs` stream, `prefix/container-name/task-id`
/// (the task id: 32 hex digits, or a UUID in the older ARN format).
pub fn ecs_container(log_stream: &str) -> Option<(&str, &str)> {
    let mut parts = log_stream.rsplitn(3, '/');
    let (task, container, _prefix) = (parts.next()?, parts.next()?, parts.next()?);
    let task_id = match task.len() {
        32 => task.bytes().all(|b| b.is_ascii_hexdigit()),
        36 => task
            .bytes()
            .enumerate()
            .all(|(at, b)| if [8, 13, 18, 23].contains(&at) { b == b'-' } else { b.is_ascii_hexdigit() }),
        _ => false,
    };
    (task_id && !container.is_empty()).then_some((container, task))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(origin: Option<CloudOrigin<'_>>, added: &AddedFields) -> String {
        let mut out = Vec::new();
        let mut doc = ObjectWriter::new(&mut out);
        doc.number(schema::PORT, 1);
        write_cloud(&mut doc, origin, added);
        write_added_members(&mut doc, added);
        doc.finish();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn added_fields_nest_as_their_dotted_names_say() {
        let added = AddedFields::parse(
            " service.name=shop, service.environment = prod,labels.team=web,labels.cost-centre=42,service.node.name=a=b,host.name=web-1",
        )
        .unwrap();
        assert_eq!(
            render(None, &added),
            r#"{"port":1,"host":{"name":"web-1"},"labels":{"cost-centre":"42","team":"web"},"service":{"environment":"prod","name":"shop","node":{"name":"a=b"}}}"#
        );
        assert!(AddedFields::parse("").unwrap().is_empty());
        assert!(AddedFields::parse(" , ").unwrap().is_empty());
        assert_eq!(render(None, &AddedFields::default()), r#"{"port":1}"#);
    }

    #[test]
    fn values_are_escaped_as_json() {
        let added = AddedFields::parse(r#"labels.quote=say "hi" \ bye"#).unwrap();
        assert_eq!(render(None, &added), r#"{"port":1,"labels":{"quote":"say \"hi\" \\ bye"}}"#);
    }

    #[test]
    fn a_setting_wins_over_the_event_for_cloud_fields() {
        let event = CloudOrigin::of_arn(Some("arn:aws:kinesis:eu-west-1:123456789012:stream/web"), None);
        assert_eq!(event, CloudOrigin { region: Some("eu-west-1"), account_id: Some("123456789012") });
        assert_eq!(
            render(Some(event), &AddedFields::default()),
            r#"{"port":1,"cloud":{"provider":"aws","region":"eu-west-1","account":{"id":"123456789012"}}}"#
        );
        let added =
            AddedFields::parse("cloud.account.id=210987654321,cloud.availability_zone=eu-west-1a").unwrap();
        assert_eq!(
            render(Some(event), &added),
            r#"{"port":1,"cloud":{"provider":"aws","region":"eu-west-1","availability_zone":"eu-west-1a","account":{"id":"210987654321"}}}"#
        );
        // Without an event (enrich-logs), only what the setting says.
        assert_eq!(
            render(None, &added),
            r#"{"port":1,"cloud":{"availability_zone":"eu-west-1a","account":{"id":"210987654321"}}}"#
        );
    }

    #[test]
    fn arns_and_owners_give_what_they_hold() {
        let fallback = Some("us-east-1");
        // S3 bucket ARNs name neither region nor account.
        assert_eq!(
            CloudOrigin::of_arn(Some("arn:aws:s3:::logs"), fallback),
            CloudOrigin { region: fallback, account_id: None }
        );
        assert_eq!(CloudOrigin::of_arn(None, fallback), CloudOrigin { region: fallback, account_id: None });
        assert_eq!(CloudOrigin::of_arn(Some("not an arn"), None), CloudOrigin::default());
        let china =
            CloudOrigin::of_arn(Some("arn:aws-cn:firehose:cn-north-1:123456789012:deliverystream/x"), None);
        assert_eq!(china.region, Some("cn-north-1"));
        let owned = china.owned_by("210987654321");
        assert_eq!(owned.account_id, Some("210987654321"));
        // CloudWatch Logs' own control messages say `CloudwatchLogs`: not an account.
        assert_eq!(china.owned_by("CloudwatchLogs"), china);
    }

    #[test]
    fn names_values_and_pairs_not_accepted_are_explained() {
        fn error(value: &str) -> String {
            AddedFields::parse(value).unwrap_err()
        }
        assert!(error("service.name").contains("pair 1 (\"service.name\") is not name=value"));
        let unknown = error("service.name=a,user.name=root");
        assert!(unknown.contains("pair 2 (\"user.name=root\"): unknown field \"user.name\""), "{unknown}");
        assert!(unknown.contains("service.name, service.environment"), "{unknown}");
        assert!(error("labels.a.b=1").contains("no dot"));
        assert!(error("labels.=1").contains("label name"));
        assert!(error("service.name=").contains("1 to 1024 characters"));
        assert!(error(&format!("service.name={}", "x".repeat(1025))).contains("1 to 1024 characters"));
        assert!(error("labels.a=1,labels.a=2").contains("labels.a is set twice"));
    }

    #[test]
    fn ecs_task_streams_name_their_container_and_task() {
        assert_eq!(
            ecs_container("web/apache/0123456789abcdef0123456789abcdef"),
            Some(("apache", "0123456789abcdef0123456789abcdef"))
        );
        assert_eq!(
            ecs_container("my/prefix/nginx/01234567-89ab-cdef-0123-456789abcdef"),
            Some(("nginx", "01234567-89ab-cdef-0123-456789abcdef"))
        );
        for stream in [
            "i-0123456789abcdef0",
            "web/apache/1",
            "apache/0123456789abcdef0123456789abcdef",
            "web//0123456789abcdef0123456789abcdef",
            "web/apache/0123456789abcdef0123456789abcdeg",
            "web/apache/01234567089ab-cdef-0123-456789abcdef",
        ] {
            assert_eq!(ecs_container(stream), None, "{stream}");
        }
    }
}
