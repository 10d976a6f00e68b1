//! The `kodo-sandbox` binary: its one stdout line, `--write-config`, clean stop on
//! SIGTERM, and exit code 2 with a clear message on bad input.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_kodo-sandbox");

#[test]
fn serves_writes_config_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args(["--scenario", "demo", "--port", "0", "--write-config"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary starts");
    let mut line = String::new();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdout.read_line(&mut line).unwrap();
    let url = line
        .trim()
        .strip_prefix("kodo-sandbox listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:"));

    let config: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join(".kodo/config.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(config["notion"]["baseUrl"], url.as_str());
    assert_eq!(config["posthog"]["region_url"], url.as_str());
    let env_file = std::fs::read_to_string(dir.path().join(".env")).unwrap();
    assert!(env_file.contains("NOTION_API_KEY=ntn_sandbox_0123456789abcdef\n"));
    assert!(env_file.contains("POSTHOG_PERSONAL_API_KEY=phx_sandbox_0123456789abcdef\n"));

    // It answers the API.
    let addr = url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    use std::io::{Read, Write};
    write!(
        stream,
        "GET /v1/users/me HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer ntn_sandbox_0123456789abcdef\r\nNotion-Version: 2025-09-03\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"type\":\"bot\""));

    #[cfg(unix)]
    {
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = child.wait().unwrap();
        assert!(exit.success(), "stops cleanly on SIGTERM: {exit:?}");
        let mut rest = String::new();
        stdout.read_line(&mut rest).unwrap();
        assert_eq!(rest, "", "only one line is printed");
    }
    #[cfg(not(unix))]
    {
        child.kill().unwrap();
        child.wait().unwrap();
    }
}

fn run_failing(args: &[&str]) -> String {
    let output = Command::new(BIN).args(args).output().expect("binary runs");
    assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
    assert!(output.stdout.is_empty());
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn port_in_use_exits_2() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let stderr = run_failing(&["--scenario", "empty", "--port", &port]);
    assert!(
        stderr.contains(&format!("port {port} is already in use")),
        "{stderr}"
    );
}

#[test]
fn bad_scenarios_and_faults_exit_2() {
    let stderr = run_failing(&["--scenario", "/nonexistent/scenario.json"]);
    assert!(stderr.contains("cannot read scenario"), "{stderr}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.json");
    std::fs::write(&path, "{\"name\": 3}").unwrap();
    let stderr = run_failing(&["--scenario", path.to_str().unwrap()]);
    assert!(stderr.contains("scenario is not valid"), "{stderr}");
    let stderr = run_failing(&["--faults", "429=lots"]);
    assert!(stderr.contains("--faults"), "{stderr}");
    let stderr = run_failing(&["--no-such-flag"]);
    assert!(!stderr.is_empty());
}

#[test]
fn write_config_never_replaces_a_config_or_env_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let kodo = dir.path().join(".kodo");
    std::fs::create_dir_all(&kodo).unwrap();
    std::fs::write(kodo.join("config.json"), "{\"mine\": true}\n").unwrap();
    let target = dir.path().to_str().unwrap();
    let stderr = run_failing(&["--scenario", "empty", "--write-config", target]);
    assert!(
        stderr.contains("config.json` already exists") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(kodo.join("config.json")).unwrap(),
        "{\"mine\": true}\n"
    );
    assert!(!dir.path().join(".env").exists(), "nothing was written");

    // A `.env` alone (a project's real tokens) is protected too; both are named.
    std::fs::write(dir.path().join(".env"), "NOTION_API_KEY=ntn_real\n").unwrap();
    let stderr = run_failing(&["--scenario", "empty", "--write-config", target]);
    assert!(
        stderr.contains("config.json` and `") && stderr.contains(".env` already exist;"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join(".env")).unwrap(),
        "NOTION_API_KEY=ntn_real\n"
    );

    // --force replaces both; --force without --write-config is a usage error.
    let mut child = Command::new(BIN)
        .args([
            "--scenario",
            "empty",
            "--port",
            "0",
            "--force",
            "--write-config",
            target,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(line.starts_with("kodo-sandbox listening on "), "{line}");
    let env_file = std::fs::read_to_string(dir.path().join(".env")).unwrap();
    assert!(!env_file.contains("ntn_real"), "{env_file}");
    let config = std::fs::read_to_string(kodo.join("config.json")).unwrap();
    assert!(config.contains("baseUrl"), "{config}");
    let stderr = run_failing(&["--force"]);
    assert!(stderr.contains("--write-config"), "{stderr}");
}
