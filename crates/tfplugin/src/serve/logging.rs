//! Logging for a plugin process: `tracing` events become hclog-style JSON
//! lines on stderr, which go-plugin's client parses and Terraform shows under
//! `TF_LOG` / `TF_LOG_PROVIDER`.
//!
//! One line per event: `{"@level":"info","@message":"…","@module":"berth",
//! "@timestamp":"2026-11-23T19:00:00.000000Z", …fields of the event and its
//! spans}`. Stdout is never written (it belongs to the handshake).

use std::io::Write as _;
use std::sync::Once;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt as _;

/// The `@module` of every line.
const MODULE: &str = "berth";

/// Crates whose debug/trace output is protocol noise; capped at `info`.
const NOISY_TARGETS: &[&str] = &[
    "h2",
    "hyper",
    "hyper_util",
    "tower",
    "rustls",
    "tokio_rustls",
];

/// Installs the stderr JSON logger as the global `tracing` subscriber, at
/// the level named by `TF_LOG_PROVIDER` or else `TF_LOG` (info if neither is
/// set). Safe to call more than once, and a no-op if another global
/// subscriber is already installed.
pub fn init_logging() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let level = level_from_env(|k| std::env::var(k).ok());
        let _ = tracing_subscriber::registry()
            .with(filter(level))
            .with(HclogLayer::new(std::io::stderr))
            .try_init();
    });
}

/// The level Terraform asks for: `TF_LOG_PROVIDER` wins over `TF_LOG`.
/// Level names are case-insensitive; `json` and `1` mean trace, `off`
/// silences; any other value means trace (as Terraform treats it); unset or
/// empty means info.
pub(crate) fn level_from_env(lookup: impl Fn(&str) -> Option<String>) -> LevelFilter {
    let raw = ["TF_LOG_PROVIDER", "TF_LOG"]
        .iter()
        .filter_map(|k| lookup(k))
        .map(|v| v.trim().to_ascii_lowercase())
        .find(|v| !v.is_empty());
    match raw.as_deref() {
        None => LevelFilter::INFO,
        Some("off") => LevelFilter::OFF,
        Some("error") => LevelFilter::ERROR,
        Some("warn") => LevelFilter::WARN,
        Some("info") => LevelFilter::INFO,
        Some("debug") => LevelFilter::DEBUG,
        Some(_) => LevelFilter::TRACE,
    }
}

/// `level` everywhere, but never more verbose than info for noisy crates.
fn filter(level: LevelFilter) -> EnvFilter {
    let noisy = level.min(LevelFilter::INFO);
    let mut directives = level.to_string();
    for target in NOISY_TARGETS {
        directives.push_str(&format!(",{target}={noisy}"));
    }
    EnvFilter::builder().parse_lossy(directives)
}

/// hclog's name for a level.
fn level_name(level: &Level) -> &'static str {
    match *level {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    }
}

/// `2026-11-23T19:00:00.000000Z`, as hclog writes UTC times.
fn timestamp(now: time::OffsetDateTime) -> String {
    const FORMAT: &[time::format_description::BorrowedFormatItem<'static>] = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    );
    now.to_offset(time::UtcOffset::UTC)
        .format(FORMAT)
        .unwrap_or_default()
}

/// A `tracing` layer writing one hclog JSON line per event.
pub(crate) struct HclogLayer<W> {
    make_writer: W,
}

impl<W> HclogLayer<W> {
    /// Writes through `make_writer` (stderr in production).
    pub(crate) fn new(make_writer: W) -> Self {
        Self { make_writer }
    }
}

/// Structured fields of a span, kept in its extensions.
struct SpanFields(Map<String, Value>);

impl<S, W> Layer<S> for HclogLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = JsonVisitor::default();
        attrs.record(&mut fields);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(SpanFields(fields.fields));
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if let Some(SpanFields(fields)) = extensions.get_mut::<SpanFields>() {
            let mut visitor = JsonVisitor {
                fields: std::mem::take(fields),
                message: None,
            };
            values.record(&mut visitor);
            *fields = visitor.fields;
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let line = format_line(event, &ctx, time::OffsetDateTime::now_utc());
        let mut writer = self.make_writer.make_writer();
        // One write per line so concurrent events never interleave.
        let _ = writer.write_all(line.as_bytes());
    }
}

fn format_line<S>(event: &Event<'_>, ctx: &Context<'_, S>, now: time::OffsetDateTime) -> String
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let mut line = Map::new();
    line.insert("@level".into(), level_name(event.metadata().level()).into());
    line.insert("@message".into(), Value::Null); // placeholder keeps key order
    line.insert("@module".into(), MODULE.into());
    line.insert("@timestamp".into(), timestamp(now).into());

    // Outer spans first, so inner spans and the event override them.
    if let Some(scope) = ctx.event_scope(event) {
        for span in scope.from_root() {
            if let Some(SpanFields(fields)) = span.extensions().get::<SpanFields>() {
                for (k, v) in fields {
                    line.insert(k.clone(), v.clone());
                }
            }
        }
    }

    let mut visitor = JsonVisitor::default();
    event.record(&mut visitor);
    for (k, v) in visitor.fields {
        if !k.starts_with('@') {
            line.insert(k, v);
        }
    }
    line.insert(
        "@message".into(),
        visitor.message.unwrap_or_default().into(),
    );

    let mut text = Value::Object(line).to_string();
    text.push('\n');
    text
}

/// Collects `tracing` fields as JSON values; `message` is kept apart.
#[derive(Default)]
struct JsonVisitor {
    fields: Map<String, Value>,
    message: Option<String>,
}

impl JsonVisitor {
    fn put(&mut self, field: &Field, value: Value) {
        if field.name() == "message" {
            self.message = Some(match value {
                Value::String(s) => s,
                other => other.to_string(),
            });
        } else {
            self.fields.insert(field.name().to_owned(), value);
        }
    }
}

impl Visit for JsonVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.into());
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.into());
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, value.into());
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, value.to_string().into());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field, format!("{value:?}").into());
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    fn capture(level: LevelFilter, body: impl FnOnce()) -> Vec<Value> {
        let buffer = Buffer::default();
        let subscriber = tracing_subscriber::registry()
            .with(filter(level))
            .with(HclogLayer::new(buffer.clone()));
        tracing::subscriber::with_default(subscriber, body);
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn events_become_hclog_json_lines() {
        let lines = capture(LevelFilter::TRACE, || {
            let span = tracing::info_span!("rpc", rpc = "PlanResourceChange", n = 1);
            let _guard = span.enter();
            tracing::warn!(
                resource = "berth_service.web",
                attempt = 3_u64,
                ok = false,
                "took {}s",
                2
            );
        });
        assert_eq!(lines.len(), 1);
        let line = lines[0].as_object().unwrap();
        let keys: Vec<&str> = line.keys().map(String::as_str).take(4).collect();
        assert_eq!(keys, ["@level", "@message", "@module", "@timestamp"]);
        assert_eq!(line["@level"], "warn");
        assert_eq!(line["@message"], "took 2s");
        assert_eq!(line["@module"], "berth");
        assert_eq!(line["resource"], "berth_service.web");
        assert_eq!(line["attempt"], 3);
        assert_eq!(line["ok"], false);
        assert_eq!(line["rpc"], "PlanResourceChange");
        let ts = line["@timestamp"].as_str().unwrap();
        assert_eq!(ts.len(), "2026-11-23T19:00:00.000000Z".len(), "{ts}");
        assert!(ts.ends_with('Z'));
    }

    #[test]
    fn level_filter_applies_and_noisy_crates_are_capped() {
        let lines = capture(LevelFilter::INFO, || {
            tracing::debug!("hidden");
            tracing::info!("shown");
        });
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0]["@message"], "shown");

        let lines = capture(LevelFilter::TRACE, || {
            tracing::trace!(target: "h2::codec", "frame");
            tracing::info!(target: "h2::codec", "conn");
            tracing::trace!("ours");
        });
        let messages: Vec<&str> = lines
            .iter()
            .map(|l| l["@message"].as_str().unwrap())
            .collect();
        assert_eq!(messages, ["conn", "ours"]);
    }

    #[test]
    fn timestamp_format_matches_hclog() {
        let t = time::macros::datetime!(2026-11-23 19:00:00.123456789 UTC);
        assert_eq!(timestamp(t), "2026-11-23T19:00:00.123456Z");
    }

    #[test]
    fn level_comes_from_tf_log_provider_then_tf_log() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == k)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        assert_eq!(level_from_env(env(&[])), LevelFilter::INFO);
        assert_eq!(
            level_from_env(env(&[("TF_LOG", "DEBUG")])),
            LevelFilter::DEBUG
        );
        assert_eq!(
            level_from_env(env(&[("TF_LOG", "debug"), ("TF_LOG_PROVIDER", "error")])),
            LevelFilter::ERROR
        );
        assert_eq!(
            level_from_env(env(&[("TF_LOG", "json")])),
            LevelFilter::TRACE
        );
        assert_eq!(level_from_env(env(&[("TF_LOG", "1")])), LevelFilter::TRACE);
        assert_eq!(level_from_env(env(&[("TF_LOG", "off")])), LevelFilter::OFF);
        assert_eq!(
            level_from_env(env(&[("TF_LOG_PROVIDER", "")])),
            LevelFilter::INFO
        );
    }

    #[test]
    fn init_logging_twice_is_harmless() {
        init_logging();
        init_logging();
    }
}
