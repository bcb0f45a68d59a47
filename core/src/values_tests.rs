//! Unit tests of `Session::fill`: what one child is given, where each string lands, the
//! implied `NODE_USE_ENV_PROXY`, and what the log's `missing` says.

use super::*;
use crate::detect::Reason;
use crate::session::tests::{prepare, FakeFs, Prepared};
use core::mem::MaybeUninit;

const HOST: &[(&str, &str)] = &[
    ("HTTPS_PROXY", "http://127.0.0.1:3128"),
    ("NO_PROXY", "localhost"),
    ("SSL_CERT_FILE", "/tls/bundle.pem"),
    ("SSL_CERT_DIR", "/tls/gone"),
];

fn fs() -> FakeFs {
    FakeFs::default().with("/tls/bundle.pem", "")
}

fn plan(s: &Prepared, present: &[&str], lost: bool) -> Plan<'static> {
    let present = present
        .iter()
        .map(|k| 1u64 << s.index(k).unwrap())
        .fold(0, |a, b| a | b);
    let allowed = if lost {
        s.all()
    } else {
        s.config_has | s.h.has()
    };
    Plan {
        reason: Reason::All,
        server: &[],
        present,
        lost,
        candidates: allowed & !present,
    }
}

/// The strings a child is given, in envp order, as `each` reports them.
fn given(s: &Prepared, p: &Plan<'_>) -> (Vec<String>, Outcome) {
    let mut mem = vec![MaybeUninit::uninit(); s.max_kv(&s.h)];
    let mut out = Arena::new(&mut mem);
    let mut at = Vec::new();
    let o = s.fill(&s.h, p, &mut out, &fs(), |i, start, _| at.push((i, start)));
    let strings = at
        .into_iter()
        .map(|(i, start)| {
            let kv = if start == usize::MAX {
                IMPLIED_FLAG
            } else {
                let end = (start..out.mark())
                    .find(|&e| out.get(e, e + 1) == b"\0")
                    .unwrap()
                    + 1;
                out.get(start, end)
            };
            assert!(
                kv.starts_with(s.keys[i].name.as_bytes()),
                "reported for its key"
            );
            String::from_utf8(kv.strip_suffix(b"\0").unwrap().to_vec()).unwrap()
        })
        .collect();
    (strings, o)
}

fn names(s: &Prepared, mask: u64) -> Vec<&'static str> {
    bits(mask).map(|i| s.keys[i].name).collect()
}

#[test]
fn a_child_that_lost_the_block_gets_the_host_values_siblings_and_the_implied_flag() {
    let s = prepare(HOST, false, &fs());
    let (strings, o) = given(&s, &plan(&s, &[], true));
    for kv in [
        "HTTPS_PROXY=http://127.0.0.1:3128",
        "https_proxy=http://127.0.0.1:3128",
        "ALL_PROXY=http://127.0.0.1:3128",
        "no_proxy=localhost",
        "SSL_CERT_FILE=/tls/bundle.pem",
        "NPM_CONFIG_CAFILE=/tls/bundle.pem",
        "NODE_USE_ENV_PROXY=1",
        "NODE_EXTRA_CA_CERTS=/tls/bundle.pem",
    ] {
        assert!(strings.iter().any(|s| s == kv), "{kv} in {strings:?}");
    }
    assert_eq!(names(&s, o.ca_missing), ["SSL_CERT_DIR"]);
    assert!(names(&s, o.no_value).contains(&"HTTP_PROXY"));
    let missing: Vec<_> = o.missing().map(|(i, w)| (s.keys[i].name, w)).collect();
    assert!(missing.contains(&("SSL_CERT_DIR", Why::CaFileNotFound)));
    assert!(
        missing
            .windows(2)
            .all(|w| s.index(w[0].0) < s.index(w[1].0)),
        "in key order: {missing:?}"
    );
}

#[test]
fn a_child_that_kept_the_block_is_restored_not_invented_for() {
    let s = prepare(HOST, false, &fs());
    let (strings, o) = given(&s, &plan(&s, &["HTTPS_PROXY", "NO_PROXY"], false));
    assert_eq!(strings, ["SSL_CERT_FILE=/tls/bundle.pem"]);
    assert_eq!(names(&s, o.ca_missing), ["SSL_CERT_DIR"]);
    assert_eq!(o.no_value, 0, "keys the host lacks are not even candidates");
}

#[test]
fn the_flag_is_implied_only_by_a_proxy_key_and_only_when_no_value_exists_anywhere() {
    let s = prepare(HOST, false, &fs());
    let flag = s.index("NODE_USE_ENV_PROXY").unwrap();
    let https = 1u64 << s.index("HTTPS_PROXY").unwrap();
    let no_proxy = 1u64 << s.index("NO_PROXY").unwrap();
    assert_eq!(s.implied_flag(&s.h, https, 0), Some(flag));
    assert_eq!(
        s.implied_flag(&s.h, no_proxy, 0),
        None,
        "NO_PROXY alone is no proxy"
    );
    assert_eq!(
        s.implied_flag(&s.h, https, 1 << flag),
        None,
        "the child has its own"
    );
    let own = prepare(
        &[("HTTPS_PROXY", "http://p:1"), ("NODE_USE_ENV_PROXY", "0")],
        false,
        &fs(),
    );
    assert_eq!(
        own.implied_flag(&own.h, https, 0),
        None,
        "the host's own 0 is restored instead"
    );
    let (strings, _) = given(&own, &plan(&own, &[], true));
    assert!(
        strings.iter().any(|s| s == "NODE_USE_ENV_PROXY=0"),
        "{strings:?}"
    );
    let (strings, _) = given(
        &s,
        &plan(
            &s,
            &[
                "HTTPS_PROXY",
                "https_proxy",
                "HTTP_PROXY",
                "http_proxy",
                "ALL_PROXY",
                "all_proxy",
                "grpc_proxy",
            ],
            true,
        ),
    );
    assert!(
        !strings.iter().any(|s| s.starts_with("NODE_USE_ENV_PROXY")),
        "no proxy key given, no flag: {strings:?}"
    );
}

#[test]
fn a_kept_child_given_a_restored_proxy_key_gets_the_implied_flag_too() {
    let s = prepare(HOST, false, &fs());
    let (strings, _) = given(
        &s,
        &plan(&s, &["NO_PROXY", "SSL_CERT_FILE", "SSL_CERT_DIR"], false),
    );
    assert_eq!(
        strings,
        ["HTTPS_PROXY=http://127.0.0.1:3128", "NODE_USE_ENV_PROXY=1"]
    );
}

#[test]
fn an_arena_too_small_leaves_keys_without_value_instead_of_failing() {
    let s = prepare(HOST, false, &fs());
    let mut mem = [MaybeUninit::uninit(); 40];
    let mut out = Arena::new(&mut mem);
    let mut n = 0;
    let o = s.fill(&s.h, &plan(&s, &[], true), &mut out, &fs(), |_, _, _| {
        n += 1
    });
    assert_eq!(o.injected.count_ones(), n);
    assert!((1..5).contains(&n), "{n} fit in 40 bytes");
    assert_ne!(o.no_value, 0);
}
