//! The PROXY protocol decoder against the specification: every reference
//! vector decodes as listed, every invalid one is rejected, partial input
//! asks for more, and encode/decode round-trips.

use std::net::{IpAddr, SocketAddr};

use proptest::prelude::*;
use realip::proxy_protocol::{
    Command, DecodeError, InvalidHeader, ProxyHeader, Tlv, Transport, decode,
};

fn hex(s: &str) -> Vec<u8> {
    assert!(s.len() % 2 == 0, "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// The endpoints a header names: one of three kinds, never a mix.
#[derive(Debug, PartialEq, Eq)]
enum Endpoints<'a> {
    Unspecified,
    Inet {
        source: SocketAddr,
        destination: SocketAddr,
    },
    Unix {
        source: &'a [u8],
        destination: &'a [u8],
    },
}

/// What `h`'s accessors say its endpoints are; panics when they disagree
/// (a source without a destination, IP endpoints and Unix paths at once).
fn endpoints_of<'a>(h: &ProxyHeader<'a>) -> Endpoints<'a> {
    match (h.source(), h.destination(), h.unix_paths()) {
        (None, None, None) => Endpoints::Unspecified,
        (Some(source), Some(destination), None) => Endpoints::Inet {
            source,
            destination,
        },
        (None, None, Some((source, destination))) => Endpoints::Unix {
            source,
            destination,
        },
        other => panic!("inconsistent endpoints: {other:?}"),
    }
}

/// One line per header: version, command, transport, addresses, TLVs, and
/// the bytes it takes.
fn describe(h: &ProxyHeader<'_>) -> String {
    let mut s = format!("v{} {} {}", h.version(), h.command(), h.transport());
    match endpoints_of(h) {
        Endpoints::Unspecified => s.push_str(" unspecified"),
        Endpoints::Inet {
            source,
            destination,
        } => s.push_str(&format!(" {source} -> {destination}")),
        Endpoints::Unix {
            source,
            destination,
        } => s.push_str(&format!(
            " unix {} -> {}",
            source.escape_ascii(),
            destination.escape_ascii()
        )),
    }
    for t in h.tlvs().iter() {
        s.push_str(&format!(" tlv {:#04x}={}", t.kind, t.value.escape_ascii()));
    }
    s.push_str(&format!(" ({} bytes)", h.encoded_len()));
    s
}

/// The valid vectors of reference/proxy-protocol-vectors.txt (PROTOCOLS.md
/// §3.4), each with what it must decode to.
const VALID: &[(&str, &str, &str)] = &[
    (
        "v1 TCP4 (spec example)",
        "50524f58592054435034203139322e3136382e302e31203139322e3136382e302e3131203536333234203434330d0a",
        "v1 PROXY stream 192.168.0.1:56324 -> 192.168.0.11:443 (47 bytes)",
    ),
    (
        "v1 TCP6",
        "50524f5859205443503620323030313a6462383a3a3120323030313a6462383a3a322034373131203434330d0a",
        "v1 PROXY stream [2001:db8::1]:4711 -> [2001:db8::2]:443 (45 bytes)",
    ),
    (
        "v1 UNKNOWN short form",
        "50524f585920554e4b4e4f574e0d0a",
        "v1 PROXY unspecified unspecified (15 bytes)",
    ),
    (
        "v1 UNKNOWN worst case (107 bytes)",
        "50524f585920554e4b4e4f574e20666666663a666666663a666666663a666666663a666666663a666666663a666666663a6666666620666666663a666666663a666666663a666666663a666666663a666666663a666666663a666666662036353533352036353533350d0a",
        "v1 PROXY unspecified unspecified (107 bytes)",
    ),
    (
        "v2 PROXY TCP4",
        "0d0a0d0a000d0a515549540a2111000cc0a80001c0a8000bdc0401bb",
        "v2 PROXY stream 192.168.0.1:56324 -> 192.168.0.11:443 (28 bytes)",
    ),
    (
        "v2 LOCAL (health check), no address",
        "0d0a0d0a000d0a515549540a20000000",
        "v2 LOCAL unspecified unspecified (16 bytes)",
    ),
    (
        "v2 PROXY TCP6",
        "0d0a0d0a000d0a515549540a2121002420010db800000000000000000000000120010db8000000000000000000000002126701bb",
        "v2 PROXY stream [2001:db8::1]:4711 -> [2001:db8::2]:443 (52 bytes)",
    ),
    (
        "v2 PROXY UDP4",
        "0d0a0d0a000d0a515549540a2112000ccb0071070a000005cf080035",
        "v2 PROXY datagram 203.0.113.7:53000 -> 10.0.0.5:53 (28 bytes)",
    ),
    (
        "v2 PROXY TCP4 + ALPN h2 + AUTHORITY example.com",
        "0d0a0d0a000d0a515549540a2111001fc63364160a0000059c4001bb010002683202000b6578616d706c652e636f6d",
        "v2 PROXY stream 198.51.100.22:40000 -> 10.0.0.5:443 tlv 0x01=h2 tlv 0x02=example.com (47 bytes)",
    ),
    (
        "v2 PROXY TCP4 + AWS VPCE TLV 0xEA",
        "0d0a0d0a000d0a515549540a21110026ac1f0771ac1f0a1fca9e0050ea001701767063652d3038643262663135666163353030316339",
        "v2 PROXY stream 172.31.7.113:51870 -> 172.31.10.31:80 tlv 0xea=\\x01vpce-08d2bf15fac5001c9 (54 bytes)",
    ),
    (
        "v2 PROXY TCP6 + Azure LINKID TLV 0xEE",
        "0d0a0d0a000d0a515549540a2121002c20010db800000000000000000000000720010db8000000000000000000000001c35001bbee00050142000021",
        "v2 PROXY stream [2001:db8::7]:50000 -> [2001:db8::1]:443 tlv 0xee=\\x01B\\x00\\x00! (60 bytes)",
    ),
    (
        "v2 PROXY TCP4 + CRC32C TLV",
        "0d0a0d0a000d0a515549540a21110013c0000201c000020204d20050030004875d0ba7",
        "v2 PROXY stream 192.0.2.1:1234 -> 192.0.2.2:80 tlv 0x03=\\x87]\\x0b\\xa7 (35 bytes)",
    ),
    (
        "v2 PROXY TCP4 + SSL TLV + NOOP(0)",
        "0d0a0d0a000d0a515549540a21110021cb0071090a010203823501bb20000f0100000000210007544c5376312e33040000",
        "v2 PROXY stream 203.0.113.9:33333 -> 10.1.2.3:443 tlv 0x20=\\x01\\x00\\x00\\x00\\x00!\\x00\\x07TLSv1.3 tlv 0x04= (49 bytes)",
    ),
    (
        "v2 PROXY UNIX stream (216-byte address block)",
        "0d0a0d0a000d0a515549540a213100d82f72756e2f7372632e736f636b00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000002f72756e2f6473742e736f636b0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        "v2 PROXY stream unix /run/src.sock -> /run/dst.sock (232 bytes)",
    ),
    (
        "v2 PROXY AF_UNSPEC/UNSPEC (len 0)",
        "0d0a0d0a000d0a515549540a21000000",
        "v2 PROXY unspecified unspecified (16 bytes)",
    ),
    (
        "v2 LOCAL with non-empty block",
        "0d0a0d0a000d0a515549540a2011000c0a0000010a00000200010002",
        "v2 LOCAL unspecified unspecified (28 bytes)",
    ),
];

/// The invalid vectors of the reference file, and the reason each must
/// be rejected for.
const INVALID: &[(&str, &str, InvalidHeader)] = &[
    (
        "v2 version nibble 1 (0x11)",
        "0d0a0d0a000d0a515549540a1111000c010203040506070800010002",
        InvalidHeader::Version(1),
    ),
    (
        "v2 command 0x2 (0x22)",
        "0d0a0d0a000d0a515549540a2211000c010203040506070800010002",
        InvalidHeader::Command(2),
    ),
    (
        "v2 TCP4 but len 8 < 12",
        "0d0a0d0a000d0a515549540a211100080102030405060708",
        InvalidHeader::AddressBlock { len: 8, needed: 12 },
    ),
    (
        "v2 family 0x4 (0x41)",
        "0d0a0d0a000d0a515549540a21410000",
        InvalidHeader::Family(4),
    ),
    (
        "v2 truncated TLV (declares 5, has 2)",
        "0d0a0d0a000d0a515549540a211100110102030405060708000100020100056832",
        InvalidHeader::TlvTruncated,
    ),
    (
        "v1 leading zeros",
        "50524f58592054435034203139322e3136382e3030302e303031203139322e3136382e302e3131203536333234203434330d0a",
        InvalidHeader::Address,
    ),
    (
        "v1 LF only",
        "50524f58592054435034203139322e3136382e302e31203139322e3136382e302e3131203536333234203434330a",
        InvalidHeader::LineEnding,
    ),
    (
        "v1 double space",
        "50524f5859205443503420203139322e3136382e302e31203139322e3136382e302e3131203536333234203434330d0a",
        InvalidHeader::Fields,
    ),
    (
        "v1 port 65536",
        "50524f58592054435034203139322e3136382e302e31203139322e3136382e302e3131203635353336203434330d0a",
        InvalidHeader::Port,
    ),
    (
        "v1 TCP4 with IPv6 address",
        "50524f5859205443503420323030313a6462383a3a31203139322e3136382e302e31312031203434330d0a",
        InvalidHeader::Address,
    ),
];

#[test]
fn every_reference_vector_decodes_as_listed() {
    for (name, hex_bytes, expected) in VALID {
        let bytes = hex(hex_bytes);
        let header = decode(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(describe(&header), *expected, "{name}");
        assert_eq!(header.as_bytes(), &bytes[..], "{name}");
    }
}

#[test]
fn every_invalid_reference_vector_is_rejected() {
    for (name, hex_bytes, reason) in INVALID {
        let bytes = hex(hex_bytes);
        assert_eq!(decode(&bytes), Err(DecodeError::Invalid(*reason)), "{name}");
        // More bytes never make an invalid header valid.
        let mut more = bytes.clone();
        more.extend_from_slice(&[0; 600]);
        assert_eq!(
            decode(&more),
            Err(DecodeError::Invalid(*reason)),
            "{name} + data"
        );
    }
}

#[test]
fn reference_vector_no_crlf_within_107_bytes_is_rejected() {
    let mut line = b"PROXY UNKNOWN ".to_vec();
    line.resize(107, b'f');
    assert_eq!(
        decode(&line),
        Err(DecodeError::Invalid(InvalidHeader::LineTooLong))
    );
    // CRLF that would end at byte 108.
    line.truncate(106);
    line.extend_from_slice(b"\r\n");
    assert_eq!(line.len(), 108);
    assert_eq!(
        decode(&line),
        Err(DecodeError::Invalid(InvalidHeader::LineTooLong))
    );
    // 107 bytes with the CRLF is the longest line.
    line.truncate(105);
    line.extend_from_slice(b"\r\n");
    assert_eq!(decode(&line).unwrap().encoded_len(), 107);
}

#[test]
fn tlv_accessors_read_the_reference_vectors() {
    let v = |name: &str| {
        let (_, h, _) = VALID.iter().find(|(n, ..)| n.starts_with(name)).unwrap();
        hex(h)
    };

    let alpn = v("v2 PROXY TCP4 + ALPN");
    let tlvs = decode(&alpn).unwrap().tlvs();
    assert_eq!(tlvs.alpn(), Some(&b"h2"[..]));
    assert_eq!(tlvs.authority(), Some("example.com"));
    assert_eq!(tlvs.get(Tlv::ALPN), Some(&b"h2"[..]));
    assert_eq!(tlvs.crc32c(), None);
    assert_eq!(tlvs.ssl(), None);

    let aws = v("v2 PROXY TCP4 + AWS");
    let tlvs = decode(&aws).unwrap().tlvs();
    assert_eq!(tlvs.aws_vpce_id(), Some("vpce-08d2bf15fac5001c9"));
    assert_eq!(tlvs.azure_link_id(), None);

    let azure = v("v2 PROXY TCP6 + Azure");
    let tlvs = decode(&azure).unwrap().tlvs();
    assert_eq!(tlvs.azure_link_id(), Some(0x2100_0042));
    assert_eq!(tlvs.aws_vpce_id(), None);

    let crc = v("v2 PROXY TCP4 + CRC32C");
    assert_eq!(decode(&crc).unwrap().tlvs().crc32c(), Some(0x875d_0ba7));

    let ssl = v("v2 PROXY TCP4 + SSL");
    let header = decode(&ssl).unwrap();
    let s = header.tlvs().ssl().expect("SSL TLV");
    assert_eq!(s.client(), 0x01);
    assert!(s.client_ssl());
    assert_eq!(s.verify(), 0);
    assert_eq!(s.version(), Some("TLSv1.3"));
    assert_eq!(s.common_name(), None);
    assert_eq!(s.sub_tlvs().iter().count(), 1);
    assert_eq!(header.tlvs().get(Tlv::NOOP), Some(&b""[..]));

    let unix = v("v2 PROXY UNIX");
    let header = decode(&unix).unwrap();
    assert_eq!(
        endpoints_of(&header),
        Endpoints::Unix {
            source: b"/run/src.sock",
            destination: b"/run/dst.sock"
        }
    );
    assert_eq!(header.source(), None, "a Unix source is no IP client");
}

#[test]
fn only_a_proxy_header_with_ip_endpoints_names_a_source() {
    for (name, hex_bytes, _) in VALID {
        let bytes = hex(hex_bytes);
        let h = decode(&bytes).unwrap();
        let names_client =
            h.command() == Command::Proxy && matches!(endpoints_of(&h), Endpoints::Inet { .. });
        assert_eq!(h.source().is_some(), names_client, "{name}");
        if h.command() == Command::Local {
            assert_eq!(
                endpoints_of(&h),
                Endpoints::Unspecified,
                "{name}: LOCAL ignores its block"
            );
            assert!(h.tlvs().is_empty(), "{name}");
        }
    }
}

/// Inputs the reference vectors do not cover, one rule each.
#[test]
fn strictness_table() {
    use InvalidHeader::*;
    let v2 = |rest: &str| {
        let mut b = hex("0d0a0d0a000d0a515549540a");
        b.extend(hex(rest));
        b
    };
    let rows: Vec<(&str, Vec<u8>, Result<&str, InvalidHeader>)> = vec![
        // v1
        (
            "v1 port with a plus sign",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n".to_vec(),
            Err(Port),
        ),
        (
            "v1 port with a leading zero",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n".to_vec(),
            Err(Port),
        ),
        (
            "v1 port 0",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 0 65535\r\n".to_vec(),
            Ok("v1 PROXY stream 1.2.3.4:0 -> 5.6.7.8:65535 (36 bytes)"),
        ),
        (
            "v1 six-digit port",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 000080 2\r\n".to_vec(),
            Err(Port),
        ),
        (
            "v1 hex port",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 0x50 2\r\n".to_vec(),
            Err(Port),
        ),
        (
            "v1 five fields",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n".to_vec(),
            Err(Fields),
        ),
        (
            "v1 three fields",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n".to_vec(),
            Err(Fields),
        ),
        (
            "v1 trailing space",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n".to_vec(),
            Err(Fields),
        ),
        ("v1 no fields", b"PROXY TCP4\r\n".to_vec(), Err(Fields)),
        (
            "v1 tab separator",
            b"PROXY TCP4\t1.2.3.4 5.6.7.8 1 2\r\n".to_vec(),
            Err(Protocol),
        ),
        (
            "v1 lower-case protocol",
            b"PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n".to_vec(),
            Err(Protocol),
        ),
        (
            "v1 TCP5",
            b"PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n".to_vec(),
            Err(Protocol),
        ),
        ("v1 empty protocol", b"PROXY \r\n".to_vec(), Err(Protocol)),
        (
            "v1 lower-case prefix",
            b"proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n".to_vec(),
            Err(Signature),
        ),
        (
            "v1 PROXY without space",
            b"PROXY\r\n".to_vec(),
            Err(Signature),
        ),
        (
            "v1 short IPv4",
            b"PROXY TCP4 127.1 5.6.7.8 1 2\r\n".to_vec(),
            Err(Address),
        ),
        (
            "v1 TCP6 with IPv4",
            b"PROXY TCP6 1.2.3.4 ::1 1 2\r\n".to_vec(),
            Err(Address),
        ),
        (
            "v1 bracketed IPv6",
            b"PROXY TCP6 [::1] ::1 1 2\r\n".to_vec(),
            Err(Address),
        ),
        (
            "v1 IPv6 zone",
            b"PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n".to_vec(),
            Err(Address),
        ),
        (
            "v1 non-UTF-8 address",
            b"PROXY TCP4 \xff.2.3.4 5.6.7.8 1 2\r\n".to_vec(),
            Err(Address),
        ),
        (
            "v1 bare CR",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX\n".to_vec(),
            Err(LineEnding),
        ),
        (
            "v1 CR CR LF",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r\n".to_vec(),
            Err(LineEnding),
        ),
        (
            "v1 UNKNOWN with any tail",
            b"PROXY UNKNOWN a b c d e f g\r\n".to_vec(),
            Ok("v1 PROXY unspecified unspecified (29 bytes)"),
        ),
        ("v1 UNKNOWNX", b"PROXY UNKNOWNX\r\n".to_vec(), Err(Protocol)),
        (
            "v1 TCP4 0.0.0.0 (the resolver refuses it, not the decoder)",
            b"PROXY TCP4 0.0.0.0 0.0.0.0 0 0\r\n".to_vec(),
            Ok("v1 PROXY stream 0.0.0.0:0 -> 0.0.0.0:0 (32 bytes)"),
        ),
        (
            "not a header",
            b"GET / HTTP/1.1\r\n\r\n".to_vec(),
            Err(Signature),
        ),
        ("TLS client hello", hex("160301020001"), Err(Signature)),
        // v2
        (
            "v2 signature with one byte wrong",
            hex("0d0a0d0a000d0a515549540b2111000c"),
            Err(Signature),
        ),
        ("v2 version 3", v2("3111000c"), Err(Version(3))),
        ("v2 command 0xf", v2("2f11000c"), Err(Command(0xf))),
        ("v2 transport 3", v2("21130000"), Err(Transport(3))),
        (
            "v2 LOCAL ignores an unknown family",
            v2("20ff0000"),
            Ok("v2 LOCAL unspecified unspecified (16 bytes)"),
        ),
        (
            "v2 TCP6 with len 35",
            v2("21210023").into_iter().chain([0; 35]).collect(),
            Err(AddressBlock {
                len: 35,
                needed: 36,
            }),
        ),
        (
            "v2 UNIX with len 215",
            v2("213100d7").into_iter().chain([0; 215]).collect(),
            Err(AddressBlock {
                len: 215,
                needed: 216,
            }),
        ),
        (
            "v2 UDP6",
            v2("2122002400000000000000000000000000000001000000000000000000000000000000020035c350"),
            Ok("v2 PROXY datagram [::1]:53 -> [::2]:50000 (52 bytes)"),
        ),
        (
            "v2 UNSPEC with a TLV",
            v2("210000050100026832"),
            Ok("v2 PROXY unspecified unspecified tlv 0x01=h2 (21 bytes)"),
        ),
        (
            "v2 one stray byte after the addresses",
            v2("2111000d0102030405060708000100020a"),
            Err(TlvTruncated),
        ),
        (
            "v2 two stray bytes",
            v2("2111000e0102030405060708000100020a00"),
            Err(TlvTruncated),
        ),
        (
            "v2 CRC32C of 3 bytes",
            v2("21110012010203040506070800010002030003000000"),
            Err(Crc32cLength),
        ),
        (
            "v2 CRC32C mismatch",
            hex("0d0a0d0a000d0a515549540a21110013c0000201c000020204d20050030004875d0ba8"),
            Err(Crc32cMismatch),
        ),
        (
            "v2 UNIQUE_ID of 129 bytes",
            v2("2111009001020304050607080001000205 0081"
                .replace(' ', "")
                .as_str())
            .into_iter()
            .chain([7; 129])
            .collect(),
            Err(UniqueIdTooLong),
        ),
        (
            "v2 UNIQUE_ID of 128 bytes",
            v2("2111008f010203040506070800010002050080")
                .into_iter()
                .chain([7; 128])
                .collect(),
            Ok(""),
        ),
        (
            "v2 SSL of 4 bytes",
            v2("21110013010203040506070800010002200004 01000000"
                .replace(' ', "")
                .as_str()),
            Err(SslTooShort),
        ),
        (
            "v2 SSL with a truncated sub-TLV",
            v2("2111001701020304050607080001000220000801000000002100 05"
                .replace(' ', "")
                .as_str()),
            Err(TlvTruncated),
        ),
        (
            "v2 unknown TLV types are kept",
            v2("21110013010203040506070800010002f10001aaff0000"),
            Ok("v2 PROXY stream 1.2.3.4:1 -> 5.6.7.8:2 tlv 0xf1=\\xaa tlv 0xff= (35 bytes)"),
        ),
    ];
    for (name, bytes, expected) in rows {
        match (decode(&bytes), expected) {
            (Ok(h), Ok("")) => assert!(h.encoded_len() > 0, "{name}"),
            (Ok(h), Ok(shown)) => assert_eq!(describe(&h), shown, "{name}"),
            (got, Err(reason)) => assert_eq!(got, Err(DecodeError::Invalid(reason)), "{name}"),
            (Err(e), Ok(_)) => panic!("{name}: {e}"),
        }
    }
}

#[test]
fn a_crc32c_of_a_longer_header_verifies() {
    // A header with ALPN, a CRC32C in the middle and a UNIQUE_ID, checksum
    // computed by an independent bitwise implementation.
    let header = encode_v2(
        0x1,
        (
            "203.0.113.7:51000".parse().unwrap(),
            "10.0.0.5:443".parse().unwrap(),
        ),
        0x1,
        &[
            (Tlv::ALPN, b"http/1.1".to_vec()),
            (Tlv::UNIQUE_ID, b"abc".to_vec()),
        ],
        Some(1),
    );
    let decoded = decode(&header).unwrap();
    assert_eq!(decoded.tlvs().unique_id(), Some(&b"abc"[..]));
    assert!(decoded.tlvs().crc32c().is_some());
}

#[test]
fn every_strict_prefix_of_a_vector_is_incomplete() {
    for (name, hex_bytes, _) in VALID {
        let bytes = hex(hex_bytes);
        for cut in 0..bytes.len() {
            match decode(&bytes[..cut]) {
                Err(DecodeError::Incomplete(needed)) => {
                    let missing = bytes.len() - cut;
                    assert!(
                        (1..=missing).contains(&needed),
                        "{name} cut at {cut}: asks for {needed}, {missing} missing"
                    );
                    if bytes[0] == b'\r' && cut >= 16 {
                        assert_eq!(needed, missing, "{name} cut at {cut}: v2 knows its length");
                    }
                }
                other => panic!("{name} cut at {cut}: {other:?}"),
            }
        }
    }
}

#[test]
fn byte_at_a_time_delivery_decodes_once_complete() {
    let trailer = b"GET /ip HTTP/1.1\r\nHost: x\r\n\r\n";
    for (name, hex_bytes, expected) in VALID {
        let bytes = hex(hex_bytes);
        let stream: Vec<u8> = bytes.iter().chain(trailer).copied().collect();
        let mut buffer = Vec::new();
        let mut decoded = None;
        for &b in &stream {
            buffer.push(b);
            match decode(&buffer) {
                Ok(h) => {
                    decoded = Some((describe(&h), buffer.len()));
                    break;
                }
                Err(DecodeError::Incomplete(_)) => {}
                Err(e) => panic!("{name} after {} bytes: {e}", buffer.len()),
            }
        }
        assert_eq!(decoded, Some((expected.to_string(), bytes.len())), "{name}");
    }
}

#[test]
fn application_data_after_the_header_is_left_alone() {
    for (name, hex_bytes, expected) in VALID {
        let bytes = hex(hex_bytes);
        // Data, and a second header (which is application data too).
        for trailer in [
            &b"GET / HTTP/1.1\r\n\r\n"[..],
            &b"PROXY TCP4 6.6.6.6 7.7.7.7 1 2\r\n"[..],
            &hex("0d0a0d0a000d0a515549540a2111000c06060606070707070001000200")[..],
        ] {
            let input: Vec<u8> = bytes.iter().chain(trailer).copied().collect();
            let h = decode(&input).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(describe(&h), *expected, "{name}");
            assert_eq!(h.encoded_len(), bytes.len(), "{name}");
        }
    }
}

#[test]
fn decoding_from_the_first_byte_rejects_junk_at_once() {
    assert_eq!(decode(b""), Err(DecodeError::Incomplete(15)));
    assert_eq!(decode(b"P"), Err(DecodeError::Incomplete(14)));
    assert_eq!(decode(b"\r"), Err(DecodeError::Incomplete(15)));
    for junk in [&b"G"[..], b"\x16", b"PX", b"\r\r", b"\r\n\r\n\x01"] {
        assert_eq!(
            decode(junk),
            Err(DecodeError::Invalid(InvalidHeader::Signature)),
            "{junk:?}"
        );
    }
    // A v2 header with a bad version is known bad at byte 13.
    assert_eq!(
        decode(&hex("0d0a0d0a000d0a515549540a11")),
        Err(DecodeError::Invalid(InvalidHeader::Version(1)))
    );
}

// ---------------------------------------------------------------------
// Encoding, for the round trip: written from the specification, apart
// from the decoder.

/// A bitwise CRC32C (RFC 4960 appendix B), independent of the decoder's
/// table.
fn crc32c(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A v2 header; with `crc_at = Some(i)`, a CRC32C TLV inserted before TLV
/// `i` (clamped to the end).
fn encode_v2(
    command: u8,
    (src, dst): (SocketAddr, SocketAddr),
    transport: u8,
    tlvs: &[(u8, Vec<u8>)],
    crc_at: Option<usize>,
) -> Vec<u8> {
    let mut out = hex("0d0a0d0a000d0a515549540a");
    out.push(0x20 | command);
    let mut block = Vec::new();
    let family = match (src.ip(), dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            block.extend(s.octets());
            block.extend(d.octets());
            0x10
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            block.extend(s.octets());
            block.extend(d.octets());
            0x20
        }
        _ => panic!("mixed families"),
    };
    block.extend(src.port().to_be_bytes());
    block.extend(dst.port().to_be_bytes());
    out.push(family | transport);
    let mut crc_offset = None;
    let mut tlv_list: Vec<(u8, Vec<u8>)> = tlvs.to_vec();
    if let Some(i) = crc_at {
        tlv_list.insert(i.min(tlv_list.len()), (Tlv::CRC32C, vec![0; 4]));
    }
    for (kind, value) in &tlv_list {
        block.push(*kind);
        block.extend((value.len() as u16).to_be_bytes());
        if *kind == Tlv::CRC32C && crc_at.is_some() {
            crc_offset = Some(16 + block.len());
        }
        block.extend(value);
    }
    out.extend((block.len() as u16).to_be_bytes());
    out.extend(block);
    if let Some(at) = crc_offset {
        let crc = crc32c(&out);
        out[at..at + 4].copy_from_slice(&crc.to_be_bytes());
    }
    out
}

fn encode_v1(src: SocketAddr, dst: SocketAddr) -> Vec<u8> {
    let family = if src.is_ipv4() { "TCP4" } else { "TCP6" };
    format!(
        "PROXY {family} {} {} {} {}\r\n",
        src.ip(),
        dst.ip(),
        src.port(),
        dst.port()
    )
    .into_bytes()
}

fn endpoints() -> impl Strategy<Value = (SocketAddr, SocketAddr)> {
    prop_oneof![
        (
            any::<[u8; 4]>(),
            any::<[u8; 4]>(),
            any::<u16>(),
            any::<u16>()
        )
            .prop_map(|(s, d, sp, dp)| (
                SocketAddr::new(IpAddr::from(s), sp),
                SocketAddr::new(IpAddr::from(d), dp)
            )),
        (
            any::<[u8; 16]>(),
            any::<[u8; 16]>(),
            any::<u16>(),
            any::<u16>()
        )
            .prop_map(|(s, d, sp, dp)| (
                SocketAddr::new(IpAddr::from(s), sp),
                SocketAddr::new(IpAddr::from(d), dp)
            )),
    ]
}

/// TLVs that are valid whatever their value (CRC32C, UNIQUE_ID and SSL
/// have rules of their own).
fn free_tlvs() -> impl Strategy<Value = Vec<(u8, Vec<u8>)>> {
    let kind = prop::sample::select(vec![
        Tlv::ALPN,
        Tlv::AUTHORITY,
        Tlv::NOOP,
        Tlv::NETNS,
        0x00,
        0xE0,
        Tlv::AWS,
        Tlv::AZURE,
        0xF0,
        0xFF,
    ]);
    prop::collection::vec((kind, prop::collection::vec(any::<u8>(), 0..48)), 0..6)
}

proptest! {
    #[test]
    fn v2_round_trips(
        (src, dst) in endpoints(),
        transport in 1u8..=2,
        tlvs in free_tlvs(),
        crc_at in prop::option::of(0usize..7),
        trailer in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let header = encode_v2(0x1, (src, dst), transport, &tlvs, crc_at);
        let input: Vec<u8> = header.iter().chain(&trailer).copied().collect();
        let decoded = decode(&input).expect("an encoded header decodes");
        prop_assert_eq!(decoded.version(), 2);
        prop_assert_eq!(decoded.command(), Command::Proxy);
        prop_assert_eq!(
            decoded.transport(),
            if transport == 1 { Transport::Stream } else { Transport::Datagram }
        );
        prop_assert_eq!(endpoints_of(&decoded), Endpoints::Inet { source: src, destination: dst });
        prop_assert_eq!(decoded.encoded_len(), header.len());
        let got: Vec<(u8, Vec<u8>)> = decoded
            .tlvs()
            .iter()
            .filter(|t| t.kind != Tlv::CRC32C)
            .map(|t| (t.kind, t.value.to_vec()))
            .collect();
        prop_assert_eq!(got, tlvs);
        prop_assert_eq!(decoded.tlvs().crc32c().is_some(), crc_at.is_some());
    }

    #[test]
    fn v1_round_trips(
        (src, dst) in endpoints(),
        trailer in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let header = encode_v1(src, dst);
        let input: Vec<u8> = header.iter().chain(&trailer).copied().collect();
        let decoded = decode(&input).expect("an encoded line decodes");
        prop_assert_eq!(decoded.version(), 1);
        prop_assert_eq!(endpoints_of(&decoded), Endpoints::Inet { source: src, destination: dst });
        prop_assert_eq!(decoded.encoded_len(), header.len());
    }

    /// CRC32C catches every single-bit error in the address block and the
    /// TLVs, except in the CRC32C TLV's own type. (Flips in the fixed part
    /// fail its own checks or re-frame the header: a LOCAL command, an
    /// `AF_UNSPEC` family or a shorter length can leave the CRC32C TLV out.)
    #[test]
    fn a_flipped_bit_fails_the_crc32c(
        (src, dst) in endpoints(),
        tlvs in free_tlvs(),
        at in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let header = encode_v2(0x1, (src, dst), 1, &tlvs, Some(0));
        let crc_kind_at = 16 + if src.is_ipv4() { 12 } else { 36 };
        let covered: Vec<usize> = (16..header.len()).filter(|&i| i != crc_kind_at).collect();
        let i = covered[at.index(covered.len())];
        let mut flipped = header.clone();
        flipped[i] ^= 1 << bit;
        prop_assert!(decode(&flipped).is_err(), "byte {} bit {}", i, bit);
    }

    /// Whatever the bytes: no panic; a header is never longer than its
    /// input and every shorter prefix of it is incomplete; more bytes never
    /// make an invalid input valid.
    #[test]
    fn decoding_is_total_and_consistent(
        base in prop::sample::select(VALID.iter().map(|(_, h, _)| hex(h)).collect::<Vec<_>>()),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..3),
        cut in any::<prop::sample::Index>(),
        extra in prop::collection::vec(any::<u8>(), 0..16),
    ) {
        let mut bytes = base;
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        bytes.truncate(cut.index(bytes.len() + 1));
        bytes.extend(extra);
        match decode(&bytes) {
            Ok(h) => {
                prop_assert!(h.encoded_len() <= bytes.len());
                for short in 0..h.encoded_len() {
                    prop_assert!(
                        matches!(decode(&bytes[..short]), Err(DecodeError::Incomplete(n)) if n >= 1),
                        "prefix {}", short
                    );
                }
            }
            Err(DecodeError::Incomplete(n)) => prop_assert!(n >= 1),
            Err(DecodeError::Invalid(reason)) => {
                let mut more = bytes.clone();
                more.extend_from_slice(&[b'\r', b'\n', 0, 0, 0, 0, 0, 0, 0, 0]);
                prop_assert_eq!(decode(&more), Err(DecodeError::Invalid(reason)));
            }
        }
    }
}
