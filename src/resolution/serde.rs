//! [`ClientIp`] in serialised data: as [`IpAddr`] is, a string in text
//! formats and bytes in binary ones.

use std::net::IpAddr;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};

use super::ClientIp;
use crate::addr::HopError;

impl Serialize for ClientIp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.ip().serialize(s)
    }
}

/// As [`IpAddr`] is: a string in text formats, bytes in binary ones;
/// canonical and never unspecified, as a resolved client always is.
impl<'de> Deserialize<'de> for ClientIp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let ip = IpAddr::deserialize(d)?.to_canonical();
        if ip.is_unspecified() {
            return Err(de::Error::custom(HopError::Unspecified));
        }
        Ok(ClientIp::new(ip))
    }
}
