//! Errors from AWS calls, with the service's own code and message kept.

/// An AWS call failed.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// The SDK could not be configured (bad region, profile or endpoint).
    #[error("AWS configuration: {0}")]
    Config(String),
    /// The service answered with an error (code and message from AWS).
    #[error("{operation}: {code}: {message}")]
    Service {
        /// The API operation, e.g. `DescribeAvailabilityZones`.
        operation: &'static str,
        /// The AWS error code, e.g. `UnauthorizedOperation`.
        code: String,
        /// The AWS error message.
        message: String,
    },
    /// The call never got an answer (connection refused, timeout, …).
    #[error("{operation}: could not reach AWS: {detail}")]
    Transport {
        /// The API operation.
        operation: &'static str,
        /// What went wrong, with its causes.
        detail: String,
    },
}

impl AwsError {
    /// Builds an [`AwsError`] from an SDK error.
    pub(crate) fn from_sdk<E, R>(
        operation: &'static str,
        err: aws_smithy_runtime_api::client::result::SdkError<E, R>,
    ) -> AwsError
    where
        E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        use aws_smithy_runtime_api::client::result::SdkError;
        match &err {
            SdkError::ServiceError(se) => {
                let e = se.err();
                AwsError::Service {
                    operation,
                    code: e.code().unwrap_or("Unknown").to_string(),
                    message: e.message().unwrap_or("").to_string(),
                }
            }
            _ => AwsError::Transport {
                operation,
                detail: chain(&err),
            },
        }
    }
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
