//! Who is calling, and whether they may: a bearer token from `tokens.toml`
//! (401 when missing or unknown), its role against the route's action
//! (403), its regions against the person's village (403).

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use crate::errors::{ApiError, ApiResult};
use crate::state::AppState;
use crate::tokens::{Caller, Role};

/// What a route does, for the role check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Read a person and their family.
    Person,
    /// Check a verdict.
    Check,
    /// Claim a payout.
    Claim,
    /// Reverse a claim.
    Reverse,
    /// Verify a payee list.
    Batch,
    /// Read a report.
    Report,
    /// Read the service's information.
    Info,
    /// Apply changes, compact: the register keeper's.
    Admin,
    /// Ask the beneficiary registry whom it enrols (DCI IBR `enrolled`):
    /// another registry or a payment system asking about persons one at a
    /// time, as a counter's or a bank's check would.
    Registry,
}

impl Action {
    fn allowed(self, role: Role) -> bool {
        match role {
            Role::Keeper => true,
            Role::PayoutPoint => matches!(
                self,
                Action::Person
                    | Action::Check
                    | Action::Claim
                    | Action::Reverse
                    | Action::Info
                    | Action::Registry
            ),
            Role::Bank => matches!(
                self,
                Action::Batch | Action::Check | Action::Info | Action::Registry
            ),
            Role::Analyst => matches!(self, Action::Report | Action::Info),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Action::Person => "read persons",
            Action::Check => "check",
            Action::Claim => "claim",
            Action::Reverse => "reverse",
            Action::Batch => "verify payee lists",
            Action::Report => "read reports",
            Action::Info => "read the service's information",
            Action::Admin => "change the register",
            Action::Registry => "query the beneficiary registry (DCI)",
        }
    }
}

/// The caller of a request, authenticated.
pub struct Authed(pub Caller);

impl FromRequestParts<Arc<AppState>> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> ApiResult<Authed> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(|| ApiError::unauthorized("an Authorization: Bearer token is required"))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(|| {
                ApiError::unauthorized("the Authorization header is not `Bearer TOKEN`")
            })?;
        let caller = state
            .tokens
            .caller(token)
            .ok_or_else(|| ApiError::unauthorized("this token is not known to the service"))?;
        Ok(Authed(caller.clone()))
    }
}

impl Authed {
    /// 403 unless the caller's role may do `action`.
    pub fn may(&self, action: Action) -> ApiResult<()> {
        if action.allowed(self.0.role) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "a {} token may not {}",
                self.0.role.name(),
                action.name()
            )))
        }
    }

    /// 403 unless the caller may see a person living in `village` (its
    /// 10-digit code).
    pub fn covers(&self, village: &str) -> ApiResult<()> {
        if self.0.covers(village) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "this token is limited to the regions {}; this person lives elsewhere",
                self.0.regions.join(", ")
            )))
        }
    }

    /// 403 for a token limited to regions: national lists and reports are
    /// not limited by region, so they need an unlimited token.
    pub fn national(&self) -> ApiResult<()> {
        if self.0.regions.is_empty() {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "this token is limited to regions; national lists and reports need a token without regions",
            ))
        }
    }
}
