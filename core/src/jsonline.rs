//! The log line: one JSON object formatted into a caller-provided fixed buffer, so that it is
//! written with a single `write(2)` and never allocates. A line that does not fit is cut at a
//! field boundary and marked `"truncated":true`; it is still valid JSON.

use crate::envp::bits;
use core::mem::MaybeUninit;

/// Room kept at the end of the buffer for `,"truncated":true}\n`.
const TAIL: usize = 20;
/// The smallest buffer that always holds a valid line: `{` and the tail.
pub const MIN_LINE: usize = 1 + TAIL;

/// A JSON writer over a fixed buffer. The buffer may be uninitialised: only the bytes written
/// are touched, which in a forked child means fewer stack pages copied.
pub struct Line<'a> {
    buf: &'a mut [MaybeUninit<u8>],
    len: usize,
    /// The field being written does not fit; it is rolled back.
    full: bool,
    /// Some field was left out: the line says so.
    truncated: bool,
    fields: usize,
}

impl<'a> Line<'a> {
    pub fn new(buf: &'a mut [MaybeUninit<u8>]) -> Line<'a> {
        let mut l = Line {
            buf,
            len: 0,
            full: false,
            truncated: false,
            fields: 0,
        };
        // The brace is not subject to the tail's reserve: a buffer of at least `MIN_LINE`
        // bytes always ends as a JSON object.
        if let Some(b) = l.buf.first_mut() {
            b.write(b'{');
            l.len = 1;
        }
        l
    }

    fn raw(&mut self, s: &[u8]) {
        let limit = self.buf.len().saturating_sub(TAIL);
        if self.full || self.len + s.len() > limit {
            self.full = true;
            return;
        }
        if let Some(dst) = self.buf.get_mut(self.len..self.len + s.len()) {
            // SAFETY: `dst` and `s` have the same length and cannot overlap (`s` is not in
            // the buffer, which is borrowed mutably here).
            unsafe { core::ptr::copy_nonoverlapping(s.as_ptr(), dst.as_mut_ptr().cast(), s.len()) };
            self.len += s.len();
        }
    }

    /// Writes a field only if it fits whole, so a cut line stays valid; a later, shorter field
    /// may still fit. Field names are the shim's own constants: written as they are.
    fn field(&mut self, name: &str, write: impl FnOnce(&mut Self)) {
        let (len, fields) = (self.len, self.fields);
        self.raw(if self.fields > 0 { b",\"" } else { b"\"" });
        self.raw(name.as_bytes());
        self.raw(b"\":");
        write(self);
        self.fields += 1;
        if self.full {
            self.len = len;
            self.fields = fields;
            self.full = false;
            self.truncated = true;
        }
    }

    /// A JSON string. Valid UTF-8 is copied as it is, in runs; quotes, backslashes and control
    /// characters are escaped; a byte that is not UTF-8 (paths need not be) becomes `\u00XX`.
    fn string(&mut self, s: &[u8]) {
        self.raw(b"\"");
        for chunk in s.utf8_chunks() {
            let mut rest = chunk.valid().as_bytes();
            while !rest.is_empty() {
                let plain = rest
                    .iter()
                    .position(|&b| needs_escape(b))
                    .unwrap_or(rest.len());
                let (run, tail) = rest.split_at(plain);
                self.raw(run);
                let Some((&b, tail)) = tail.split_first() else {
                    break;
                };
                match b {
                    b'"' => self.raw(b"\\\""),
                    b'\\' => self.raw(b"\\\\"),
                    b'\n' => self.raw(b"\\n"),
                    _ => self.escaped_byte(b),
                }
                rest = tail;
            }
            for &b in chunk.invalid() {
                self.escaped_byte(b);
            }
        }
        self.raw(b"\"");
    }

    fn escaped_byte(&mut self, b: u8) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let hi = HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0');
        let lo = HEX.get(usize::from(b & 15)).copied().unwrap_or(b'0');
        self.raw(&[b'\\', b'u', b'0', b'0', hi, lo]);
    }

    fn number(&mut self, n: i64) {
        if n < 0 {
            self.raw(b"-");
        }
        self.raw(decimal(n.unsigned_abs(), &mut [0; 20]));
    }

    pub fn str_field(&mut self, name: &str, value: &[u8]) {
        self.field(name, |l| l.string(value));
    }

    pub fn num_field(&mut self, name: &str, value: i64) {
        self.field(name, |l| l.number(value));
    }

    /// A field whose value is already JSON (prepared at load time).
    pub fn json_field(&mut self, name: &str, json: &[u8]) {
        self.field(name, |l| l.raw(json));
    }

    /// A list of the key names whose bits are set in `mask`. Key names are environment
    /// variable names (checked at load): nothing in them to escape.
    pub fn keys_field<K: AsRef<[u8]>>(&mut self, name: &str, mask: u64, names: &[K]) {
        self.field(name, |l| {
            l.raw(b"[");
            for (n, i) in bits(mask).enumerate() {
                l.raw(if n > 0 { b",\"" } else { b"\"" });
                l.raw(names.get(i).map_or(&b"?"[..], |k| k.as_ref()));
                l.raw(b"\"");
            }
            l.raw(b"]");
        });
    }

    /// A list of strings, escaped.
    pub fn list_field(&mut self, name: &str, items: &[&[u8]]) {
        self.field(name, |l| {
            l.raw(b"[");
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    l.raw(b",");
                }
                l.string(item);
            }
            l.raw(b"]");
        });
    }

    /// `{"KEY":"why",...}`: key names (checked at load, nothing to escape) and the shim's own
    /// words.
    pub fn missing_field<'k>(
        &mut self,
        name: &str,
        items: impl Iterator<Item = (&'k [u8], &'k str)>,
    ) {
        self.field(name, |l| {
            l.raw(b"{");
            for (n, (key, why)) in items.enumerate() {
                l.raw(if n > 0 { b",\"" } else { b"\"" });
                l.raw(key);
                l.raw(b"\":\"");
                l.raw(why.as_bytes());
                l.raw(b"\"");
            }
            l.raw(b"}");
        });
    }

    pub fn timestamp_field(&mut self, secs: i64, millis: u32) {
        let mut ts = [0u8; 24];
        rfc3339(secs, millis, &mut ts);
        self.field("ts", |l| {
            l.raw(b"\"");
            l.raw(&ts);
            l.raw(b"\"");
        });
    }

    /// Closes the object and the line; returns the bytes to write.
    pub fn finish(self) -> &'a [u8] {
        let Line {
            buf,
            mut len,
            truncated,
            fields,
            ..
        } = self;
        let end: &[u8] = match (truncated, fields) {
            (false, _) => b"}\n",
            // No field fitted: no comma before the marker, or the line is not JSON.
            (true, 0) => b"\"truncated\":true}\n",
            (true, _) => b",\"truncated\":true}\n",
        };
        if let Some(dst) = buf.get_mut(len..len + end.len()) {
            // SAFETY: as in `raw`.
            unsafe {
                core::ptr::copy_nonoverlapping(end.as_ptr(), dst.as_mut_ptr().cast(), end.len())
            };
            len += end.len();
        }
        let written = buf.get(..len).unwrap_or(&[]);
        // SAFETY: the first `len` bytes were all written by `raw` or just above.
        unsafe { core::slice::from_raw_parts(written.as_ptr().cast(), written.len()) }
    }
}

/// Within valid UTF-8: the bytes JSON wants escaped (bytes of multi-byte characters pass).
fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == 0x7f || b == b'"' || b == b'\\'
}

/// Formats `secs.millis` since the epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ` (24 bytes).
pub fn rfc3339(secs: i64, millis: u32, out: &mut [u8; 24]) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let fields: [(i64, usize); 7] = [
        (y, 4),
        (m, 2),
        (d, 2),
        (rem / 3600, 2),
        (rem / 60 % 60, 2),
        (rem % 60, 2),
        (i64::from(millis.min(999)), 3),
    ];
    let seps = [b'-', b'-', b'T', b':', b':', b'.', b'Z'];
    let mut pos = 0;
    for ((value, width), sep) in fields.into_iter().zip(seps) {
        // Only the low `width` digits are written; every divisor is a constant, so nothing here
        // can divide by zero (a panic path, which the exec path must not have).
        let mut v = value.unsigned_abs();
        for k in (0..width).rev() {
            if let Some(c) = out.get_mut(pos + k) {
                *c = b'0' + (v % 10) as u8;
            }
            v /= 10;
        }
        pos += width;
        if let Some(c) = out.get_mut(pos) {
            *c = sep;
        }
        pos += 1;
    }
}

/// Days since 1970-01-01 to (year, month, day): Howard Hinnant's `civil_from_days`.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// The decimal digits of `v`, written at the end of `digits` (no allocation, no formatting
/// machinery: the exec path uses it too).
pub fn decimal(mut v: u64, digits: &mut [u8; 20]) -> &[u8] {
    let mut i = digits.len();
    loop {
        i -= 1;
        if let Some(d) = digits.get_mut(i) {
            *d = b'0' + (v % 10) as u8;
        }
        v /= 10;
        if v == 0 || i == 0 {
            break;
        }
    }
    digits.get(i..).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(secs: i64, ms: u32) -> String {
        let mut b = [0u8; 24];
        rfc3339(secs, ms, &mut b);
        String::from_utf8(b.to_vec()).unwrap()
    }

    #[test]
    fn timestamps_are_rfc3339_utc_with_milliseconds() {
        assert_eq!(ts(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(ts(951_782_400, 7), "2000-02-29T00:00:00.007Z");
        assert_eq!(ts(1_795_622_401, 123), "2026-11-25T16:00:01.123Z");
        assert_eq!(ts(4_107_542_399, 999), "2100-02-28T23:59:59.999Z");
    }

    #[test]
    fn a_line_is_one_json_object_ending_in_a_newline() {
        let mut buf = [MaybeUninit::uninit(); 512];
        let mut l = Line::new(&mut buf);
        l.timestamp_field(0, 5);
        l.str_field("event", b"inject");
        l.num_field("pid", 4242);
        l.num_field("errno", -2);
        l.keys_field("injected", 0b101, &["A", "B", "C"]);
        l.keys_field("kept", 0, &["A"]);
        l.json_field("missing", br#"{"X":"no-value"}"#);
        let out = l.finish();
        assert_eq!(out.last(), Some(&b'\n'));
        assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1);
        let v: serde_json::Value = serde_json::from_slice(out).unwrap();
        assert_eq!(v["ts"], "1970-01-01T00:00:00.005Z");
        assert_eq!(v["pid"], 4242);
        assert_eq!(v["errno"], -2);
        assert_eq!(v["injected"], serde_json::json!(["A", "C"]));
        assert_eq!(v["kept"], serde_json::json!([]));
        assert_eq!(v["missing"]["X"], "no-value");
    }

    #[test]
    fn strings_are_escaped_including_non_utf8_bytes() {
        let mut buf = [MaybeUninit::uninit(); 256];
        let mut l = Line::new(&mut buf);
        l.str_field("exe", b"/a \"b\"\\\n\x01\xff");
        l.str_field("utf8", "/srv/été/サーバ".as_bytes());
        let v: serde_json::Value = serde_json::from_slice(l.finish()).unwrap();
        assert_eq!(v["exe"], "/a \"b\"\\\n\u{1}\u{ff}");
        assert_eq!(v["utf8"], "/srv/été/サーバ", "valid UTF-8 is kept as it is");
    }

    #[test]
    fn a_line_whose_first_field_does_not_fit_is_still_valid_json() {
        for size in MIN_LINE..40 {
            let mut buf = vec![MaybeUninit::uninit(); size];
            let mut l = Line::new(&mut buf);
            l.str_field("exe", &[b'x'; 200]);
            let out = l.finish();
            let v: serde_json::Value = serde_json::from_slice(out)
                .unwrap_or_else(|e| panic!("{size}: {e}: {:?}", String::from_utf8_lossy(out)));
            assert_eq!(v["truncated"], true);
            assert!(out.len() <= size);
        }
    }

    #[test]
    fn missing_is_an_object_of_reasons() {
        let mut buf = [MaybeUninit::uninit(); 128];
        let mut l = Line::new(&mut buf);
        l.missing_field(
            "missing",
            [(&b"A"[..], "no-value"), (&b"B"[..], "ca-file-not-found")].into_iter(),
        );
        l.missing_field("none", core::iter::empty());
        l.list_field("from", &[b"parent", b"a\"b"]);
        let v: serde_json::Value = serde_json::from_slice(l.finish()).unwrap();
        assert_eq!(v["missing"]["B"], "ca-file-not-found");
        assert_eq!(v["none"], serde_json::json!({}));
        assert_eq!(v["from"], serde_json::json!(["parent", "a\"b"]));
    }

    #[test]
    fn a_line_that_does_not_fit_is_cut_at_a_field_and_stays_valid_json() {
        let mut buf = [MaybeUninit::uninit(); 80];
        let mut l = Line::new(&mut buf);
        l.str_field("event", b"inject");
        l.str_field("exe", &[b'x'; 200]);
        l.num_field("pid", 1);
        let out = l.finish();
        let v: serde_json::Value = serde_json::from_slice(out).unwrap();
        assert_eq!(v["event"], "inject");
        assert_eq!(v["truncated"], true);
        assert!(v.get("exe").is_none());
        assert_eq!(v["pid"], 1, "a later field that fits is still written");
        assert!(out.len() <= 80);
    }
}
