//! Unit tests of `detect`: the real launch commands of `testdata/mcp-commands.json` (a sample
//! of MCP server configs and of commands that are not servers), and the launcher forms one by
//! one.

use super::*;

fn verdict<'a>(command: &'a str, args: &[&'a str]) -> Verdict<'a> {
    let mut argv: Vec<&[u8]> = vec![command.as_bytes()];
    argv.extend(args.iter().map(|a| a.as_bytes()));
    classify(command.as_bytes(), &argv)
}

fn name(cmdline: &str) -> Option<Reason> {
    let mut words = cmdline.split(' ');
    let cmd = words.next().unwrap();
    verdict(cmd, &words.collect::<Vec<_>>()).name
}

fn examples(kind: &str) -> Vec<(String, Vec<String>)> {
    let all: serde_json::Value =
        serde_json::from_str(include_str!("../testdata/mcp-commands.json")).unwrap();
    all[kind]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let args = e["args"].as_array().unwrap();
            let args = args
                .iter()
                .map(|a| a.as_str().unwrap().to_string())
                .collect();
            (e["command"].as_str().unwrap().to_string(), args)
        })
        .collect()
}

#[test]
fn every_real_mcp_server_launch_is_recognised_by_name() {
    let mcp = examples("mcp");
    assert!(mcp.len() > 50);
    for (cmd, args) in &mcp {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let v = verdict(cmd, &args);
        assert!(v.name.is_some(), "missed: {cmd} {args:?}");
    }
}

#[test]
fn no_command_that_is_not_a_server_is_recognised_by_name() {
    let not = examples("not_mcp");
    assert!(not.len() > 30);
    for (cmd, args) in &not {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let v = verdict(cmd, &args);
        assert_eq!(v.name, None, "false positive: {cmd} {args:?}");
    }
}

#[test]
fn the_rule_that_matched_is_reported() {
    assert_eq!(name("/usr/local/bin/mcp-grafana"), Some(Reason::Program));
    assert_eq!(
        name("npx -y @modelcontextprotocol/server-memory"),
        Some(Reason::Package)
    );
    assert_eq!(
        name("node /srv/mcp-servers/jira/build/index.js"),
        Some(Reason::Script)
    );
    assert_eq!(name("python3 -m mcp_server_time"), Some(Reason::Module));
    assert_eq!(name("python3 -mmcp_server_time"), Some(Reason::Module));
    assert_eq!(name("docker run -i --rm mcp/time"), Some(Reason::Image));
    assert_eq!(name("nu --mcp"), Some(Reason::Flag));
    assert_eq!(name("serena start-mcp-server"), Some(Reason::Subcommand));
    assert_eq!(name("claude mcp serve"), Some(Reason::Subcommand));
    assert_eq!(name("docker mcp gateway run"), Some(Reason::Subcommand));
}

#[test]
fn launchers_are_seen_through() {
    for yes in [
        "env -u BAR FOO=1 npx -y mcp-remote http://x",
        "timeout 30 uvx mcp-server-fetch",
        "nohup node /opt/weather-mcp/index.js",
        "yarn dlx @modelcontextprotocol/server-github",
        "npm exec --yes -- @modelcontextprotocol/server-github",
        "npx --package=@acme/mcp-tools acme-tools",
        "uv tool run mcp-server-git",
        "uv run --with mcp mcp run server.py",
        "pipx run --spec mcp-server-fetch mcp-server-fetch",
        "podman run --rm -i -e A=1 --name x ghcr.io/acme/mcp-jira:1.2",
        "docker container run -i registry.local:5000/tools/github-mcp-server",
        "deno run -A npm:@acme/mcp-server",
        "bun run ./mcp/server.ts",
        "go run ./cmd/github-mcp-server stdio",
        "dotnet run --project ./src/Acme.McpServer/Acme.McpServer.csproj",
        "ts-node ./src/mcp-server.ts",
        "pnpm --silent dlx @acme/mcp-jira",
        "docker -H unix:///run/docker.sock run -i --rm mcp/time",
    ] {
        let words: Vec<&str> = yes.split(' ').collect();
        assert!(
            verdict(words[0], &words[1..]).name.is_some(),
            "missed: {yes}"
        );
    }
}

#[test]
fn shell_strings_are_split_into_commands() {
    let v = verdict(
        "/bin/bash",
        &["-lc", "cd /srv && exec npx -y @playwright/mcp@latest"],
    );
    assert_eq!(v.name, Some(Reason::Package));
    let v = verdict("/bin/sh", &["-c", "'uvx mcp-server-time;'"]);
    assert_eq!(v.name, Some(Reason::Package));
    let v = verdict("sh", &["-c", "exec uvx mcp-server-fetch"]);
    assert_eq!(v.name, Some(Reason::Package));
    let v = verdict(
        "sh",
        &[
            "-c",
            "GITHUB_TOKEN=x npx -y @modelcontextprotocol/server-github",
        ],
    );
    assert_eq!(v.name, Some(Reason::Package));
    let v = verdict(
        "bash",
        &["-c", "cd /srv && A=1 B=2 exec uvx mcp-server-git"],
    );
    assert_eq!(v.name, Some(Reason::Package));
    let v = verdict("/bin/sh", &["-c", "npm test; make"]);
    assert_eq!(v.name, None);
    let v = verdict("/bin/sh", &["script.sh"]);
    assert_eq!(v, Verdict::default());
}

#[test]
fn installers_builders_and_searches_that_name_a_server_are_not_servers() {
    for no in [
        "pip install mcp-server-fetch",
        "npm install -g @modelcontextprotocol/server-memory",
        "docker pull mcp/filesystem",
        "docker build -t acme/mcp-server .",
        "go build ./cmd/github-mcp-server",
        "uv run mcp install server.py",
        "claude mcp add memory",
        "rg -n mcp src",
        "grep -r mcp-server .",
        "cat /etc/mcp/config.json",
        "npx -y @modelcontextprotocol/inspector",
        "npx -y @modelcontextprotocol/create-server x",
    ] {
        assert_eq!(name(no), None, "false positive: {no}");
    }
}

#[test]
fn runtimes_and_launchers_are_flagged_for_the_dropped_environment_rule() {
    assert!(verdict("node", &["/app/index.js"]).runtime);
    assert!(verdict("/usr/bin/python3.11", &["server.py"]).runtime);
    assert!(verdict("npx", &["-y", "acme-tools"]).runtime);
    assert!(verdict("docker", &["run", "-i", "acme/tools"]).runtime);
    assert!(verdict("java", &["-jar", "tools.jar"]).runtime);
    // The MCP quickstart's own launch command: global options before `run`.
    assert!(verdict("uv", &["--directory", "/srv/weather", "run", "weather.py"]).runtime);
    assert!(verdict("pnpm", &["--silent", "dlx", "acme-tools"]).runtime);
    assert!(!verdict("pnpm", &["--filter", "@flux/app", "build"]).runtime);
    assert!(!verdict("/bin/true", &[]).runtime);
    assert!(!verdict("git", &["status"]).runtime);
}

#[test]
fn argv0_counts_when_the_path_is_a_generic_launcher_name() {
    // fexecve gives no path; a multi-call binary may be named only by argv[0].
    let v = classify(b"", &[b"mcp-server-x".as_slice()]);
    assert_eq!(v.name, Some(Reason::Program));
    let v = classify(b"/proc/self/fd/3", &[b"github-mcp-server".as_slice()]);
    assert_eq!(v.name, Some(Reason::Program));
}

#[test]
fn mentions_of_mcp_in_names_are_the_weak_hint() {
    let argv = |a: &[&'static str]| a.iter().map(|a| a.as_bytes()).collect::<Vec<_>>();
    assert!(mentions_mcp(
        b"/usr/bin/node",
        &argv(&["node", "/srv/x/mcp.js"])
    ));
    assert!(mentions_mcp(b"/usr/bin/rg", &argv(&["rg", "mcp", "src"])));
    assert!(!mentions_mcp(
        b"/usr/bin/node",
        &argv(&["node", "/srv/app/index.js"])
    ));
    let plain = b"/tmp/mcp-env-shim/plain-child".as_slice();
    assert!(
        !mentions_mcp(plain, &[plain]),
        "the directory is not the name"
    );
}

#[test]
fn hostile_input_is_handled_without_panicking() {
    let long = "a".repeat(100_000);
    let dashes = ["-"; 200];
    for args in [
        &["-c"][..],
        &["--from"],
        &["-m"],
        &["-jar"],
        &["run"],
        &["container", "run"],
    ] {
        for cmd in [
            "sh", "uvx", "python3", "java", "docker", "npx", "env", "timeout", "dotnet",
        ] {
            let _ = verdict(cmd, args);
        }
    }
    let _ = verdict("sh", &["-c", &long]);
    let _ = verdict("npx", &dashes);
    let nested = "sh -c ".repeat(50) + "npx mcp-remote";
    let _ = verdict("sh", &["-c", &nested]);
    let _ = classify::<&[u8]>(b"", &[]);
}

#[test]
fn the_server_is_the_name_the_rule_matched() {
    let server = |cmdline: &'static str| {
        let words: Vec<&str> = cmdline.split(' ').collect();
        let v = verdict(words[0], &words[1..]);
        String::from_utf8(v.server.to_vec()).unwrap()
    };
    assert_eq!(server("npx -y @playwright/mcp@latest"), "@playwright/mcp");
    assert_eq!(
        server("uvx --from arxiv-mcp-server[pdf] arxiv-mcp-server"),
        "arxiv-mcp-server"
    );
    assert_eq!(server("/usr/local/bin/mcp-grafana -debug"), "mcp-grafana");
    assert_eq!(server("python3 -m mcp_server_time"), "mcp_server_time");
    assert_eq!(server("python -m src.mcp_server.server"), "mcp_server");
    assert_eq!(server("docker run -i --rm mcp/time:1.2"), "mcp/time");
    assert_eq!(
        server("node /srv/x/supabase-mcp/packages/mcp-server-supabase/dist/transports/stdio.js"),
        "mcp-server-supabase"
    );
    assert_eq!(server("nu --mcp"), "nu");
    assert_eq!(server("serena start-mcp-server"), "serena");
    assert_eq!(server("git status"), "");
    assert_eq!(server("node /app/dist/index.js"), "");
    let long = format!("/opt/{}-mcp", "x".repeat(300));
    assert_eq!(server(Box::leak(long.into_boxed_str())).len(), MAX_SERVER);
}

#[test]
fn every_command_of_a_long_shell_string_is_seen() {
    // Each command is read on its own: a long first command does not hide a later one.
    let script = format!("echo {} && npx -y mcp-remote https://x", "word ".repeat(60));
    let v = verdict("sh", &["-c", &script]);
    assert_eq!(v.name, Some(Reason::Package));
    assert_eq!(v.server, b"mcp-remote");
}
