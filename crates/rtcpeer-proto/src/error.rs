//! The one error type of rtcpeer. Its [`ErrorKind`] is the DOMException (or JS error) name
//! that the W3C spec requires for the failure, so `err.name()` reads like a browser's `e.name`.

use std::fmt;

/// The DOMException / JS error name a failure maps to (W3C webrtc-pc, WebIDL §3.14).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The object is in a state where the operation is not allowed (`InvalidStateError`).
    InvalidState,
    /// A parameter or object is not supported or not allowed here (`InvalidAccessError`).
    InvalidAccess,
    /// The operation would modify something that cannot be modified (`InvalidModificationError`).
    InvalidModification,
    /// An operation failed for an operation-specific reason (`OperationError`, also `RTCError`).
    Operation,
    /// A string did not match the expected grammar (`SyntaxError`).
    Syntax,
    /// The operation or value is not supported (`NotSupportedError`).
    NotSupported,
    /// An argument had the wrong type or shape (`TypeError`, WebIDL conversion failures).
    Type,
    /// A numeric argument was out of its allowed range (`RangeError`).
    Range,
    /// An input could not be read, e.g. the identity provider failed (`NotReadableError`).
    NotReadable,
    /// A string contained a character that is not allowed (`InvalidCharacterError`).
    InvalidCharacter,
}

impl ErrorKind {
    /// The DOMException / JS error name, exactly as a browser reports it in `e.name`.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::InvalidState => "InvalidStateError",
            ErrorKind::InvalidAccess => "InvalidAccessError",
            ErrorKind::InvalidModification => "InvalidModificationError",
            ErrorKind::Operation => "OperationError",
            ErrorKind::Syntax => "SyntaxError",
            ErrorKind::NotSupported => "NotSupportedError",
            ErrorKind::Type => "TypeError",
            ErrorKind::Range => "RangeError",
            ErrorKind::NotReadable => "NotReadableError",
            ErrorKind::InvalidCharacter => "InvalidCharacterError",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The `errorDetail` of an `RTCError` (W3C webrtc-pc §11.1.2), carried by `OperationError`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorDetail {
    /// The data channel failed ("data-channel-failure").
    DataChannelFailure,
    /// The DTLS transport failed ("dtls-failure").
    DtlsFailure,
    /// The remote certificate did not match the signalled fingerprint ("fingerprint-failure").
    FingerprintFailure,
    /// The SCTP transport failed ("sctp-failure"), with the SCTP cause code when known.
    SctpFailure {
        /// The SCTP error cause code (RFC 9260 §3.3.10), if one was received.
        cause_code: Option<u16>,
    },
    /// The SDP did not parse ("sdp-syntax-error"), with the 1-based line number when known.
    SdpSyntaxError {
        /// The 1-based line of the SDP where parsing failed.
        line: Option<usize>,
    },
    /// The identity provider failed ("idp-execution-failure").
    IdpExecutionFailure,
    /// No identity provider could be loaded for the asserted domain ("idp-load-failure",
    /// webrtc-identity "IdP Error Handling").
    IdpLoadFailure,
    /// The identity provider did not answer in time ("idp-timeout", webrtc-identity
    /// "IdP Error Handling": 15 s).
    IdpTimeout,
    /// The identity provider needs the user to log in ("idp-need-login"); the error's
    /// [`Error::idp_login_url`] says where (webrtc-identity "IdP Error Handling").
    IdpNeedLogin,
    /// The connection to the identity provider failed TLS validation ("idp-tls-failure").
    IdpTlsFailure,
    /// The identity provider says the assertion's token has expired ("idp-token-expired").
    IdpTokenExpired,
    /// The identity provider says the assertion's token is invalid ("idp-token-invalid").
    IdpTokenInvalid,
}

impl ErrorDetail {
    /// The W3C `RTCErrorDetailType` string.
    pub fn as_str(&self) -> &'static str {
        match self {
            ErrorDetail::DataChannelFailure => "data-channel-failure",
            ErrorDetail::DtlsFailure => "dtls-failure",
            ErrorDetail::FingerprintFailure => "fingerprint-failure",
            ErrorDetail::SctpFailure { .. } => "sctp-failure",
            ErrorDetail::SdpSyntaxError { .. } => "sdp-syntax-error",
            ErrorDetail::IdpExecutionFailure => "idp-execution-failure",
            ErrorDetail::IdpLoadFailure => "idp-load-failure",
            ErrorDetail::IdpTimeout => "idp-timeout",
            ErrorDetail::IdpNeedLogin => "idp-need-login",
            ErrorDetail::IdpTlsFailure => "idp-tls-failure",
            ErrorDetail::IdpTokenExpired => "idp-token-expired",
            ErrorDetail::IdpTokenInvalid => "idp-token-invalid",
        }
    }
}

/// An rtcpeer error: a W3C error name, a human-readable message and, for `RTCError`s, a detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    detail: Option<ErrorDetail>,
    /// Where the user logs in to the identity provider, for "idp-need-login".
    idp_login_url: Option<Box<str>>,
}

impl Error {
    /// Creates an error of the given kind with a message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            detail: None,
            idp_login_url: None,
        }
    }

    /// Creates an `RTCError` (an `OperationError` with an `errorDetail`).
    pub fn rtc(detail: ErrorDetail, message: impl Into<String>) -> Self {
        Error {
            kind: ErrorKind::Operation,
            message: message.into(),
            detail: Some(detail),
            idp_login_url: None,
        }
    }

    /// The `RTCError` an identity provider gives when the user must log in first:
    /// "idp-need-login" with the URL of its login page (webrtc-identity "IdP Error Handling").
    pub fn idp_need_login(login_url: impl Into<String>, message: impl Into<String>) -> Self {
        Error {
            idp_login_url: Some(login_url.into().into_boxed_str()),
            ..Self::rtc(ErrorDetail::IdpNeedLogin, message)
        }
    }

    /// `InvalidStateError` with a message.
    pub fn invalid_state(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidState, message)
    }

    /// `InvalidAccessError` with a message.
    pub fn invalid_access(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidAccess, message)
    }

    /// `InvalidModificationError` with a message.
    pub fn invalid_modification(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidModification, message)
    }

    /// `OperationError` with a message.
    pub fn operation(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Operation, message)
    }

    /// `SyntaxError` with a message.
    pub fn syntax(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Syntax, message)
    }

    /// `NotSupportedError` with a message.
    pub fn not_supported(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotSupported, message)
    }

    /// `TypeError` with a message.
    pub fn type_error(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Type, message)
    }

    /// `RangeError` with a message.
    pub fn range(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Range, message)
    }

    /// The kind, i.e. which DOMException this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The DOMException / JS error name (`"InvalidStateError"`, …), as `e.name` in a browser.
    pub fn name(&self) -> &'static str {
        self.kind.name()
    }

    /// The human-readable message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The `RTCError.errorDetail`, for `RTCError`s.
    pub fn detail(&self) -> Option<ErrorDetail> {
        self.detail
    }

    /// The identity provider's login page, for an "idp-need-login" error.
    pub fn idp_login_url(&self) -> Option<&str> {
        self.idp_login_url.as_deref()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.name(), self.message)?;
        if let Some(d) = &self.detail {
            write!(f, " ({})", d.as_str())?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

/// Result alias used throughout rtcpeer.
pub type Result<T, E = Error> = std::result::Result<T, E>;
