//! Token-level helpers for recognising MCP servers in a command line: basenames, package and
//! image names, the word `mcp`, glob patterns. Allocation-free and panic-free: they run on the
//! exec path.

/// The part after the last `/` (or `\`, for Windows paths in configs).
pub fn basename(token: &[u8]) -> &[u8] {
    match token.iter().rposition(|&b| b == b'/' || b == b'\\') {
        Some(i) => token.get(i + 1..).unwrap_or(&[]),
        None => token,
    }
}

/// An option: `-x`, `--long`, `--long=value`; a lone `-` is an operand (stdin).
pub fn is_option(token: &[u8]) -> bool {
    token.len() > 1 && token.first() == Some(&b'-')
}

/// A package spec without its version, extras or registry prefix:
/// `@scope/name@1.2` → `@scope/name`, `pkg[extra]==1.0` → `pkg`, `npm:x@2` → `x`.
pub fn package_name(spec: &[u8]) -> &[u8] {
    let spec = strip_prefix(spec, b"npm:")
        .or_else(|| strip_prefix(spec, b"jsr:"))
        .unwrap_or(spec);
    // A leading '@' is a scope, any later one starts the version.
    let mut end = spec.len();
    for (i, &b) in spec.iter().enumerate() {
        if (b == b'@' && i > 0) || matches!(b, b'[' | b'=' | b'<' | b'>' | b'~' | b'!' | b';') {
            end = i;
            break;
        }
    }
    spec.get(..end).unwrap_or(spec)
}

/// A package that is an MCP server by name: `@modelcontextprotocol/server-*`, or any package
/// whose name has the word `mcp` (`mcp-server-fetch`, `@playwright/mcp`, `blender-mcp`,
/// `Acme.Mcp.Server`). A bare `mcp` is the Python SDK's CLI, which detection judges by its
/// subcommand.
pub fn package_is_mcp(spec: &[u8]) -> bool {
    let name = package_name(spec);
    if name.eq_ignore_ascii_case(b"mcp") {
        return false;
    }
    starts_with_ci(name, b"@modelcontextprotocol/server-")
        || (has_mcp_word(name) && !name.contains(&b':'))
        || (name.contains(&b':') && has_mcp_word(basename(name)))
}

/// A container image reference without its tag or digest: `reg:5000/ns/name:1.0` → `reg:5000/ns/name`.
pub fn image_name(image: &[u8]) -> &[u8] {
    let image = match image.iter().position(|&b| b == b'@') {
        Some(i) => image.get(..i).unwrap_or(image),
        None => image,
    };
    let last_slash = image.iter().rposition(|&b| b == b'/').map_or(0, |i| i + 1);
    match image.iter().rposition(|&b| b == b':') {
        Some(i) if i >= last_slash => image.get(..i).unwrap_or(image),
        _ => image,
    }
}

fn strip_prefix<'a>(s: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    if s.len() >= prefix.len() && s.get(..prefix.len())?.eq_ignore_ascii_case(prefix) {
        s.get(prefix.len()..)
    } else {
        None
    }
}

/// Whether `token` starts with `prefix`, ignoring ASCII case.
pub fn starts_with_ci(token: &[u8], prefix: &[u8]) -> bool {
    strip_prefix(token, prefix).is_some()
}

/// Whether `token` contains `mcp` as a word of its own: delimited by non-alphanumerics, the
/// ends, or a camelCase boundary (`McpServer`, `MCPServer`, `myMcp`), but not inside another
/// word (`mcpserverstdio`, `smcp`).
pub fn has_mcp_word(token: &[u8]) -> bool {
    let mut i = 0;
    while let Some(w) = token.get(i..i + 3) {
        if w.eq_ignore_ascii_case(b"mcp") && left_boundary(token, i) && right_boundary(token, i) {
            return true;
        }
        i += 1;
    }
    false
}

fn left_boundary(t: &[u8], i: usize) -> bool {
    let Some(i1) = i.checked_sub(1) else {
        return true;
    };
    let (Some(&prev), Some(&first)) = (t.get(i1), t.get(i)) else {
        return true;
    };
    !prev.is_ascii_alphanumeric() || (prev.is_ascii_lowercase() && first.is_ascii_uppercase())
}

fn right_boundary(t: &[u8], i: usize) -> bool {
    let Some(&next) = t.get(i + 3) else {
        return true;
    };
    if !next.is_ascii_alphanumeric() {
        return true;
    }
    // camelCase: `McpServer`, `mcpServer`; an acronym: `MCPServer` (next is upper, then lower).
    let last = t.get(i + 2).copied().unwrap_or(b'x');
    if last.is_ascii_lowercase() {
        return next.is_ascii_uppercase();
    }
    next.is_ascii_uppercase() && t.get(i + 4).is_none_or(|b| b.is_ascii_lowercase())
}

/// `name` cut to at most `max` bytes, at a UTF-8 character boundary (a name that is not UTF-8
/// is cut at `max`).
pub fn truncate_name(name: &[u8], max: usize) -> &[u8] {
    if name.len() <= max {
        return name;
    }
    let mut end = max;
    // Back off continuation bytes (10xxxxxx), at most three: a character is at most four bytes.
    while end > max.saturating_sub(3) && name.get(end).is_some_and(|&b| b & 0xC0 == 0x80) {
        end -= 1;
    }
    name.get(..end).unwrap_or(name)
}

/// Matches `text` against a glob of `*` (any run) and `?` (one byte); everything else literal.
pub fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || Some(&c) == text.get(t) => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern.get(p..).unwrap_or(&[]).iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basenames_of_unix_and_windows_paths() {
        assert_eq!(basename(b"/usr/bin/npx"), b"npx");
        assert_eq!(basename(b"npx"), b"npx");
        assert_eq!(
            basename(b"C:\\Repos\\MCPServer.csproj"),
            b"MCPServer.csproj"
        );
        assert_eq!(basename(b"dir/"), b"");
    }

    #[test]
    fn package_names_drop_versions_and_extras_but_keep_scopes() {
        assert_eq!(package_name(b"@playwright/mcp@latest"), b"@playwright/mcp");
        assert_eq!(package_name(b"mcp-remote"), b"mcp-remote");
        assert_eq!(package_name(b"arxiv-mcp-server[pdf]"), b"arxiv-mcp-server");
        assert_eq!(package_name(b"mcp-server-fetch==1.0"), b"mcp-server-fetch");
        assert_eq!(package_name(b"npm:@x/y@2"), b"@x/y");
        assert_eq!(package_name(b"@scope"), b"@scope");
    }

    #[test]
    fn image_names_drop_tags_and_digests_but_keep_registry_ports() {
        assert_eq!(image_name(b"mcp/filesystem"), b"mcp/filesystem");
        assert_eq!(
            image_name(b"hashicorp/terraform-mcp-server:0.2.3"),
            b"hashicorp/terraform-mcp-server"
        );
        assert_eq!(image_name(b"reg:5000/ns/x"), b"reg:5000/ns/x");
        assert_eq!(image_name(b"x@sha256:abc"), b"x");
    }

    #[test]
    fn the_word_mcp_is_found_between_separators_and_camel_case() {
        for yes in [
            "mcp",
            "mcp-server-fetch",
            "mcp_server_time",
            "blender-mcp",
            "@playwright/mcp",
            "/srv/mcp-servers/jira/build/index.js",
            "chrome-devtools-mcp.js",
            "MCPServer.csproj",
            "McpServer",
            "myMcp",
            "ai-mcp-serveer-0.0.1-SNAPSHOT.jar",
            "--mcp",
        ] {
            assert!(has_mcp_word(yes.as_bytes()), "{yes}");
        }
        for no in [
            "mcpserverstdio",
            "smcp",
            "npm",
            "modelcontextprotocol",
            "MCPs",
            "mc",
        ] {
            assert!(!has_mcp_word(no.as_bytes()), "{no}");
        }
    }

    #[test]
    fn globs_match_stars_and_question_marks() {
        assert!(glob_match(b"*-connector", b"jira-connector"));
        assert!(glob_match(b"weather-server", b"weather-server"));
        assert!(glob_match(b"w?ather*", b"weather-server"));
        assert!(glob_match(b"*", b""));
        assert!(glob_match(b"a*b*c", b"aXXbYYc"));
        assert!(!glob_match(b"a*b*c", b"aXXbYY"));
        assert!(!glob_match(b"weather", b"weather-server"));
        assert!(!glob_match(b"", b"x"));
    }

    #[test]
    fn names_are_cut_at_a_character_boundary() {
        assert_eq!(truncate_name(b"abc", 3), b"abc");
        assert_eq!(truncate_name(b"abcd", 3), b"abc");
        // "é" is two bytes: a cut inside it backs off to before it.
        assert_eq!(truncate_name("abé".as_bytes(), 3), b"ab");
        assert_eq!(truncate_name(b"", 0), b"");
    }

    #[test]
    fn options_are_dash_words() {
        assert!(is_option(b"-y"));
        assert!(is_option(b"--from=x"));
        assert!(!is_option(b"-"));
        assert!(!is_option(b"x"));
    }
}
