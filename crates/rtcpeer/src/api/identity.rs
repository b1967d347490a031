//! Identity for WebRTC (W3C webrtc-identity): an application-provided, asynchronous
//! [`IdentityProvider`] asserts this side's identity (bound to its certificate fingerprints,
//! RFC 8827 §7.4) in `a=identity` of our offers and answers, and validates the remote's;
//! [`PeerConnection::peer_identity`] resolves once the remote's assertion validates, and the
//! `peerIdentity` configuration member makes a remote description that does not assert that
//! identity fail.
//!
//! A browser loads the IdP proxy from `https://<domain>/.well-known/idp-proxy/<protocol>`; here
//! the application hands providers in: [`PeerConnection::set_identity_provider`] for ours
//! (also used to validate peers of the same domain), [`PeerConnection::register_identity_provider`]
//! for validating other domains.
//!
//! Operations that need the provider (createOffer, createAnswer, the implicit ones of
//! setLocalDescription, setRemoteDescription with a target peer identity) await it before their
//! turn on the operations chain (`chain.rs`): await each such operation before polling a later
//! one; otherwise it uses the stored assertion, and without one fails with `OperationError`
//! ("identity ... not ready").

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rtcpeer_proto::identity::{
    IdentityAssertionJson, contents_cover_fingerprints, identity_contents, identity_domain_matches,
    parses_as_sdp, remote_identity,
};
use rtcpeer_proto::jsep::{Core, SdpType, SessionDescription};
use rtcpeer_proto::{DtlsFingerprint, Error, ErrorDetail, ErrorKind, Result};
use tokio::sync::{OnceCell, watch};

use super::chain::{Gate, Operation};
use super::{Inner, PeerConnection};

/// Longest an identity provider may take to generate or validate an assertion before the
/// operation fails with "idp-timeout" (webrtc-identity "IdP Error Handling": 15 seconds).
pub const IDP_TIMEOUT: Duration = Duration::from_secs(15);

/// The future an [`IdentityProvider`] returns.
pub type IdpFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

/// `RTCIdentityProviderOptions` (webrtc-identity §9.8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityProviderOptions {
    /// The IdP protocol (`protocol`, default "default"); must not hold '/' or '\'.
    pub protocol: String,
    /// Hint of the identity to assert (`usernameHint`).
    pub username_hint: Option<String>,
    /// The peer's identity (`peerIdentity`); when absent, the configuration's is given to
    /// the IdP.
    pub peer_identity: Option<String>,
}

impl Default for IdentityProviderOptions {
    fn default() -> Self {
        IdentityProviderOptions {
            protocol: "default".into(),
            username_hint: None,
            peer_identity: None,
        }
    }
}

/// `RTCIdentityProviderDetails` (webrtc-identity §5.1): which IdP made an assertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityProviderDetails {
    /// The IdP's domain (`domain`).
    pub domain: String,
    /// The IdP protocol (`protocol`, usually "default").
    pub protocol: String,
}

/// `RTCIdentityAssertionResult` (webrtc-identity §5.1): what `generateAssertion` resolves with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityAssertionResult {
    /// The IdP that made the assertion (it may differ from the one asked, WPT-360).
    pub idp: IdentityProviderDetails,
    /// The opaque assertion.
    pub assertion: String,
}

/// `RTCIdentityValidationResult` (webrtc-identity §5.1): what `validateAssertion` resolves with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityValidationResult {
    /// The validated identity, `user@domain` (RFC 5322 form).
    pub identity: String,
    /// The `contents` the assertion was generated over, returned unchanged.
    pub contents: String,
}

/// `RTCIdentityAssertion` (webrtc-identity §9.9): the peer's validated identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityAssertion {
    /// The domain of the IdP that validated it (`idp`).
    pub idp: String,
    /// The identity (`name`).
    pub name: String,
}

/// An identity provider (webrtc-identity §5, `RTCIdentityProvider`): the application's IdP
/// proxy. Errors it returns fail the operation as "idp-execution-failure" (unless they already
/// are an `RTCError` with an `idp-*` detail); taking longer than [`IDP_TIMEOUT`] gives
/// "idp-timeout".
pub trait IdentityProvider: Send + Sync + 'static {
    /// The domain this provider is (the domain of `a=identity` assertions it validates).
    fn domain(&self) -> &str;

    /// `generateAssertion(contents, origin, options)`: assert this side's identity over
    /// `contents` (the certificate fingerprints, RFC 8827 §7.4).
    fn generate_assertion<'a>(
        &'a self,
        contents: &'a str,
        origin: &'a str,
        options: &'a IdentityProviderOptions,
    ) -> IdpFuture<'a, IdentityAssertionResult>;

    /// `validateAssertion(assertion, origin)`: check a peer's assertion and return the
    /// identity and the contents it covers.
    fn validate_assertion<'a>(
        &'a self,
        assertion: &'a str,
        origin: &'a str,
    ) -> IdpFuture<'a, IdentityValidationResult>;
}

/// One `peerIdentity` promise: unsettled (`None`), resolved or rejected.
type PeerPromise = watch::Sender<Option<Result<IdentityAssertion>>>;

fn new_promise() -> Arc<PeerPromise> {
    Arc::new(watch::channel(None).0)
}

struct State {
    /// `setIdentityProvider`'s provider and options.
    provider: Option<(Arc<dyn IdentityProvider>, IdentityProviderOptions)>,
    /// The assertion (`a=identity` value) stored for the current provider setting; a failed
    /// attempt stores nothing, so the next one asks the IdP again.
    assertion: Arc<OnceCell<String>>,
    /// Providers that validate remote assertions, by domain.
    validators: Vec<Arc<dyn IdentityProvider>>,
    /// The origin given to the IdP (a browser gives the page's).
    origin: String,
    /// The current `peerIdentity` promise.
    peer: Arc<PeerPromise>,
    /// `idpErrorInfo`: the message of the IdP's last error.
    error_info: Option<String>,
    /// The login page of the last "idp-need-login" error (`idpLoginUrl`).
    login_url: Option<String>,
}

/// A connection's identity state (webrtc-identity §9.6 internal slots).
pub(crate) struct IdentityState {
    state: Mutex<State>,
    /// Only one validation runs at a time (webrtc-identity §5.6 step 1).
    validation: tokio::sync::Mutex<()>,
}

impl Default for IdentityState {
    fn default() -> Self {
        IdentityState {
            state: Mutex::new(State {
                provider: None,
                assertion: Arc::new(OnceCell::new()),
                validators: Vec::new(),
                origin: "null".into(),
                peer: new_promise(),
                error_info: None,
                login_url: None,
            }),
            validation: tokio::sync::Mutex::new(()),
        }
    }
}

impl IdentityState {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The identity already established for the peer (a resolved `peerIdentity`).
    fn resolved_peer(&self) -> Option<String> {
        match &*self.lock().peer.borrow() {
            Some(Ok(a)) => Some(a.name.clone()),
            _ => None,
        }
    }

    /// Settles the current `peerIdentity` promise with `r` if it is not settled; after a
    /// failure without a target peer identity it is replaced by a new unsettled promise
    /// (webrtc-identity §5.6, last paragraphs).
    fn settle(&self, r: Result<IdentityAssertion>, has_target: bool) {
        let mut s = self.lock();
        let failed = r.is_err();
        s.peer.send_if_modified(|v| {
            if v.is_none() {
                *v = Some(r);
                true
            } else {
                false
            }
        });
        if failed && !has_target {
            s.peer = new_promise();
        }
    }

    fn record_error(&self, e: &Error) {
        let mut s = self.lock();
        s.error_info = Some(e.message().to_owned());
        if let Some(url) = e.idp_login_url() {
            s.login_url = Some(url.to_owned());
        }
    }
}

/// An IdP's error as the operation's: kept when it is already an `idp-*` RTCError, else
/// "idp-execution-failure" (webrtc-identity "IdP Error Handling").
fn idp_error(e: Error) -> Error {
    match e.detail() {
        Some(
            ErrorDetail::IdpExecutionFailure
            | ErrorDetail::IdpLoadFailure
            | ErrorDetail::IdpTimeout
            | ErrorDetail::IdpNeedLogin
            | ErrorDetail::IdpTlsFailure
            | ErrorDetail::IdpTokenExpired
            | ErrorDetail::IdpTokenInvalid,
        ) => e,
        _ => Error::rtc(
            ErrorDetail::IdpExecutionFailure,
            format!("identity provider failed: {}", e.message()),
        ),
    }
}

async fn with_timeout<T>(fut: IdpFuture<'_, T>, what: &str) -> Result<T> {
    match tokio::time::timeout(IDP_TIMEOUT, fut).await {
        Ok(r) => r.map_err(idp_error),
        Err(_) => Err(Error::rtc(
            ErrorDetail::IdpTimeout,
            format!("identity provider did not {what} within {IDP_TIMEOUT:?}"),
        )),
    }
}

impl Inner {
    /// The target peer identity: the configured `peerIdentity`, else the identity a resolved
    /// `peerIdentity` established (webrtc-identity "Setting a Remote Description").
    fn identity_target(&self) -> Option<String> {
        let configured = self.core().configuration().peer_identity.clone();
        configured.or_else(|| self.identity.resolved_peer())
    }

    /// Requests the identity assertion from the current provider (webrtc-identity §5.5), or
    /// returns the stored one; the `a=identity` value (base64 of the JSON).
    async fn identity_assertion(self: &Arc<Self>) -> Result<String> {
        let (provider, options, cell, origin) = {
            let s = self.identity.lock();
            let Some((p, o)) = &s.provider else {
                return Err(Error::operation("no identity provider is set"));
            };
            (p.clone(), o.clone(), s.assertion.clone(), s.origin.clone())
        };
        let r = cell
            .get_or_try_init(|| async {
                let contents = identity_contents(&self.core().local_fingerprints());
                let mut options = options;
                if options.peer_identity.is_none() {
                    options.peer_identity = self.core().configuration().peer_identity.clone();
                }
                let r = with_timeout(
                    provider.generate_assertion(&contents, &origin, &options),
                    "generate an assertion",
                )
                .await?;
                if r.idp.domain.is_empty() || r.idp.protocol.contains(['/', '\\']) {
                    return Err(Error::operation(
                        "the identity provider returned an invalid RTCIdentityAssertionResult",
                    ));
                }
                Ok(IdentityAssertionJson {
                    domain: r.idp.domain,
                    protocol: r.idp.protocol,
                    assertion: r.assertion,
                }
                .encode())
            })
            .await
            .cloned();
        if let Err(e) = &r {
            self.identity.record_error(e);
        }
        r
    }

    /// Enqueues an operation that creates an offer or answer: when an identity provider is
    /// set, it first awaits the assertion, which the description then carries; an IdP that
    /// cannot produce one fails the operation with `NotReadableError` (webrtc-identity
    /// "Creating an Offer/Answer", WPT-359).
    pub(crate) fn enqueue_with_identity<T: Send + 'static>(
        self: &Arc<Self>,
        op: impl FnOnce(&mut Core) -> Result<T> + Send + 'static,
    ) -> Operation<T> {
        if self.identity.lock().provider.is_none() {
            return self.enqueue(op);
        }
        let slot: Arc<Mutex<Option<Result<String>>>> = Arc::default();
        let (inner, out) = (self.clone(), slot.clone());
        let gate: Gate = Box::pin(async move {
            let r = inner.identity_assertion().await;
            *out.lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
        });
        let inner = self.clone();
        self.enqueue_gated(gate, move |core| {
            let r = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
            // Run before its gate finished (a later operation ran the chain): the stored
            // assertion, if there is one, is what the gate would have given.
            let r = r.or_else(|| inner.identity.lock().assertion.get().cloned().map(Ok));
            match r {
                Some(Ok(value)) => core.set_local_identity(Some(value))?,
                Some(Err(e)) => {
                    return Err(Error::new(
                        ErrorKind::NotReadable,
                        format!("no identity assertion: {}", e.message()),
                    ));
                }
                None => {
                    return Err(Error::operation(
                        "the identity assertion was not ready (await this operation before later ones)",
                    ));
                }
            }
            op(core)
        })
    }

    /// Validates a remote identity assertion (webrtc-identity §5.6 "Verifying Identity
    /// Assertions"): decode, find the IdP of its domain, `validateAssertion`, then check that
    /// the contents cover every `a=fingerprint` of the description, that the identity is in
    /// the IdP's domain, and that it is the target peer identity if there is one.
    async fn validate_identity(
        self: &Arc<Self>,
        value: String,
        fingerprints: Vec<DtlsFingerprint>,
        target: Option<String>,
    ) -> Result<IdentityAssertion> {
        let _one_at_a_time = self.identity.validation.lock().await;
        let decoded = IdentityAssertionJson::decode(&value)?;
        let (idp, origin) = {
            let s = self.identity.lock();
            let idp = s
                .validators
                .iter()
                .find(|p| p.domain().eq_ignore_ascii_case(&decoded.domain))
                .cloned();
            (idp, s.origin.clone())
        };
        let Some(idp) = idp else {
            return Err(Error::rtc(
                ErrorDetail::IdpLoadFailure,
                format!("no identity provider for domain '{}'", decoded.domain),
            ));
        };
        let result = with_timeout(
            idp.validate_assertion(&decoded.assertion, &origin),
            "validate the assertion",
        )
        .await
        .inspect_err(|e| self.identity.record_error(e))?;
        if !contents_cover_fingerprints(&result.contents, &fingerprints) {
            return Err(Error::operation(
                "the identity assertion does not cover the description's fingerprints",
            ));
        }
        if !identity_domain_matches(&result.identity, &decoded.domain) {
            return Err(Error::operation(format!(
                "identity '{}' is not in the domain of its IdP '{}'",
                result.identity, decoded.domain
            )));
        }
        if let Some(t) = target {
            if t != result.identity {
                return Err(Error::operation(format!(
                    "the peer asserted '{}', not the target peer identity '{t}'",
                    result.identity
                )));
            }
        }
        Ok(IdentityAssertion {
            idp: decoded.domain,
            name: result.identity,
        })
    }

    /// Enqueues `setRemoteDescription(description)` with identity validation
    /// (webrtc-identity "Setting a Remote Description"): with a target peer identity the
    /// description is applied only once its assertion validated to that identity, else SRD
    /// rejects (and so does `peerIdentity`); without one, SRD does not wait and an assertion
    /// is validated afterwards, settling `peerIdentity` only.
    pub(crate) fn enqueue_remote_description(
        self: &Arc<Self>,
        description: SessionDescription,
    ) -> Operation<()> {
        let carries_sdp = description.sdp_type != SdpType::Rollback;
        let identity = if carries_sdp {
            remote_identity(&description.sdp)
        } else {
            None
        };
        let target = if carries_sdp {
            self.identity_target()
        } else {
            None
        };
        match (identity, target) {
            (None, None) => self.enqueue(move |core| core.set_remote_description(description)),
            (Some((value, fps)), None) => {
                let inner = self.clone();
                self.enqueue(move |core| {
                    core.set_remote_description(description)?;
                    inner.validate_in_background(value, fps);
                    Ok(())
                })
            }
            // Not SDP: the core reports the syntax error as usual.
            (None, Some(_)) if !parses_as_sdp(&description.sdp) => {
                self.enqueue(move |core| core.set_remote_description(description))
            }
            (None, Some(target)) => self.enqueue(move |_| {
                Err(Error::operation(format!(
                    "the remote description has no identity assertion, but the target peer \
                     identity is '{target}'"
                )))
            }),
            (Some((value, fps)), Some(target)) => {
                let slot: Arc<Mutex<Option<Result<IdentityAssertion>>>> = Arc::default();
                let (inner, out) = (self.clone(), slot.clone());
                let gate: Gate = Box::pin(async move {
                    let r = inner.validate_identity(value, fps, Some(target)).await;
                    if let Err(e) = &r {
                        inner.identity.settle(Err(e.clone()), true);
                    }
                    *out.lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
                });
                let inner = self.clone();
                self.enqueue_gated(gate, move |core| {
                    let r = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
                    match r {
                        Some(Ok(a)) => {
                            core.set_remote_description(description)?;
                            inner.identity.settle(Ok(a), true);
                            Ok(())
                        }
                        Some(Err(e)) => Err(e),
                        None => Err(Error::operation(
                            "identity validation was not ready (await this operation before later ones)",
                        )),
                    }
                })
            }
        }
    }

    /// Validation without a target peer identity: runs on its own task and settles
    /// `peerIdentity` only. Outside a Tokio runtime there is nothing to run it on, and
    /// `peerIdentity` is rejected.
    fn validate_in_background(self: &Arc<Self>, value: String, fps: Vec<DtlsFingerprint>) {
        let weak = Arc::downgrade(self);
        let task = async move {
            let Some(inner) = weak.upgrade() else { return };
            let r = inner.validate_identity(value, fps, None).await;
            inner.identity.settle(r, false);
        };
        match tokio::runtime::Handle::try_current() {
            Ok(h) => {
                h.spawn(task);
            }
            Err(_) => self.identity.settle(
                Err(Error::operation(
                    "identity validation needs a Tokio runtime",
                )),
                false,
            ),
        }
    }
}

impl PeerConnection {
    /// `setIdentityProvider(provider, options)` (webrtc-identity §9.6): our offers and answers
    /// carry `provider`'s assertion from now on; a stored assertion of an earlier provider is
    /// discarded. `provider` also validates peers of its domain. Closed → `InvalidStateError`;
    /// a protocol holding '/' or '\' → `SyntaxError`.
    pub fn set_identity_provider(
        &self,
        provider: Arc<dyn IdentityProvider>,
        options: Option<IdentityProviderOptions>,
    ) -> Result<()> {
        let options = options.unwrap_or_default();
        if self.inner.core().is_closed() {
            return Err(Error::invalid_state("the connection is closed"));
        }
        if options.protocol.contains(['/', '\\']) {
            return Err(Error::syntax(
                "an IdP protocol must not contain '/' or '\\'",
            ));
        }
        {
            let mut s = self.inner.identity.lock();
            s.validators
                .retain(|p| !p.domain().eq_ignore_ascii_case(provider.domain()));
            s.validators.push(provider.clone());
            s.provider = Some((provider, options));
            s.assertion = Arc::new(OnceCell::new());
        }
        self.inner.core().set_local_identity(None)
    }

    /// Makes `provider` validate remote assertions of its domain, without asserting our
    /// identity with it (non-standard: a browser loads any domain's IdP proxy itself).
    pub fn register_identity_provider(&self, provider: Arc<dyn IdentityProvider>) {
        let mut s = self.inner.identity.lock();
        s.validators
            .retain(|p| !p.domain().eq_ignore_ascii_case(provider.domain()));
        s.validators.push(provider);
    }

    /// The origin given to identity providers (non-standard: a browser gives the page's
    /// origin); default "null".
    pub fn set_identity_origin(&self, origin: impl Into<String>) {
        self.inner.identity.lock().origin = origin.into();
    }

    /// `getIdentityAssertion()` (webrtc-identity §9.6): requests the assertion (or returns the
    /// stored one) as the base64 value `a=identity` carries. Closed → `InvalidStateError`; no
    /// provider, or its failure → `OperationError` / `RTCError` "idp-*".
    pub async fn get_identity_assertion(&self) -> Result<String> {
        if self.inner.core().is_closed() {
            return Err(Error::invalid_state("the connection is closed"));
        }
        self.inner.identity_assertion().await
    }

    /// `peerIdentity` (webrtc-identity §9.6): resolves with the peer's identity once an
    /// assertion in a remote description validates; rejects when validation of the current
    /// promise fails (a later call then waits for the next assertion, unless a target peer
    /// identity is set). Once resolved it never changes.
    ///
    /// Like reading the attribute in JavaScript, the promise is the current one when this is
    /// called, not when the future is first polled.
    pub fn peer_identity(
        &self,
    ) -> impl Future<Output = Result<IdentityAssertion>> + Send + 'static + use<> {
        let promise = self.inner.identity.lock().peer.clone();
        let mut rx = promise.subscribe();
        async move {
            let _sender_alive = promise;
            let v = rx
                .wait_for(Option::is_some)
                .await
                .map_err(|_| Error::invalid_state("the connection is gone"))?;
            v.clone()
                .unwrap_or_else(|| Err(Error::operation("peerIdentity was not settled")))
        }
    }

    /// `idpErrorInfo` (webrtc-identity §9.6): the message of the identity provider's last
    /// error, if any.
    pub fn idp_error_info(&self) -> Option<String> {
        self.inner.identity.lock().error_info.clone()
    }

    /// `idpLoginUrl` (webrtc-identity §9.6): where the user can log in to the identity
    /// provider, set when an assertion failed with "idp-need-login"; `None` before.
    pub fn idp_login_url(&self) -> Option<String> {
        self.inner.identity.lock().login_url.clone()
    }
}
