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

/// Error codes AWS uses for throttling and server-side trouble: a later
/// attempt of the same call may succeed (the SDK's standard retry mode
/// retries them too).
const TRANSIENT_CODES: [&str; 12] = [
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
    "Unavailable",
    "RequestTimeout",
    "RequestTimeoutException",
];

impl AwsError {
    /// The AWS error code, when the service answered.
    pub fn code(&self) -> Option<&str> {
        match self {
            AwsError::Service { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Whether the same call may succeed later: throttling, a server-side
    /// error, or no answer at all. Such a call may also have taken effect
    /// (its answer was lost), so a repeat must be safe.
    pub fn is_transient(&self) -> bool {
        match self {
            AwsError::Config(_) => false,
            AwsError::Service { code, .. } => TRANSIENT_CODES.contains(&code.as_str()),
            AwsError::Transport { .. } => true,
        }
    }

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

#[cfg(test)]
mod tests {
    use super::AwsError;

    fn service(code: &str) -> AwsError {
        AwsError::Service {
            operation: "RunInstances",
            code: code.into(),
            message: String::new(),
        }
    }

    #[test]
    fn throttling_server_errors_and_lost_answers_are_transient() {
        for code in [
            "RequestLimitExceeded",
            "InternalError",
            "Throttling",
            "PriorRequestNotComplete",
            "InternalFailure",
        ] {
            assert!(service(code).is_transient(), "{code}");
        }
        for code in [
            "InvalidGroup.Duplicate",
            "InvalidChangeBatch",
            "UnauthorizedOperation",
        ] {
            assert!(!service(code).is_transient(), "{code}");
        }
        let lost = AwsError::Transport {
            operation: "RunInstances",
            detail: "connection reset".into(),
        };
        assert!(lost.is_transient());
        assert!(!AwsError::Config("no region".into()).is_transient());
        assert_eq!(service("Throttling").code(), Some("Throttling"));
        assert_eq!(lost.code(), None);
    }

    #[test]
    fn the_message_names_the_operation_and_the_aws_code() {
        assert_eq!(
            service("RequestLimitExceeded").to_string(),
            "RunInstances: RequestLimitExceeded: "
        );
    }
}
