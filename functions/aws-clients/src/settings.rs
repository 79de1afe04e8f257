//! What the clients are built from: the variables Lambda sets for every function (the region and
//! the execution role's credentials) and the SDK's standard endpoint overrides, read at start-up
//! with every other setting. A bad value stops start-up with a message that names the variable.

use enrichment::settings::{Setting, SettingError, non_blank};

const AWS_REGION: Setting = Setting::env_only("AWS_REGION");
const AWS_ACCESS_KEY_ID: Setting = Setting::env_only("AWS_ACCESS_KEY_ID");
const AWS_SECRET_ACCESS_KEY: Setting = Setting::env_only("AWS_SECRET_ACCESS_KEY");
const AWS_SESSION_TOKEN: Setting = Setting::env_only("AWS_SESSION_TOKEN");
/// Every service's endpoint, unless the service has its own variable set.
const AWS_ENDPOINT_URL: Setting = Setting::env_only("AWS_ENDPOINT_URL");

/// A service the functions call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Firehose,
    S3,
    Lambda,
}

impl Service {
    /// The SDK's own endpoint variable for the service.
    pub fn endpoint_setting(self) -> Setting {
        match self {
            Self::Firehose => Setting::env_only("AWS_ENDPOINT_URL_FIREHOSE"),
            Self::S3 => Setting::env_only("AWS_ENDPOINT_URL_S3"),
            Self::Lambda => Setting::env_only("AWS_ENDPOINT_URL_LAMBDA"),
        }
    }
}

/// The region, the credentials and the endpoint overrides of the services a function calls.
#[derive(Clone, PartialEq, Eq)]
pub struct AwsSettings {
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
    /// For each service called: its endpoint (`AWS_ENDPOINT_URL_<SERVICE>`, else
    /// `AWS_ENDPOINT_URL`), when one is set.
    endpoints: Vec<(Service, String)>,
}

impl std::fmt::Debug for AwsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the credentials.
        f.debug_struct("AwsSettings")
            .field("region", &self.region)
            .field("endpoints", &self.endpoints)
            .finish_non_exhaustive()
    }
}

impl AwsSettings {
    /// The settings of a function that calls `services`. A missing region or credentials, or an
    /// endpoint that is not an http(s) URL, is an error that names the variable.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
        services: &[Service],
    ) -> Result<Self, SettingError> {
        let required = |setting: Setting, expected: &str| {
            non_blank(&lookup, setting).ok_or_else(|| SettingError::new(setting, "", expected))
        };
        let region = required(AWS_REGION, "an AWS region such as eu-west-1 (Lambda sets it)")?;
        let access_key_id =
            required(AWS_ACCESS_KEY_ID, "the access key of the function's role (Lambda sets it)")?;
        let secret_access_key =
            required(AWS_SECRET_ACCESS_KEY, "the secret key of the function's role (Lambda sets it)")?;
        let mut endpoints = Vec::new();
        for &service in services {
            if let Some(url) = endpoint_url(&lookup, service)? {
                endpoints.push((service, url));
            }
        }
        Ok(Self {
            region: region.trim().to_owned(),
            access_key_id,
            secret_access_key,
            session_token: non_blank(&lookup, AWS_SESSION_TOKEN),
            endpoints,
        })
    }

    /// Where `service` is called instead of AWS, if an endpoint was set for it.
    pub fn endpoint(&self, service: Service) -> Option<&str> {
        self.endpoints.iter().find(|(each, _)| *each == service).map(|(_, url)| url.as_str())
    }
}

/// The SDK's endpoint override for one service: its own variable, else `AWS_ENDPOINT_URL`; an
/// http(s) URL.
fn endpoint_url(
    lookup: impl Fn(&str) -> Option<String>,
    service: Service,
) -> Result<Option<String>, SettingError> {
    let endpoint = [service.endpoint_setting(), AWS_ENDPOINT_URL]
        .into_iter()
        .find_map(|setting| non_blank(&lookup, setting).map(|url| (setting, url)));
    match endpoint {
        Some((setting, url)) if !(url.starts_with("http://") || url.starts_with("https://")) => {
            Err(SettingError::new(setting, &url, "an http:// or https:// URL"))
        }
        Some((_, url)) => Ok(Some(url)),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(variables: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        |name| variables.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned())
    }

    const LAMBDA: [(&str, &str); 4] = [
        ("AWS_REGION", "eu-west-1"),
        ("AWS_ACCESS_KEY_ID", "ASIAEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
        ("AWS_SESSION_TOKEN", "token"),
    ];

    fn settings(variables: &[(&str, &str)], services: &[Service]) -> Result<AwsSettings, String> {
        AwsSettings::from_lookup(lookup(variables), services).map_err(|error| error.to_string())
    }

    #[test]
    fn the_lambda_environment_is_enough() {
        let aws = settings(&LAMBDA, &[Service::Firehose]).unwrap();
        assert_eq!((aws.region.as_str(), aws.session_token.as_deref()), ("eu-west-1", Some("token")));
        assert_eq!(aws.endpoint(Service::Firehose), None);
        assert!(settings(&LAMBDA[..3], &[Service::Firehose]).is_ok(), "long-term keys have no session token");
        let debug = format!("{aws:?}");
        assert!(!debug.contains("secret") && !debug.contains("ASIAEXAMPLE"), "{debug}");
    }

    #[test]
    fn missing_region_or_credentials_are_named() {
        for missing in ["AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
            let variables: Vec<_> = LAMBDA.iter().copied().filter(|(name, _)| *name != missing).collect();
            let error = settings(&variables, &[]).unwrap_err();
            assert!(error.contains(missing), "{missing}: {error}");
            let mut blank = variables.clone();
            blank.push((missing, "  "));
            assert!(settings(&blank, &[]).unwrap_err().contains(missing), "{missing} blank");
        }
    }

    #[test]
    fn each_service_takes_its_own_endpoint_before_the_general_one() {
        let mut variables = LAMBDA.to_vec();
        variables.push(("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"));
        variables.push(("AWS_ENDPOINT_URL_LAMBDA", "http://127.0.0.1:7000"));
        let all = [Service::Firehose, Service::S3, Service::Lambda];
        let aws = settings(&variables, &all).unwrap();
        assert_eq!(aws.endpoint(Service::S3), Some("http://127.0.0.1:5000"));
        assert_eq!(aws.endpoint(Service::Firehose), Some("http://127.0.0.1:5000"));
        assert_eq!(aws.endpoint(Service::Lambda), Some("http://127.0.0.1:7000"));
        // A service the function does not call has no endpoint, and its variable is not read.
        variables.push(("AWS_ENDPOINT_URL_S3", "s3.local"));
        let firehose_only = settings(&variables, &[Service::Firehose]).unwrap();
        assert_eq!(firehose_only.endpoint(Service::S3), None);
        let error = settings(&variables, &all).unwrap_err();
        assert!(error.contains("AWS_ENDPOINT_URL_S3") && error.contains("s3.local"), "{error}");
    }

    #[test]
    fn an_endpoint_must_be_an_http_url() {
        for setting in ["AWS_ENDPOINT_URL_FIREHOSE", "AWS_ENDPOINT_URL"] {
            let mut variables = LAMBDA.to_vec();
            variables.push((setting, "localhost:5000"));
            let error = settings(&variables, &[Service::Firehose]).unwrap_err();
            assert!(error.contains(setting) && error.contains("localhost:5000"), "{error}");
            assert!(error.contains("http://"), "{error}");
        }
        let mut variables = LAMBDA.to_vec();
        variables.push(("AWS_ENDPOINT_URL_FIREHOSE", "https://firehose.example"));
        variables.push(("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"));
        let aws = settings(&variables, &[Service::Firehose]).unwrap();
        assert_eq!(aws.endpoint(Service::Firehose), Some("https://firehose.example"));
    }
}
