//! `s3://bucket/prefix` locations: an S3 client configured as the AWS
//! tools configure theirs (the `AWS_*` environment, web identity for
//! pods), plus `--s3-endpoint` for S3-compatible servers, under the bucket
//! store.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use object_store::aws::{AmazonS3Builder, Checksum};
use object_store::client::{
    ClientOptions, HttpClient, HttpConnector, HttpError, HttpRequest, HttpResponse, HttpService, ReqwestConnector,
};
use object_store::{BackoffConfig, RetryConfig};

use super::bucket::{Bucket, BucketStore};

/// How the user reaches object storage, from the command line.
#[derive(Debug, Clone)]
pub struct S3Options {
    /// `--s3-endpoint`: an S3-compatible server (path-style addressing).
    pub endpoint: Option<String>,
    /// `--s3-part-size`: bytes per part of a multipart upload.
    pub part_size: u64,
}

/// 8 MiB: S3's minimum is 5 MiB, and memory per worker is about
/// part size × (parts in flight + 1).
pub const DEFAULT_PART_SIZE: u64 = 8 << 20;

impl Default for S3Options {
    fn default() -> Self {
        S3Options { endpoint: None, part_size: DEFAULT_PART_SIZE }
    }
}

/// The endpoint variables the AWS tools read, first wins.
const ENDPOINT_VARS: [&str; 3] = ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ENDPOINT"];

/// The store of `s3://bucket/prefix`.
pub fn open(location: &str, options: &S3Options) -> anyhow::Result<BucketStore> {
    let Some(rest) = location.strip_prefix("s3://") else { bail!("{location} is not an s3:// location") };
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        bail!("dump location {location}: no bucket (write s3://bucket/prefix)");
    }
    let prefix = prefix.trim_end_matches('/');
    if !prefix.is_empty() {
        super::contract::check_key(prefix).with_context(|| format!("dump location {location}: bad prefix"))?;
    }
    if options.part_size < 64 << 10 || options.part_size > 5 << 30 {
        bail!("--s3-part-size {} is out of range 64KiB..5GiB (S3 itself refuses parts under 5MiB)", options.part_size);
    }
    let retried = Arc::new(AtomicU64::new(0));
    let mut builder = AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .with_retry(RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_secs(5),
                base: 2.0,
            },
            max_retries: 5,
            retry_timeout: Duration::from_secs(120),
        })
        .with_checksum_algorithm(Checksum::SHA256)
        .with_http_connector(Counting { retried: retried.clone() });
    let endpoint = options.endpoint.clone().or_else(|| ENDPOINT_VARS.iter().find_map(|var| std::env::var(var).ok()));
    if let Some(endpoint) = &endpoint {
        url::Url::parse(endpoint).with_context(|| format!("the S3 endpoint '{endpoint}' is not a URL"))?;
        // Naming a plain-HTTP endpoint is asking for it, as with the AWS CLI.
        builder = builder.with_endpoint(endpoint).with_allow_http(endpoint.starts_with("http://"));
    }
    let s3 =
        Arc::new(builder.build().map_err(|e| anyhow::anyhow!("dump location {location}: {}", explain(&e, bucket).1))?);
    let bucket = Bucket {
        objects: s3.clone(),
        multipart: s3,
        location: location.trim_end_matches('/').to_owned(),
        bucket: bucket.to_owned(),
        prefix: prefix.to_owned(),
        retried,
        explain,
    };
    Ok(BucketStore::new(bucket, usize::try_from(options.part_size)?)?)
}

/// Why a request failed, in one line: the server's error code and HTTP
/// status, or the transport error, and the retries spent. Never the
/// request (its signature's inputs), the response body's other fields or
/// a credential. Reads the error's text: the client's error types are not
/// public.
pub fn explain(error: &object_store::Error, bucket: &str) -> (Option<io::ErrorKind>, String) {
    let mut chain = vec![error.to_string()];
    let mut source = std::error::Error::source(error);
    while let Some(e) = source {
        chain.push(e.to_string());
        source = e.source();
    }
    let all = chain.join(": ");
    let retries = between(&all, "after ", " retries").map(|n| format!(", after {n} retries")).unwrap_or_default();
    if let Some(code) = between(&all, "<Code>", "</Code>") {
        let status = between(&all, "status code: ", ":").map(|s| format!(" (HTTP {s})")).unwrap_or_default();
        return match code {
            "NoSuchBucket" => (Some(io::ErrorKind::NotFound), format!("bucket {bucket} does not exist")),
            "InvalidAccessKeyId" | "SignatureDoesNotMatch" => (
                Some(io::ErrorKind::PermissionDenied),
                format!(
                    "the credentials were refused ({code}{status}): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
                ),
            ),
            "AccessDenied" => (Some(io::ErrorKind::PermissionDenied), format!("access denied{status}")),
            code => (None, format!("{code}{status}{retries}")),
        };
    }
    if let Some(status) = between(&all, "status code: ", ":").or_else(|| between(&all, "status code: ", "\n")) {
        return (None, format!("HTTP {status}{retries}"));
    }
    if let object_store::Error::NotFound { .. } = error {
        return (None, "no such object".to_owned());
    }
    // A transport error: its deepest cause says it best ("Connection
    // refused (os error 111)").
    let deepest = chain.last().map(String::as_str).unwrap_or_default();
    let what = if all.contains("error sending request") || all.contains("Connect") {
        "cannot reach the endpoint"
    } else {
        "request failed"
    };
    (None, format!("{what}: {}{retries}", first_line(deepest)))
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(text[from..from + len].trim()).filter(|s| !s.is_empty())
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// The client's HTTP layer with a count of the requests that failed in a
/// way the client retries (5xx, 429, 408, transport errors): the
/// summary's "storage requests retried", and a warning line for each.
#[derive(Debug)]
struct Counting {
    retried: Arc<AtomicU64>,
}

impl HttpConnector for Counting {
    fn connect(&self, options: &ClientOptions) -> object_store::Result<HttpClient> {
        let inner = ReqwestConnector::default().connect(options)?;
        Ok(HttpClient::new(CountingService { inner, retried: self.retried.clone() }))
    }
}

#[derive(Debug)]
struct CountingService {
    inner: HttpClient,
    retried: Arc<AtomicU64>,
}

#[async_trait::async_trait]
impl HttpService for CountingService {
    async fn call(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        // The path only: no query, no header (the signature is a header).
        let what = format!("{} {}", request.method(), request.uri().path());
        let answer = self.inner.execute(request).await;
        let why = match &answer {
            Ok(response) => {
                let status = response.status();
                (status.is_server_error() || status.as_u16() == 429 || status.as_u16() == 408)
                    .then(|| format!("HTTP {status}"))
            }
            Err(e) => Some(format!("{:?} error", e.kind())),
        };
        if let Some(why) = why {
            self.retried.fetch_add(1, Ordering::Relaxed);
            tracing::warn!("storage request {what} failed ({why}); retrying while tries remain");
        }
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_is_explained_by_its_code_never_by_the_request() {
        let body = "Server returned non-2xx status code: 403 Forbidden: <?xml version=\"1.0\"?><Error>\
                    <Code>SignatureDoesNotMatch</Code><AWSAccessKeyId>AKIAEXAMPLE</AWSAccessKeyId>\
                    <StringToSign>AWS4-HMAC-SHA256 secret-looking</StringToSign></Error>";
        let error = object_store::Error::Generic { store: "S3", source: body.into() };
        let (kind, why) = explain(&error, "b");
        assert_eq!(kind, Some(io::ErrorKind::PermissionDenied));
        assert!(why.starts_with("the credentials were refused (SignatureDoesNotMatch (HTTP 403 Forbidden))"), "{why}");
        assert!(!why.contains("AKIAEXAMPLE") && !why.contains("StringToSign"), "{why}");
        let missing = object_store::Error::Generic {
            store: "S3",
            source: "status code: 404 Not Found: <Error><Code>NoSuchBucket</Code></Error>".into(),
        };
        assert_eq!(
            explain(&missing, "backups"),
            (Some(io::ErrorKind::NotFound), "bucket backups does not exist".to_owned())
        );
        let refused = object_store::Error::Generic {
            store: "S3",
            source: "Error performing GET http://h/b/k in 3s, after 5 retries - error sending request: Connection refused (os error 111)".into(),
        };
        let (kind, why) = explain(&refused, "b");
        assert_eq!(kind, None);
        assert!(why.starts_with("cannot reach the endpoint") && why.ends_with("after 5 retries"), "{why}");
    }

    #[test]
    fn locations_and_part_sizes_are_checked() {
        let options = S3Options::default();
        for (location, says) in [("s3://", "no bucket"), ("s3:///p", "no bucket"), ("s3://b/../x", "bad prefix")] {
            let error = format!("{:#}", open(location, &options).err().expect("refused"));
            assert!(error.contains(says), "{location}: {error}");
        }
        let tiny = S3Options { part_size: 1000, ..S3Options::default() };
        let error = open("s3://b/p", &tiny).err().expect("refused").to_string();
        assert!(error.contains("--s3-part-size"), "{error}");
    }
}
