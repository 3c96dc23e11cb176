//! The Prometheus text exposition format, version 0.0.4: metric families in, text out. Pure: no registry, no
//! IO; the values are collected at scrape time from the daemon's state (see `collect`).

use director_runtime::histogram::HistogramSnapshot;
use std::fmt::Write;

/// The `Content-Type` of the rendered text.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// Label names and values of one series, in the order they are written.
pub type Labels = Vec<(&'static str, String)>;

/// One line of a family: `name{labels} value`, where the name is the family's plus a suffix (`_bucket`,
/// `_sum`, `_count` for histograms; empty otherwise).
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub suffix: &'static str,
    pub labels: Labels,
    pub value: f64,
}

/// A metric family: name, help, type and its samples. A family without samples is still written (HELP and
/// TYPE), so an operator sees that the metric exists.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    pub name: &'static str,
    pub help: &'static str,
    pub kind: Kind,
    pub samples: Vec<Sample>,
}

impl Family {
    pub fn new(name: &'static str, kind: Kind, help: &'static str) -> Self {
        Family {
            name,
            help,
            kind,
            samples: Vec::new(),
        }
    }

    pub fn counter(name: &'static str, help: &'static str) -> Self {
        Self::new(name, Kind::Counter, help)
    }

    pub fn gauge(name: &'static str, help: &'static str) -> Self {
        Self::new(name, Kind::Gauge, help)
    }

    pub fn histogram(name: &'static str, help: &'static str) -> Self {
        Self::new(name, Kind::Histogram, help)
    }

    /// Adds one series of a counter or gauge.
    pub fn push(&mut self, labels: Labels, value: f64) {
        self.samples.push(Sample {
            suffix: "",
            labels,
            value,
        });
    }

    /// Builder form of [`Family::push`].
    pub fn with(mut self, labels: Labels, value: f64) -> Self {
        self.push(labels, value);
        self
    }

    /// Adds one series of a histogram: its cumulative buckets (with `+Inf`), sum and count.
    pub fn push_histogram(&mut self, labels: Labels, h: &HistogramSnapshot) {
        let mut cumulative = 0u64;
        for (bound, n) in h.bounds.iter().zip(&h.counts) {
            cumulative += n;
            let mut l = labels.clone();
            l.push(("le", format_value(*bound)));
            self.samples.push(Sample {
                suffix: "_bucket",
                labels: l,
                value: cumulative as f64,
            });
        }
        let mut l = labels.clone();
        l.push(("le", "+Inf".into()));
        self.samples.push(Sample {
            suffix: "_bucket",
            labels: l,
            value: h.count as f64,
        });
        self.samples.push(Sample {
            suffix: "_sum",
            labels: labels.clone(),
            value: h.sum_seconds,
        });
        self.samples.push(Sample {
            suffix: "_count",
            labels,
            value: h.count as f64,
        });
    }
}

/// The families as exposition text.
pub fn render(families: &[Family]) -> String {
    let mut out = String::with_capacity(families.iter().map(|f| 96 + f.samples.len() * 64).sum());
    for f in families {
        let _ = writeln!(out, "# HELP {} {}", f.name, escape_help(f.help));
        let _ = writeln!(out, "# TYPE {} {}", f.name, f.kind.as_str());
        for s in &f.samples {
            out.push_str(f.name);
            out.push_str(s.suffix);
            if !s.labels.is_empty() {
                out.push('{');
                for (i, (name, value)) in s.labels.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(name);
                    out.push_str("=\"");
                    escape_label_value_into(&mut out, value);
                    out.push('"');
                }
                out.push('}');
            }
            out.push(' ');
            out.push_str(&format_value(s.value));
            out.push('\n');
        }
    }
    out
}

/// A label value between double quotes: backslash, double quote and line feed escaped.
pub fn escape_label_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    escape_label_value_into(&mut out, value);
    out
}

fn escape_label_value_into(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// HELP text: backslash and line feed escaped.
fn escape_help(help: &str) -> String {
    help.replace('\\', "\\\\").replace('\n', "\\n")
}

/// Integers without a fraction, `+Inf`, `-Inf`, `NaN` as Prometheus spells them.
pub fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_render_with_help_type_and_escaped_labels() {
        let families = vec![
            Family::counter("demo_requests_total", "Requests.\nSecond line with \\.").with(
                vec![
                    ("route", "/a/{name}".into()),
                    ("odd", "quote \" backslash \\ newline \n end".into()),
                ],
                3.0,
            ),
            Family::gauge("demo_temperature", "A gauge.").with(vec![], 0.25),
            Family::gauge("demo_empty", "No samples."),
        ];
        assert_eq!(
            render(&families),
            "# HELP demo_requests_total Requests.\\nSecond line with \\\\.\n\
             # TYPE demo_requests_total counter\n\
             demo_requests_total{route=\"/a/{name}\",odd=\"quote \\\" backslash \\\\ newline \\n end\"} 3\n\
             # HELP demo_temperature A gauge.\n\
             # TYPE demo_temperature gauge\n\
             demo_temperature 0.25\n\
             # HELP demo_empty No samples.\n\
             # TYPE demo_empty gauge\n"
        );
    }

    #[test]
    fn histograms_are_cumulative_with_inf_sum_and_count() {
        let h = HistogramSnapshot {
            bounds: vec![0.1, 1.0],
            counts: vec![2, 1],
            count: 4,
            sum_seconds: 3.5,
        };
        let mut f = Family::histogram("demo_seconds", "Durations.");
        f.push_histogram(vec![("op", "x".into())], &h);
        let text = render(&[f]);
        assert!(
            text.contains("demo_seconds_bucket{op=\"x\",le=\"0.1\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("demo_seconds_bucket{op=\"x\",le=\"1\"} 3\n"),
            "{text}"
        );
        assert!(
            text.contains("demo_seconds_bucket{op=\"x\",le=\"+Inf\"} 4\n"),
            "{text}"
        );
        assert!(text.contains("demo_seconds_sum{op=\"x\"} 3.5\n"), "{text}");
        assert!(text.contains("demo_seconds_count{op=\"x\"} 4\n"), "{text}");
    }

    #[test]
    fn values() {
        assert_eq!(format_value(0.0), "0");
        assert_eq!(format_value(65535.0), "65535");
        assert_eq!(format_value(0.0005), "0.0005");
        assert_eq!(format_value(f64::INFINITY), "+Inf");
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(1e18), "1000000000000000000");
        assert_eq!(escape_label_value("a\"b"), "a\\\"b");
    }

    #[test]
    fn families_and_series_keep_their_order_each_under_its_help_and_type() {
        let mut requests = Family::counter("demo_requests_total", "Requests.");
        requests.push(vec![("code", "500".into())], 1.0);
        requests.push(vec![("code", "200".into())], 7.0);
        let families = [
            Family::gauge("demo_z", "Last in the alphabet, first written.").with(vec![], 1.0),
            requests,
            Family::gauge("demo_a", "First in the alphabet.").with(vec![], -2.5),
        ];
        assert_eq!(
            render(&families),
            "# HELP demo_z Last in the alphabet, first written.\n\
             # TYPE demo_z gauge\n\
             demo_z 1\n\
             # HELP demo_requests_total Requests.\n\
             # TYPE demo_requests_total counter\n\
             demo_requests_total{code=\"500\"} 1\n\
             demo_requests_total{code=\"200\"} 7\n\
             # HELP demo_a First in the alphabet.\n\
             # TYPE demo_a gauge\n\
             demo_a -2.5\n"
        );
        assert_eq!(render(&[]), "");
    }

    #[test]
    fn label_values_are_escaped_and_nothing_else_is() {
        for (value, written) in [
            ("", ""),
            ("plain", "plain"),
            ("back\\slash", "back\\\\slash"),
            ("\"quoted\"", "\\\"quoted\\\""),
            ("two\nlines", "two\\nlines"),
            ("tab\tand\rcarriage", "tab\tand\rcarriage"),
            ("{braces},=commas", "{braces},=commas"),
            ("ünïcödé ✓", "ünïcödé ✓"),
            ("\\n is not a newline", "\\\\n is not a newline"),
        ] {
            assert_eq!(escape_label_value(value), written, "{value:?}");
            let text = render(&[Family::gauge("demo", "D.").with(vec![("v", value.into())], 1.0)]);
            assert!(
                text.ends_with(&format!("demo{{v=\"{written}\"}} 1\n")),
                "{value:?}: {text}"
            );
        }
    }

    #[test]
    fn help_escapes_backslash_and_newline_but_not_quotes() {
        let text = render(&[Family::gauge("demo", "Say \"hi\"\\ twice\nplease.")]);
        assert_eq!(
            text,
            "# HELP demo Say \"hi\"\\\\ twice\\nplease.\n# TYPE demo gauge\n"
        );
    }

    #[test]
    fn a_histogram_series_is_its_buckets_in_order_then_sum_and_count() {
        let h = HistogramSnapshot {
            bounds: vec![0.005, 0.5, 2.5],
            counts: vec![1, 0, 2],
            count: 5,
            sum_seconds: 12.25,
        };
        let mut f = Family::histogram("demo_seconds", "Durations.");
        f.push_histogram(vec![], &h);
        f.push_histogram(
            vec![("op", "b".into())],
            &HistogramSnapshot {
                bounds: vec![0.005, 0.5, 2.5],
                counts: vec![0, 0, 0],
                count: 0,
                sum_seconds: 0.0,
            },
        );
        assert_eq!(
            render(&[f]),
            "# HELP demo_seconds Durations.\n\
             # TYPE demo_seconds histogram\n\
             demo_seconds_bucket{le=\"0.005\"} 1\n\
             demo_seconds_bucket{le=\"0.5\"} 1\n\
             demo_seconds_bucket{le=\"2.5\"} 3\n\
             demo_seconds_bucket{le=\"+Inf\"} 5\n\
             demo_seconds_sum 12.25\n\
             demo_seconds_count 5\n\
             demo_seconds_bucket{op=\"b\",le=\"0.005\"} 0\n\
             demo_seconds_bucket{op=\"b\",le=\"0.5\"} 0\n\
             demo_seconds_bucket{op=\"b\",le=\"2.5\"} 0\n\
             demo_seconds_bucket{op=\"b\",le=\"+Inf\"} 0\n\
             demo_seconds_sum{op=\"b\"} 0\n\
             demo_seconds_count{op=\"b\"} 0\n",
            "the +Inf bucket counts the observations above the last bound (here 2)"
        );
    }

    #[test]
    fn every_value_is_written_as_prometheus_reads_it() {
        for (v, written) in [
            (-3.0, "-3"),
            (-0.5, "-0.5"),
            (1e15, "1000000000000000"),
            (123_456.789, "123456.789"),
            (1e-7, "0.0000001"),
            (f64::NEG_INFINITY, "-Inf"),
            (u64::MAX as f64, "18446744073709552000"),
        ] {
            assert_eq!(format_value(v), written, "{v}");
            assert_eq!(written.parse::<f64>(), Ok(v), "{written} reads back");
        }
    }
}
