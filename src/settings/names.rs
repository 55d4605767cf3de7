//! Which header names a configuration may read for which purpose (DESIGN
//! rule 13): a name that HTTP, or realip, gives a meaning of its own is
//! refused where it is configured for another, with what to write instead.
//!
//! | configured as | refused | instead |
//! |---|---|---|
//! | `header:NAME` (one address) | HTTP's own fields (`host`, `cookie`, …), `forwarded`, `x-forwarded-for`, `x-forwarded-proto`, `x-forwarded-host`, `x-forwarded-client-cert` | the header the proxy writes the client into; `forwarded`; `x-forwarded-for` |
//! | `list:NAME` (a comma list) | HTTP's own fields, `forwarded`, the single-address headers (`x-real-ip`, …), `x-forwarded-proto`, `x-forwarded-host`, `x-forwarded-client-cert` | `forwarded`; the bare name (`x-real-ip`) |
//! | `proto=header:NAME`, `host=header:NAME` | HTTP's own fields, the address headers, the identity header, the other value's header, the source's own header | `proto=x-forwarded-proto`, `host=x-forwarded-host`, `…=forwarded` |
//! | `identity-header=NAME` | HTTP's own fields, the address and value headers | leave it out: `x-forwarded-client-cert` |
//!
//! `list:x-forwarded-for` is accepted: it is `x-forwarded-for` itself (the
//! same source, shown as `x-forwarded-for`).

use http::HeaderName;

use super::{ConfigError, Settings, Source, ValueSource, quoted};
use crate::header_names::{Meaning, meaning};

/// What a header is configured to carry.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Use {
    /// The client's address, one per header (`header:NAME`).
    Single,
    /// The client's address, in a list (`list:NAME`).
    List,
    /// The original scheme (`proto=`) or host (`host=`).
    Value(&'static str),
    /// The caller's certificate (`identity-header=`).
    Identity,
}

impl Use {
    /// What to write instead of a name that cannot carry this, in general.
    fn instead(self) -> String {
        match self {
            Use::Single | Use::List => "read the header your proxy writes the client into \
                (x-forwarded-for, forwarded, x-real-ip, …, or header:NAME / list:NAME by its \
                name)"
                .to_owned(),
            Use::Value(value) => format!(
                "read {value}= from x-forwarded-{value} or forwarded, or from header:NAME, the \
                 header your proxy writes it into"
            ),
            Use::Identity => "leave identity-header= out to read x-forwarded-client-cert, where \
                Envoy writes its caller's certificate"
                .to_owned(),
        }
    }
}

/// The refusal of `name` configured for `usage` (written `written`), if
/// it has a meaning of its own that is not that.
fn judge(name: &HeaderName, usage: Use, written: &dyn Fn() -> String) -> Result<(), ConfigError> {
    let Some(meaning) = meaning(name) else {
        return Ok(());
    };
    let refuse = |why: String, instead: String| {
        Err(ConfigError::HeaderWithOwnMeaning {
            written: written(),
            why,
            instead,
        })
    };
    let shown = name.as_str();
    match (meaning, usage) {
        (Meaning::XForwardedFor, Use::List)
        | (Meaning::SingleAddress, Use::Single)
        | (Meaning::Proto, Use::Value("proto"))
        | (Meaning::Host, Use::Value("host"))
        | (Meaning::ClientCert, Use::Identity) => Ok(()),
        (Meaning::Http, Use::Value("host")) if shown == "host" => refuse(
            "Host names the host this request was sent to by the last hop, not the host the \
             client asked the edge proxy for"
                .to_owned(),
            usage.instead(),
        ),
        (Meaning::Http, _) => refuse(
            format!(
                "{shown} is a field HTTP defines with a meaning of its own (RFC 9110 and its \
                 companions), which any client writes as it likes"
            ),
            usage.instead(),
        ),
        (Meaning::Forwarded, Use::Single | Use::List) => refuse(
            "Forwarded is RFC 7239's list of elements (for=…;proto=…), not a list of addresses"
                .to_owned(),
            "write forwarded".to_owned(),
        ),
        (Meaning::Forwarded, Use::Value(value)) => refuse(
            "Forwarded carries elements, whose own parameters the client's element holds"
                .to_owned(),
            format!("write {value}=forwarded, with the forwarded source"),
        ),
        (Meaning::XForwardedFor, Use::Single) => refuse(
            "X-Forwarded-For is a list each proxy appends to; read as one address, a proxy's \
             append turns the value into one that cannot be read"
                .to_owned(),
            "write x-forwarded-for (it reads an edge proxy's one address the same)".to_owned(),
        ),
        (Meaning::SingleAddress, Use::List) => refuse(
            format!("{shown} holds one address, set by the nearest proxy, not a list"),
            format!("write {shown}"),
        ),
        (Meaning::Proto | Meaning::Host, Use::Single | Use::List) => {
            let value = if meaning == Meaning::Proto {
                "proto"
            } else {
                "host"
            };
            refuse(
                format!("{shown} carries the original {value}, not an address"),
                format!("read it with {value}={shown}, beside the header that names the client"),
            )
        }
        (Meaning::ClientCert, Use::Single | Use::List) => refuse(
            "x-forwarded-client-cert carries the caller's certificate, not an address".to_owned(),
            "trust the caller with identity= (which reads it), and read the client from the \
             header your proxy writes it into"
                .to_owned(),
        ),
        (Meaning::XForwardedFor | Meaning::SingleAddress, Use::Value(_) | Use::Identity) => {
            refuse(format!("{shown} carries client addresses"), usage.instead())
        }
        (Meaning::Proto | Meaning::Host, Use::Value(_) | Use::Identity) => {
            let carries = if meaning == Meaning::Proto {
                "scheme"
            } else {
                "host"
            };
            refuse(
                format!("{shown} carries the original {carries}"),
                usage.instead(),
            )
        }
        (Meaning::Forwarded, Use::Identity) => refuse(
            "Forwarded carries the proxies' elements, not a caller's certificate".to_owned(),
            usage.instead(),
        ),
        (Meaning::ClientCert, Use::Value(_)) => refuse(
            "x-forwarded-client-cert carries the caller's certificate".to_owned(),
            usage.instead(),
        ),
    }
}

impl Settings {
    /// Refuses every configured header name with a meaning of its own that
    /// is not the one it is configured for.
    pub(super) fn names_checked(&self) -> Result<(), ConfigError> {
        // The identity header read as the source is refused as such
        // (IdentityHeaderIsSource), in the callers' check: it says more.
        let callers = &self.callers;
        let identity_is_source = self.source.header_name() == Some(callers.header())
            && (!callers.identities.is_empty() || callers.header.is_some());
        match &self.source {
            _ if identity_is_source => {}
            Source::Single(name) => judge(name, Use::Single, &|| quoted(&self.source))?,
            Source::List(name) => judge(name, Use::List, &|| quoted(&self.source))?,
            Source::Peer | Source::Forwarded => {}
        }
        let values = [
            ("proto", self.values.proto.as_ref()),
            ("host", self.values.host.as_ref()),
        ];
        for (value, given) in values {
            let Some(ValueSource::Header(name)) = given else {
                continue;
            };
            let written = || {
                quoted(format_args!(
                    "{value}={}",
                    ValueSource::Header(name.clone())
                ))
            };
            judge(name, Use::Value(value), &written)?;
            // The header the client is read from cannot also be the one
            // the value is read beside it from.
            if self.source.header_name() == Some(name) {
                return Err(ConfigError::HeaderWithOwnMeaning {
                    written: written(),
                    why: format!("{} is the source the client is read from", quoted(name)),
                    instead: Use::Value(value).instead(),
                });
            }
        }
        if let Some(name) = callers.header.as_ref().filter(|_| !identity_is_source) {
            judge(name, Use::Identity, &|| {
                quoted(format_args!("identity-header={name}"))
            })?;
        }
        Ok(())
    }
}
