//! The go-plugin handshake: what Terraform tells us through the environment,
//! and the line (or, in debug mode, the reattach text) we answer with.
//!
//! Parsing takes a `lookup` function instead of reading the process
//! environment, so every rule here is tested without touching global state.

use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;

use super::ServeError;

/// go-plugin's core protocol version, first field of the handshake line.
pub(crate) const CORE_PROTOCOL_VERSION: u32 = 1;
/// The only Terraform plugin protocol version we speak.
pub(crate) const PLUGIN_PROTOCOL_VERSION: u32 = 6;

/// Environment variable carrying Terraform's magic cookie.
pub(crate) const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
/// The value Terraform sets it to (shared by every Terraform provider).
pub(crate) const MAGIC_COOKIE_VALUE: &str =
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";

/// What go-plugin prints when a plugin binary is run by hand.
pub(crate) const NOT_A_PLUGIN_LAUNCH_MESSAGE: &str = "This binary is a plugin. These are not meant to be executed directly.\n\
     Please execute the program that consumes these plugins, which will\n\
     load any plugins automatically\n";

/// Default lowest TCP port, as Terraform sets it.
pub(crate) const DEFAULT_MIN_PORT: u16 = 10000;
/// Default highest TCP port, as Terraform sets it.
pub(crate) const DEFAULT_MAX_PORT: u16 = 25000;

/// Where and how to listen, decided before binding anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListenConfig {
    /// `PLUGIN_UNIX_SOCKET_DIR`: directory for the socket; `None` means a
    /// fresh private directory under the system temp dir.
    pub(crate) unix_socket_dir: Option<PathBuf>,
    /// `PLUGIN_UNIX_SOCKET_GROUP`: group (name or numeric id) that gets
    /// read/write access to the socket.
    pub(crate) unix_socket_group: Option<String>,
    /// Lowest TCP port to try (`PLUGIN_MIN_PORT`).
    pub(crate) min_port: u16,
    /// Highest TCP port to try (`PLUGIN_MAX_PORT`).
    pub(crate) max_port: u16,
    /// Skip the Unix socket and listen on loopback TCP.
    pub(crate) force_tcp: bool,
}

impl Default for ListenConfig {
    fn default() -> Self {
        Self {
            unix_socket_dir: None,
            unix_socket_group: None,
            min_port: DEFAULT_MIN_PORT,
            max_port: DEFAULT_MAX_PORT,
            force_tcp: false,
        }
    }
}

/// Everything the environment tells us about how to serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HandshakeConfig {
    /// Listener settings.
    pub(crate) listen: ListenConfig,
    /// Terraform's client certificate (PEM) when AutoMTLS is on; `None`
    /// serves plain gRPC.
    pub(crate) client_cert_pem: Option<String>,
}

impl HandshakeConfig {
    /// Reads the settings Terraform passes to a plugin it launches.
    ///
    /// Errors: [`ServeError::NotLaunchedByTerraform`] when the magic cookie is
    /// missing or wrong, [`ServeError::UnsupportedProtocol`] when
    /// `PLUGIN_PROTOCOL_VERSIONS` is set but lacks 6, and
    /// [`ServeError::InvalidEnv`] for unparsable ports.
    pub(crate) fn from_env(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ServeError> {
        if lookup(MAGIC_COOKIE_KEY).as_deref() != Some(MAGIC_COOKIE_VALUE) {
            return Err(ServeError::NotLaunchedByTerraform);
        }
        check_protocol_versions(lookup("PLUGIN_PROTOCOL_VERSIONS").as_deref())?;
        let listen = listen_config(&lookup)?;

        let tls_disabled = non_empty(lookup("TF_DISABLE_PLUGIN_TLS")).is_some();
        let client_cert_pem = if tls_disabled {
            None
        } else {
            non_empty(lookup("PLUGIN_CLIENT_CERT"))
        };
        Ok(Self {
            listen,
            client_cert_pem,
        })
    }

    /// Settings for debug mode: started by hand, so no cookie and no TLS;
    /// a Unix socket (in `PLUGIN_UNIX_SOCKET_DIR` if set).
    pub(crate) fn for_debug(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ServeError> {
        let listen = listen_config(&lookup)?;
        Ok(Self {
            listen,
            client_cert_pem: None,
        })
    }
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

/// Accepts an absent/empty list (older clients) or one that includes 6.
/// Entries that are not numbers are skipped, as go-plugin does.
fn check_protocol_versions(offered: Option<&str>) -> Result<(), ServeError> {
    let Some(raw) = offered.filter(|s| !s.trim().is_empty()) else {
        return Ok(());
    };
    let versions: Vec<u32> = raw
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect();
    if versions.is_empty() || versions.contains(&PLUGIN_PROTOCOL_VERSION) {
        Ok(())
    } else {
        Err(ServeError::UnsupportedProtocol {
            offered: raw.to_owned(),
        })
    }
}

fn listen_config(lookup: &impl Fn(&str) -> Option<String>) -> Result<ListenConfig, ServeError> {
    let min_port = port(lookup, "PLUGIN_MIN_PORT", DEFAULT_MIN_PORT)?;
    let max_port = port(lookup, "PLUGIN_MAX_PORT", DEFAULT_MAX_PORT)?;
    if min_port > max_port {
        return Err(ServeError::InvalidEnv {
            name: "PLUGIN_MIN_PORT",
            value: min_port.to_string(),
            reason: format!("greater than PLUGIN_MAX_PORT ({max_port})"),
        });
    }
    Ok(ListenConfig {
        unix_socket_dir: non_empty(lookup("PLUGIN_UNIX_SOCKET_DIR")).map(PathBuf::from),
        unix_socket_group: non_empty(lookup("PLUGIN_UNIX_SOCKET_GROUP")),
        min_port,
        max_port,
        force_tcp: false,
    })
}

fn port(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: u16,
) -> Result<u16, ServeError> {
    match non_empty(lookup(name)) {
        None => Ok(default),
        Some(value) => value
            .trim()
            .parse::<u16>()
            .map_err(|e| ServeError::InvalidEnv {
                name,
                value,
                reason: format!("not a port number: {e}"),
            }),
    }
}

/// The kind of socket we listen on, as go-plugin names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Network {
    /// A Unix domain socket; the address is its path.
    Unix,
    /// Loopback TCP; the address is `127.0.0.1:<port>`.
    Tcp,
}

impl Network {
    /// go-plugin's (and Go's `net`) name for the network.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Network::Unix => "unix",
            Network::Tcp => "tcp",
        }
    }
}

/// Where the server listens and with which certificate: all a client needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Announcement {
    /// Unix or TCP.
    pub(crate) network: Network,
    /// Socket path or `127.0.0.1:<port>`.
    pub(crate) address: String,
    /// The server's leaf certificate (DER) when serving TLS.
    pub(crate) server_cert_der: Option<Vec<u8>>,
}

impl Announcement {
    /// The one stdout line go-plugin's client waits for (without newline):
    /// `1|6|<network>|<address>|grpc|<cert>`, where `<cert>` is the DER
    /// certificate in standard base64 without padding, or empty.
    pub(crate) fn handshake_line(&self) -> String {
        let cert = self
            .server_cert_der
            .as_deref()
            .map(|der| STANDARD_NO_PAD.encode(der))
            .unwrap_or_default();
        format!(
            "{CORE_PROTOCOL_VERSION}|{PLUGIN_PROTOCOL_VERSION}|{}|{}|grpc|{cert}",
            self.network.as_str(),
            self.address
        )
    }

    /// The `TF_REATTACH_PROVIDERS` JSON value for debug mode.
    pub(crate) fn reattach_json(&self, provider_address: &str, pid: u32) -> String {
        let entry = serde_json::json!({
            "Protocol": "grpc",
            "ProtocolVersion": PLUGIN_PROTOCOL_VERSION,
            "Pid": pid,
            "Test": true,
            "Addr": {
                "Network": self.network.as_str(),
                "String": self.address,
            },
        });
        let mut providers = serde_json::Map::new();
        providers.insert(provider_address.to_owned(), entry);
        serde_json::Value::Object(providers).to_string()
    }

    /// The text debug mode prints for the person who started the provider.
    pub(crate) fn debug_instructions(&self, provider_address: &str, pid: u32) -> String {
        let json = self.reattach_json(provider_address, pid);
        format!(
            "Provider started in debug mode. To make Terraform use this running \
             provider instead of launching its own, set this environment variable \
             in the shell where you run Terraform:\n\
             \n\
             \tTF_REATTACH_PROVIDERS='{json}'\n\
             \n\
             Stop the provider with Ctrl-C (SIGINT) or SIGTERM.\n"
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    fn with_cookie(extra: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let mut pairs = vec![(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE)];
        pairs.extend_from_slice(extra);
        env(&pairs)
    }

    #[test]
    fn missing_cookie_is_not_a_terraform_launch() {
        let err = HandshakeConfig::from_env(env(&[])).unwrap_err();
        assert!(matches!(err, ServeError::NotLaunchedByTerraform));
    }

    #[test]
    fn wrong_cookie_is_not_a_terraform_launch() {
        let err = HandshakeConfig::from_env(env(&[(MAGIC_COOKIE_KEY, "nope")])).unwrap_err();
        assert!(matches!(err, ServeError::NotLaunchedByTerraform));
    }

    #[test]
    fn defaults_with_only_the_cookie() {
        let cfg = HandshakeConfig::from_env(with_cookie(&[])).unwrap();
        assert_eq!(cfg.listen, ListenConfig::default());
        assert_eq!(cfg.client_cert_pem, None);
    }

    #[test]
    fn protocol_versions_with_six_are_accepted() {
        for offered in ["6", "5,6", "6,5", " 5 , 6 ", "", "x,y"] {
            let cfg =
                HandshakeConfig::from_env(with_cookie(&[("PLUGIN_PROTOCOL_VERSIONS", offered)]));
            assert!(cfg.is_ok(), "{offered:?} should be accepted");
        }
    }

    #[test]
    fn protocol_versions_without_six_are_refused() {
        let err = HandshakeConfig::from_env(with_cookie(&[("PLUGIN_PROTOCOL_VERSIONS", "4,5")]))
            .unwrap_err();
        match &err {
            ServeError::UnsupportedProtocol { offered } => assert_eq!(offered, "4,5"),
            other => panic!("unexpected {other:?}"),
        }
        assert!(err.to_string().contains("4,5"), "{err}");
    }

    #[test]
    fn port_range_comes_from_the_environment() {
        let cfg = HandshakeConfig::from_env(with_cookie(&[
            ("PLUGIN_MIN_PORT", "12000"),
            ("PLUGIN_MAX_PORT", "12010"),
        ]))
        .unwrap();
        assert_eq!((cfg.listen.min_port, cfg.listen.max_port), (12000, 12010));
    }

    #[test]
    fn bad_ports_are_refused() {
        for pairs in [
            [("PLUGIN_MIN_PORT", "abc"), ("PLUGIN_MAX_PORT", "12010")],
            [("PLUGIN_MIN_PORT", "10"), ("PLUGIN_MAX_PORT", "70000")],
            [("PLUGIN_MIN_PORT", "20000"), ("PLUGIN_MAX_PORT", "10000")],
        ] {
            let err = HandshakeConfig::from_env(with_cookie(&pairs)).unwrap_err();
            assert!(
                matches!(err, ServeError::InvalidEnv { .. }),
                "{pairs:?}: {err:?}"
            );
        }
    }

    #[test]
    fn client_cert_turns_on_tls_unless_disabled() {
        let pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let on = HandshakeConfig::from_env(with_cookie(&[("PLUGIN_CLIENT_CERT", pem)])).unwrap();
        assert_eq!(on.client_cert_pem.as_deref(), Some(pem));

        let off = HandshakeConfig::from_env(with_cookie(&[
            ("PLUGIN_CLIENT_CERT", pem),
            ("TF_DISABLE_PLUGIN_TLS", "1"),
        ]))
        .unwrap();
        assert_eq!(off.client_cert_pem, None);
    }

    #[test]
    fn socket_dir_and_group_are_read() {
        let cfg = HandshakeConfig::from_env(with_cookie(&[
            ("PLUGIN_UNIX_SOCKET_DIR", "/tmp/plugin-dir123"),
            ("PLUGIN_UNIX_SOCKET_GROUP", "terraform"),
        ]))
        .unwrap();
        assert_eq!(
            cfg.listen.unix_socket_dir,
            Some(PathBuf::from("/tmp/plugin-dir123"))
        );
        assert_eq!(cfg.listen.unix_socket_group.as_deref(), Some("terraform"));
    }

    #[test]
    fn debug_mode_needs_no_cookie_and_never_uses_tls() {
        let cfg = HandshakeConfig::for_debug(env(&[("PLUGIN_CLIENT_CERT", "x")])).unwrap();
        assert_eq!(cfg.client_cert_pem, None);
    }

    #[test]
    fn handshake_line_for_unix_with_unpadded_base64_cert() {
        // 4 bytes encode to 8 chars with "==" padding in padded base64.
        let a = Announcement {
            network: Network::Unix,
            address: "/tmp/plugin42".into(),
            server_cert_der: Some(vec![1, 2, 3, 4]),
        };
        assert_eq!(a.handshake_line(), "1|6|unix|/tmp/plugin42|grpc|AQIDBA");
    }

    #[test]
    fn handshake_line_for_tcp_without_tls_has_empty_cert() {
        let a = Announcement {
            network: Network::Tcp,
            address: "127.0.0.1:10001".into(),
            server_cert_der: None,
        };
        assert_eq!(a.handshake_line(), "1|6|tcp|127.0.0.1:10001|grpc|");
    }

    #[test]
    fn reattach_json_matches_terraforms_format() {
        let a = Announcement {
            network: Network::Unix,
            address: "/tmp/plugin42".into(),
            server_cert_der: None,
        };
        assert_eq!(
            a.reattach_json("registry.terraform.io/berth/berth", 77),
            r#"{"registry.terraform.io/berth/berth":{"Protocol":"grpc","ProtocolVersion":6,"Pid":77,"Test":true,"Addr":{"Network":"unix","String":"/tmp/plugin42"}}}"#
        );
        let text = a.debug_instructions("registry.terraform.io/berth/berth", 77);
        assert!(
            text.contains("\tTF_REATTACH_PROVIDERS='{\"registry"),
            "{text}"
        );
    }
}
