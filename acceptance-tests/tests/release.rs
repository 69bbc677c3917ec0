//! Acceptance: `scripts/release` builds what a private registry or a
//! filesystem mirror serves (per-platform zip, manifest, SHA256SUMS), and
//! real Terraform (1.15 and 1.0.3) installs that zip from a packed
//! `filesystem_mirror` — no dev_overrides, no shared plugin directories —
//! records it in the lock file and runs it.
//!
//! To stay quick the script packages the debug provider binary
//! (`--binary`) instead of making a release build.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{Context, Result, bail, ensure};
use base64::Engine as _;
use berth_acceptance_tests::{
    PROVIDER_VERSION, TfVersion, flat, provider_binary, repo_root, tools_dir,
};
use sha2::{Digest, Sha256};

const NAME: &str = "terraform-provider-berth";

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Terraform's name for this machine's platform.
fn host_platform() -> Result<String> {
    let os = match std::env::consts::OS {
        os @ ("linux" | "darwin" | "freebsd" | "openbsd" | "windows") => os,
        "macos" => "darwin",
        other => bail!("no Terraform platform for OS {other}"),
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "arm" => "arm",
        other => bail!("no Terraform platform for architecture {other}"),
    };
    Ok(format!("{os}_{arch}"))
}

/// Runs `scripts/release ARGS` (zip timestamps at their default).
fn run_release(args: &[&std::ffi::OsStr]) -> Result<Output> {
    Command::new("bash")
        .arg(repo_root().join("scripts/release"))
        .args(args)
        .env_remove("SOURCE_DATE_EPOCH")
        .output()
        .context("running scripts/release")
}

/// The artifacts of one `scripts/release --binary <debug provider>` run.
struct Release {
    binary: PathBuf,
    zip: PathBuf,
    manifest: PathBuf,
    sums: PathBuf,
    /// `SHA256SUMS`, file name → hex digest.
    digests: BTreeMap<String, String>,
}

/// Runs the script into `out` and checks what it printed and wrote:
/// exactly the three files, checksums that match them, the manifest.
fn release(out: &Path) -> Result<Release> {
    let binary = provider_binary()?;
    let o = run_release(&[
        "--binary".as_ref(),
        binary.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ])?;
    let stdout = String::from_utf8_lossy(&o.stdout);
    ensure!(
        o.status.success(),
        "scripts/release failed ({}):\n{stdout}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    let v = PROVIDER_VERSION;
    let zip_name = format!("{NAME}_{v}_{}.zip", host_platform()?);
    let manifest_name = format!("{NAME}_{v}_manifest.json");
    let sums_name = format!("{NAME}_{v}_SHA256SUMS");
    let printed: Vec<PathBuf> = stdout.lines().map(PathBuf::from).collect();
    let expected: Vec<PathBuf> = [&zip_name, &manifest_name, &sums_name]
        .iter()
        .map(|n| out.join(n))
        .collect();
    ensure!(
        printed == expected,
        "the script prints the produced paths: {printed:?}, expected {expected:?}"
    );
    let mut files: Vec<String> = std::fs::read_dir(out)?
        .map(|e| Ok(e?.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_>>()?;
    files.sort();
    let mut want = vec![sums_name.clone(), zip_name.clone(), manifest_name.clone()];
    want.sort();
    ensure!(files == want, "{} holds {files:?}", out.display());

    // SHA256SUMS: sha256sum's format, sorted, covering the zip and the manifest.
    let sums_text = std::fs::read_to_string(out.join(&sums_name))?;
    let mut digests = BTreeMap::new();
    let mut names = Vec::new();
    for line in sums_text.lines() {
        let (digest, name) = line
            .split_once("  ")
            .with_context(|| format!("not a sha256sum line: {line:?}"))?;
        ensure!(
            digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit()),
            "bad digest in {line:?}"
        );
        let actual = sha256_hex(&std::fs::read(out.join(name))?);
        ensure!(
            digest == actual,
            "SHA256SUMS says {digest} for {name}, the file hashes to {actual}"
        );
        names.push(name.to_string());
        digests.insert(name.to_string(), digest.to_string());
    }
    ensure!(
        names == [manifest_name.clone(), zip_name.clone()]
            || names == [zip_name.clone(), manifest_name.clone()],
        "SHA256SUMS covers {names:?}"
    );
    let mut sorted = names.clone();
    sorted.sort();
    ensure!(names == sorted, "SHA256SUMS is sorted by name: {names:?}");

    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join(&manifest_name))?)?;
    ensure!(
        manifest == serde_json::json!({"version": 1, "metadata": {"protocol_versions": ["6.0"]}}),
        "manifest: {manifest}"
    );
    Ok(Release {
        binary,
        zip: out.join(zip_name),
        manifest: out.join(manifest_name),
        sums: out.join(sums_name),
        digests,
    })
}

fn u16_at(b: &[u8], at: usize) -> Result<u16> {
    let s = b.get(at..at + 2).context("zip truncated")?;
    Ok(u16::from_le_bytes([s[0], s[1]]))
}

fn u32_at(b: &[u8], at: usize) -> Result<u32> {
    let s = b.get(at..at + 4).context("zip truncated")?;
    Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// One central-directory entry of a zip.
#[derive(Debug)]
struct ZipEntry {
    name: String,
    made_by_unix: bool,
    mode: u32,
    method: u16,
    dos_time: u16,
    dos_date: u16,
    size: u64,
}

/// Reads a zip's central directory (no zip crate needed for that).
fn zip_entries(zip: &[u8]) -> Result<Vec<ZipEntry>> {
    const EOCD: u32 = 0x0605_4b50;
    const CENTRAL: u32 = 0x0201_4b50;
    let eocd = (0..=zip.len().saturating_sub(22))
        .rev()
        .take(22 + 65_535)
        .find(|&i| u32_at(zip, i).is_ok_and(|s| s == EOCD))
        .context("no end-of-central-directory record")?;
    let count = u16_at(zip, eocd + 10)?;
    let mut at = u32_at(zip, eocd + 16)? as usize;
    let mut entries = Vec::new();
    for _ in 0..count {
        ensure!(u32_at(zip, at)? == CENTRAL, "bad central directory entry");
        let name_len = u16_at(zip, at + 28)? as usize;
        let extra_len = u16_at(zip, at + 30)? as usize;
        let comment_len = u16_at(zip, at + 32)? as usize;
        let name = zip
            .get(at + 46..at + 46 + name_len)
            .context("zip truncated")?;
        entries.push(ZipEntry {
            name: String::from_utf8(name.to_vec())?,
            made_by_unix: u16_at(zip, at + 4)? >> 8 == 3,
            mode: u32_at(zip, at + 38)? >> 16,
            method: u16_at(zip, at + 10)?,
            dos_time: u16_at(zip, at + 12)?,
            dos_date: u16_at(zip, at + 14)?,
            size: u64::from(u32_at(zip, at + 24)?),
        });
        at += 46 + name_len + extra_len + comment_len;
    }
    Ok(entries)
}

/// The zip holds one executable, `terraform-provider-berth_v<VERSION>`,
/// the size of the binary, with a fixed timestamp.
fn check_zip(rel: &Release) -> Result<()> {
    let zip = std::fs::read(&rel.zip)?;
    let entries = zip_entries(&zip)?;
    let [entry] = entries.as_slice() else {
        bail!("the zip holds one file, not {entries:?}");
    };
    ensure!(
        entry.name == format!("{NAME}_v{PROVIDER_VERSION}"),
        "entry name {:?}",
        entry.name
    );
    ensure!(
        entry.made_by_unix && entry.mode == 0o100_755,
        "entry is a Unix file with mode 0755: {entry:?}"
    );
    ensure!(entry.method == 8, "entry is deflated: {entry:?}");
    // 1980-01-01 00:00:00 in DOS format.
    ensure!(
        (entry.dos_date, entry.dos_time) == ((1 << 5) | 1, 0),
        "entry has the fixed timestamp: {entry:?}"
    );
    let size = std::fs::metadata(&rel.binary)?.len();
    ensure!(
        entry.size == size,
        "entry holds the {size}-byte binary: {entry:?}"
    );
    Ok(())
}

/// Terraform `version` with its own CLI config, HOME and nothing else from
/// the environment (no TF_LOG, TF_REATTACH_PROVIDERS, plugin cache, …).
struct Terraform {
    bin: PathBuf,
    version: TfVersion,
    home: PathBuf,
    cli_config: PathBuf,
}

impl Terraform {
    fn new(version: TfVersion, dir: &Path, cli_config: &Path) -> Result<Terraform> {
        let tools = tools_dir()?;
        let bin = version.binary(&tools);
        let home = dir.join("home");
        std::fs::create_dir_all(&home)?;
        Ok(Terraform {
            bin,
            version,
            home,
            cli_config: cli_config.to_path_buf(),
        })
    }

    fn run(&self, dir: &Path, args: &[&str]) -> Result<Output> {
        let mut c = Command::new(&self.bin);
        c.args(args)
            .current_dir(dir)
            .env_clear()
            .env("HOME", &self.home)
            .env("TF_CLI_CONFIG_FILE", &self.cli_config)
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            .env("CHECKPOINT_DISABLE", "1");
        for k in ["PATH", "TMPDIR"] {
            if let Some(v) = std::env::var_os(k) {
                c.env(k, v);
            }
        }
        c.output()
            .with_context(|| format!("running terraform {args:?} ({:?})", self.version))
    }

    fn ok(&self, dir: &Path, args: &[&str]) -> Result<String> {
        let o = self.run(dir, args)?;
        let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
        ensure!(
            o.status.success(),
            "terraform {args:?} ({:?}) failed ({}):\n{stdout}\n{}",
            self.version,
            o.status,
            String::from_utf8_lossy(&o.stderr)
        );
        Ok(stdout)
    }
}

/// A configuration that pins the released version.
fn config() -> String {
    format!(
        r#"terraform {{
  required_version = ">= 1.0.0"
  required_providers {{
    berth = {{
      source  = "berth/berth"
      version = "= {PROVIDER_VERSION}"
    }}
  }}
}}

provider "berth" {{
  region = "us-east-1"
}}

data "berth_availability_zones" "available" {{
  state = "available"
}}
"#
    )
}

/// A lock file as a registry install writes it: the version and hashes.
fn lock_file(hashes: &[&str]) -> String {
    let hashes: String = hashes.iter().map(|h| format!("    \"{h}\",\n")).collect();
    format!(
        "provider \"registry.terraform.io/berth/berth\" {{\n  version     = \"{PROVIDER_VERSION}\"\n  constraints = \"{PROVIDER_VERSION}\"\n  hashes = [\n{hashes}  ]\n}}\n"
    )
}

/// `berth/berth` in a `.terraform.lock.hcl`: version, constraints, hashes.
fn locked(dir: &Path) -> Result<(String, String, Vec<String>)> {
    let text = std::fs::read_to_string(dir.join(".terraform.lock.hcl"))
        .context("reading .terraform.lock.hcl")?;
    let block = text
        .split("provider \"registry.terraform.io/berth/berth\" {")
        .nth(1)
        .and_then(|b| b.split("\n}").next())
        .with_context(|| format!("no berth/berth in the lock file:\n{text}"))?;
    let quoted = |key: &str| {
        block
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with(key) && l[key.len()..].trim_start().starts_with('='))
            .and_then(|l| l.split('"').nth(1))
            .map(str::to_string)
            .with_context(|| format!("no {key} in the lock file:\n{text}"))
    };
    let hashes = block
        .split('"')
        .filter(|s| s.starts_with("h1:") || s.starts_with("zh:"))
        .map(str::to_string)
        .collect();
    Ok((quoted("version")?, quoted("constraints")?, hashes))
}

/// A fresh working directory with the pinned configuration (and a lock
/// file, when given).
fn workdir(root: &Path, name: &str, lock: Option<&str>) -> Result<PathBuf> {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("main.tf"), config())?;
    if let Some(lock) = lock {
        std::fs::write(dir.join(".terraform.lock.hcl"), lock)?;
    }
    Ok(dir)
}

fn installs_through_a_filesystem_mirror(version: TfVersion) -> Result<()> {
    let tmp = tempfile::Builder::new()
        .prefix("berth-release-")
        .tempdir()?;
    let rel = release(&tmp.path().join("dist"))?;
    check_zip(&rel)?;
    let zip_file = rel.zip.file_name().context("zip name")?;
    let zip_sha = rel.digests[zip_file.to_string_lossy().as_ref()].clone();
    let platform = host_platform()?;

    // A packed mirror: the zip as the registry serves it, nothing unpacked.
    let mirror = tmp.path().join("mirror");
    let pkg = mirror.join("registry.terraform.io/berth/berth");
    std::fs::create_dir_all(&pkg)?;
    std::fs::copy(&rel.zip, pkg.join(zip_file))?;
    let cli_config = tmp.path().join("terraform.rc");
    std::fs::write(
        &cli_config,
        format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path = \"{}\"\n  }}\n}}\n",
            mirror.display()
        ),
    )?;
    let tf = Terraform::new(version, tmp.path(), &cli_config)?;

    // The h1: hash Terraform should compute for the unpacked package: the
    // sha256 of the sorted "<sha256 of file>  <name>" lines, in base64.
    let binary = std::fs::read(&rel.binary)?;
    let h1 = format!(
        "h1:{}",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(format!(
            "{}  {NAME}_v{PROVIDER_VERSION}\n",
            sha256_hex(&binary)
        )))
    );
    let zh = format!("zh:{zip_sha}");

    // 1. A first init: Terraform installs the zip and locks it.
    let fresh = workdir(tmp.path(), "fresh", None)?;
    let init = tf.ok(&fresh, &["init", "-no-color"])?;
    ensure!(
        init.contains(&format!("Installed berth/berth v{PROVIDER_VERSION}")),
        "init installs the provider ({version:?}):\n{init}"
    );
    let (locked_version, constraints, hashes) = locked(&fresh)?;
    ensure!(
        locked_version == PROVIDER_VERSION && constraints == PROVIDER_VERSION,
        "lock file records {locked_version} for {constraints}"
    );
    ensure!(
        hashes.contains(&h1),
        "lock file records {h1} ({version:?}): {hashes:?}"
    );
    ensure!(
        hashes.iter().all(|h| !h.starts_with("zh:") || *h == zh),
        "any zh: hash is the zip's sha256 {zh}: {hashes:?}"
    );
    // Unpacked into .terraform, byte for byte, executable.
    let installed = fresh.join(format!(
        ".terraform/providers/registry.terraform.io/berth/berth/{PROVIDER_VERSION}/{platform}/{NAME}_v{PROVIDER_VERSION}"
    ));
    {
        use std::os::unix::fs::PermissionsExt as _;
        let meta = std::fs::symlink_metadata(&installed)
            .with_context(|| format!("{} is installed", installed.display()))?;
        ensure!(
            meta.is_file() && meta.permissions().mode() & 0o111 == 0o111,
            "{} is an executable file: {meta:?}",
            installed.display()
        );
    }
    ensure!(
        std::fs::read(&installed)? == binary,
        "the installed provider is the packaged binary"
    );
    // The installed binary runs: validate and the schema start it.
    tf.ok(&fresh, &["validate", "-no-color"])?;
    let schema: serde_json::Value =
        serde_json::from_str(&tf.ok(&fresh, &["providers", "schema", "-json"])?)?;
    let berth = &schema["provider_schemas"]["registry.terraform.io/berth/berth"];
    ensure!(
        berth["resource_schemas"]["berth_container_app"].is_object()
            && berth["data_source_schemas"]["berth_availability_zones"].is_object(),
        "the installed provider serves its schema ({version:?}): {schema}"
    );

    // 2. A lock file as a registry install leaves it (zh: from SHA256SUMS):
    //    Terraform checks the mirror's zip against it and adds its h1:.
    let locked_dir = workdir(tmp.path(), "registry-lock", Some(&lock_file(&[&zh])))?;
    tf.ok(&locked_dir, &["init", "-no-color"])?;
    let (_, _, hashes) = locked(&locked_dir)?;
    ensure!(
        hashes.contains(&zh) && hashes.contains(&h1),
        "lock file keeps {zh} and adds {h1} ({version:?}): {hashes:?}"
    );

    // 3. ... and that check is real: another zh: is refused.
    let mut wrong = zip_sha.into_bytes();
    wrong[0] = if wrong[0] == b'0' { b'1' } else { b'0' };
    let wrong = format!("zh:{}", String::from_utf8(wrong)?);
    let tampered = workdir(tmp.path(), "tampered-lock", Some(&lock_file(&[&wrong])))?;
    let o = tf.run(&tampered, &["init", "-no-color"])?;
    let all = flat(&format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    ));
    ensure!(
        !o.status.success()
            && all.contains(
                "doesn't match any of the checksums previously recorded in the dependency lock file"
            ),
        "init refuses a zip that does not match the lock file ({version:?}, {}):\n{all}",
        o.status
    );

    // The artifacts are still there, untouched by Terraform.
    ensure!(rel.manifest.is_file() && rel.sums.is_file());
    Ok(())
}

#[test]
fn release_zip_installs_through_a_filesystem_mirror_on_terraform_latest() -> Result<()> {
    installs_through_a_filesystem_mirror(TfVersion::Latest)
}

#[test]
fn release_zip_installs_through_a_filesystem_mirror_on_terraform_1_0() -> Result<()> {
    installs_through_a_filesystem_mirror(TfVersion::V1_0)
}

#[test]
fn release_artifacts_are_identical_from_run_to_run() -> Result<()> {
    let tmp = tempfile::Builder::new()
        .prefix("berth-release-")
        .tempdir()?;
    let a = release(&tmp.path().join("a"))?;
    let b = release(&tmp.path().join("b"))?;
    ensure!(
        a.digests == b.digests,
        "two runs give the same bytes: {:?} vs {:?}",
        a.digests,
        b.digests
    );
    ensure!(std::fs::read(&a.sums)? == std::fs::read(&b.sums)?);
    Ok(())
}

#[test]
fn release_refuses_a_rust_target_that_is_not_installed() -> Result<()> {
    let sysroot = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .context("running rustc --print sysroot")?;
    let sysroot = PathBuf::from(String::from_utf8(sysroot.stdout)?.trim());
    let candidates = [
        "aarch64-unknown-linux-gnu",
        "x86_64-unknown-freebsd",
        "aarch64-apple-darwin",
        "i686-unknown-linux-gnu",
    ];
    let Some(target) = candidates
        .into_iter()
        .find(|t| !sysroot.join("lib/rustlib").join(t).join("lib").is_dir())
    else {
        eprintln!("every candidate target is installed here; nothing to check");
        return Ok(());
    };
    let tmp = tempfile::Builder::new()
        .prefix("berth-release-")
        .tempdir()?;
    let out = tmp.path().join("dist");
    let binary = provider_binary()?;
    let o = run_release(&[
        "--binary".as_ref(),
        binary.as_os_str(),
        "--target".as_ref(),
        target.as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
    ])?;
    let stderr = String::from_utf8_lossy(&o.stderr);
    ensure!(
        !o.status.success() && stderr.contains(&format!("rustup target add {target}")),
        "scripts/release --target {target} fails saying how to install it ({}):\n{stderr}",
        o.status
    );
    ensure!(!out.exists(), "nothing is written when a target is missing");
    Ok(())
}
