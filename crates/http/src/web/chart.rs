//! Small server-rendered SVG pictures (pure): a sparkline of a destination's connections over the last
//! minutes, and the weight split of a virtual server as one stacked bar with a legend. The markup uses
//! classes (the stylesheet colours them) and SVG attributes, never inline styles, so it works under a strict
//! Content-Security-Policy.

use super::history::Sample;
use std::fmt::Write;

/// Width and height of a sparkline, in CSS pixels.
const SPARK_W: f64 = 120.0;
const SPARK_H: f64 = 28.0;
/// Consecutive samples further apart than this are not joined (the sampler missed readings).
const GAP_S: i64 = 20;

/// Escapes text for XML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A path through the samples of one series within the window ending at `now`.
fn path(
    samples: &[Sample],
    now: i64,
    window_s: i64,
    peak: u32,
    value: fn(&Sample) -> u32,
) -> String {
    let mut d = String::new();
    let mut last_at: Option<i64> = None;
    let mut last_point: Option<(i64, i64)> = None;
    for s in samples {
        let age = now - s.at;
        if age > window_s || age < 0 {
            continue;
        }
        let x = (SPARK_W * (1.0 - age as f64 / window_s as f64)).round() as i64;
        let y = ((SPARK_H - 1.0) - f64::from(value(s)) / f64::from(peak) * (SPARK_H - 2.0)).round()
            as i64;
        let joined = last_at.is_some_and(|t| s.at - t <= GAP_S);
        last_at = Some(s.at);
        // A segment starts with a zero-length stroke, so that a lone reading still shows as a dot;
        // readings that land on the same pixel as the previous one add nothing.
        if !joined {
            let _ = write!(d, "M{x} {y}h0");
        } else if last_point != Some((x, y)) {
            let _ = write!(d, "L{x} {y}");
        }
        last_point = Some((x, y));
    }
    d
}

/// A sparkline of active (solid) and inactive (dashed) connections over the `window_s` seconds before `now`;
/// `None` when there are no samples in the window.
pub fn sparkline(samples: &[Sample], now: i64, window_s: i64, label: &str) -> Option<String> {
    let window_s = window_s.max(1);
    let recent: Vec<&Sample> = samples
        .iter()
        .filter(|s| (0..=window_s).contains(&(now - s.at)))
        .collect();
    let last = recent.last()?;
    let peak = recent
        .iter()
        .map(|s| s.active.max(s.inactive))
        .max()
        .unwrap_or(0)
        .max(1);
    let peak_active = recent.iter().map(|s| s.active).max().unwrap_or(0);
    let minutes = (window_s + 59) / 60;
    let text = format!(
        "{}: {} active and {} inactive connections now; at most {} active in the last {} min",
        label, last.active, last.inactive, peak_active, minutes
    );
    let text = escape(&text);
    let active = path(samples, now, window_s, peak, |s| s.active);
    let inactive = path(samples, now, window_s, peak, |s| s.inactive);
    Some(format!(
        "<svg class=\"spark\" viewBox=\"0 0 {SPARK_W} {SPARK_H}\" width=\"{SPARK_W}\" height=\"{SPARK_H}\" role=\"img\"><title>{text}</title><path class=\"i\" d=\"{inactive}\"/><path class=\"a\" d=\"{active}\"/></svg>"
    ))
}

/// One segment of the weight split.
#[derive(Debug, Clone)]
pub struct Share {
    pub label: String,
    pub weight: u32,
}

/// Colours of the weight split's segments (the stylesheet's `.w0` to `.w9`).
pub const PALETTE: usize = 10;
/// Fills laid over a colour once the palette has been used up: none, stripes, dots.
pub const PATTERNS: usize = 3;

/// How the `index`-th segment is drawn: its colour and its pattern. Neighbours never share a colour, and
/// the first `PALETTE * PATTERNS` segments are all told apart.
pub fn look(index: usize) -> (usize, usize) {
    (index % PALETTE, (index / PALETTE) % PATTERNS)
}

/// One entry of the legend under the bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegendItem {
    pub label: String,
    pub weight: u32,
    /// Share of the total weight, e.g. `25%`.
    pub percent: String,
    /// The swatch: an SVG drawn like the segment.
    pub swatch: String,
}

/// The weight split: a stacked bar and its legend (one entry per segment, in the bar's order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    pub svg: String,
    pub legend: Vec<LegendItem>,
}

/// A share in percent as the pages show it: one decimal below 10%.
pub fn percent(pct: f64) -> String {
    if pct < 10.0 {
        format!("{pct:.1}%")
    } else {
        format!("{pct:.0}%")
    }
}

/// The shapes of a segment at `x`, `width` wide and `height` high: its colour, and its pattern over it.
fn segment(index: usize, x: f64, width: f64, height: u32, title: &str) -> String {
    let (colour, pattern) = look(index);
    let mut out = format!(
        "<rect class=\"w{colour}\" x=\"{x:.1}\" y=\"0\" width=\"{width:.1}\" height=\"{height}\">{title}</rect>"
    );
    if pattern > 0 {
        let _ = write!(
            out,
            "<rect class=\"over\" fill=\"url(#split-p{pattern})\" x=\"{x:.1}\" y=\"0\" width=\"{width:.1}\" height=\"{height}\">{title}</rect>"
        );
    }
    out
}

/// The patterns laid over colours (defined once, in the bar; the legend's swatches use them too).
const PATTERN_DEFS: &str = "<defs>\
<pattern id=\"split-p1\" patternUnits=\"userSpaceOnUse\" width=\"6\" height=\"6\"><path class=\"stripe\" d=\"M-1 7L7 -1M5 7L7 5M-1 1L1 -1\"/></pattern>\
<pattern id=\"split-p2\" patternUnits=\"userSpaceOnUse\" width=\"6\" height=\"6\"><circle class=\"dot\" cx=\"3\" cy=\"3\" r=\"1.4\"/></pattern>\
</defs>";

/// The weight split as a stacked bar with a legend; `None` when no server has a positive weight.
pub fn weight_split(shares: &[Share]) -> Option<Split> {
    let total: u64 = shares.iter().map(|s| u64::from(s.weight)).sum();
    if total == 0 {
        return None;
    }
    let mut summary = Vec::new();
    let mut legend = Vec::new();
    let mut x = 0.0_f64;
    let mut body = String::new();
    for (i, s) in shares.iter().filter(|s| s.weight > 0).enumerate() {
        let pct = s.weight as f64 * 100.0 / total as f64;
        let w = pct * 10.0;
        let title = format!(
            "<title>{}</title>",
            escape(&format!("{}: weight {} ({pct:.1}%)", s.label, s.weight))
        );
        body.push_str(&segment(i, x, w, 16, &title));
        x += w;
        if summary.len() < 8 {
            summary.push(format!("{} {pct:.0}%", s.label));
        }
        legend.push(LegendItem {
            label: s.label.clone(),
            weight: s.weight,
            percent: percent(pct),
            swatch: format!(
                "<svg class=\"swatch\" viewBox=\"0 0 16 16\" width=\"16\" height=\"16\" aria-hidden=\"true\">{}</svg>",
                segment(i, 0.0, 16.0, 16, "")
            ),
        });
    }
    let more = legend.len().saturating_sub(8);
    let mut label = format!("Weight split: {}", summary.join(", "));
    if more > 0 {
        let _ = write!(label, " and {more} more");
    }
    Some(Split {
        svg: format!(
            "<svg class=\"split\" viewBox=\"0 0 1000 16\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"{}\">{PATTERN_DEFS}{body}</svg>",
            escape(&label)
        ),
        legend,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(at: i64, active: u32, inactive: u32) -> Sample {
        Sample {
            at,
            active,
            inactive,
        }
    }

    #[test]
    fn a_sparkline_spans_the_window_and_scales_to_the_peak() {
        let samples = [s(0, 0, 0), s(300, 10, 5), s(600, 5, 0)];
        let svg = sparkline(&samples, 600, 600, "10.0.0.1:80").unwrap();
        // Oldest at the left edge at the bottom, the peak at the top, the newest at the right edge.
        assert!(
            svg.contains("class=\"a\" d=\"M0 27h0M60 1h0M120 14h0\""),
            "{svg}"
        );
        assert!(svg.contains(
            "5 active and 0 inactive connections now; at most 10 active in the last 10 min"
        ));
        assert!(svg.starts_with("<svg class=\"spark\""));
    }

    #[test]
    fn samples_close_together_are_joined_and_old_ones_are_left_out() {
        let samples = [s(-100, 9, 9), s(590, 1, 0), s(595, 2, 0), s(600, 3, 0)];
        let svg = sparkline(&samples, 600, 600, "x").unwrap();
        assert!(svg.contains("d=\"M118 18h0L119 10L120 1\""), "{svg}");
        assert!(
            svg.contains("at most 3 active"),
            "the sample outside the window is ignored: {svg}"
        );
        assert_eq!(sparkline(&[s(0, 1, 1)], 1000, 600, "x"), None);
    }

    #[test]
    fn labels_are_escaped() {
        let svg = sparkline(&[s(0, 1, 1)], 0, 60, "<b>&").unwrap();
        assert!(svg.contains("&lt;b&gt;&amp;"));
        assert!(!svg.contains("<b>"));
    }

    #[test]
    fn neighbours_never_share_a_colour_and_many_servers_are_told_apart() {
        for i in 0..200 {
            assert_ne!(look(i).0, look(i + 1).0, "segments {i} and {}", i + 1);
        }
        let looks: std::collections::BTreeSet<_> = (0..PALETTE * PATTERNS).map(look).collect();
        assert_eq!(looks.len(), PALETTE * PATTERNS, "every look differs");
        let shares: Vec<Share> = (0..25)
            .map(|i| Share {
                label: format!("10.0.0.{i}:80"),
                weight: 1,
            })
            .collect();
        let split = weight_split(&shares).unwrap();
        assert_eq!(split.legend.len(), 25);
        let swatches: std::collections::BTreeSet<&str> =
            split.legend.iter().map(|l| l.swatch.as_str()).collect();
        assert_eq!(swatches.len(), 25, "25 swatches, each its own");
        assert!(split.legend[12].swatch.contains("url(#split-p1)"));
        assert!(split.svg.contains("<pattern id=\"split-p2\""));
    }

    #[test]
    fn the_split_is_proportional_to_the_weights() {
        let shares = [
            Share {
                label: "a".into(),
                weight: 1,
            },
            Share {
                label: "b".into(),
                weight: 0,
            },
            Share {
                label: "c".into(),
                weight: 3,
            },
        ];
        let split = weight_split(&shares).unwrap();
        let svg = &split.svg;
        assert!(svg.contains("x=\"0.0\" y=\"0\" width=\"250.0\""), "{svg}");
        assert!(svg.contains("x=\"250.0\" y=\"0\" width=\"750.0\""), "{svg}");
        assert!(svg.contains("Weight split: a 25%, c 75%"));
        let legend: Vec<(&str, u32, &str)> = split
            .legend
            .iter()
            .map(|l| (l.label.as_str(), l.weight, l.percent.as_str()))
            .collect();
        assert_eq!(legend, [("a", 1, "25%"), ("c", 3, "75%")]);
        assert!(split.legend[0].swatch.contains("class=\"w0\""));
        assert!(split.legend[1].swatch.contains("class=\"w1\""));
        assert_eq!(
            weight_split(&[Share {
                label: "a".into(),
                weight: 0
            }]),
            None
        );
    }
}
