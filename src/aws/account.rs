//! The Account API, read-only: whom AWS writes to about the account's security and
//! operations (its alternate contacts; without them, only the root user's address).

use aws_config::SdkConfig;
use aws_sdk_account::types::AlternateContactType;

use super::{AwsError, Call};

/// The kinds of alternate contact a failover depends on being reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contact {
    Security,
    Operations,
}

impl Contact {
    /// As the API names it (`SECURITY`, `OPERATIONS`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Security => "SECURITY",
            Self::Operations => "OPERATIONS",
        }
    }

    fn sdk(self) -> AlternateContactType {
        AlternateContactType::from(self.as_str())
    }
}

/// The kinds checked, security first.
pub const KINDS: [Contact; 2] = [Contact::Security, Contact::Operations];

/// The address of the account's alternate contact of `kind`, `None` when it has none.
pub async fn contact(config: &SdkConfig, kind: Contact) -> Result<Option<String>, AwsError> {
    let answer = super::client!(aws_sdk_account, config)
        .get_alternate_contact()
        .alternate_contact_type(kind.sdk())
        .send()
        .await
        .op("Account.GetAlternateContact");
    match answer {
        Ok(out) => Ok(out
            .alternate_contact()
            .and_then(|c| c.email_address())
            .map(str::to_owned)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}
