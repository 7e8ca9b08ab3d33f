//! The plots, as inline SVG: a scatter plot, horizontal bars, lines over time, stacked
//! bars and a directed graph. Each is a fixed-size `viewBox` that scales with the page;
//! every mark has a `<title>` (the browser's tooltip) with its exact values.

use std::fmt::Write;

/// Okabe and Ito's palette: told apart by readers with any colour vision.
pub(crate) const PALETTE: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#8C6D1F", "#000000",
];

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 300.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 44.0;

/// `text` safe inside an element or a quoted attribute.
pub(crate) fn esc(text: &str) -> String {
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

/// Round tick values from 0 to at least `max`: steps of 1, 2 or 5 times a power of ten,
/// about five of them.
pub(crate) fn ticks(max: f64) -> Vec<f64> {
    let max = if max > 0.0 && max.is_finite() {
        max
    } else {
        1.0
    };
    let rough = max / 5.0;
    let power = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|s| *s >= rough)
        .unwrap_or(10.0 * power);
    let count = (max / step).ceil() as usize;
    (0..=count).map(|i| i as f64 * step).collect()
}

/// A number as a tick label: no trailing zeros, thousands as `k`.
fn label(value: f64) -> String {
    if value >= 10_000.0 {
        format!("{}k", (value / 1000.0).round())
    } else if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    }
}

fn open(out: &mut String, label: &str) {
    let _ = write!(
        out,
        r#"<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg">"#,
        esc(label)
    );
}

/// Axes with grid lines: `x` and `y` ticks mapped by `fx`, `fy`; axis titles.
fn axes(out: &mut String, x: &[(f64, String)], y: &[(f64, String)], x_title: &str, y_title: &str) {
    out.push_str(r#"<g class="axis">"#);
    for (py, text) in y {
        let _ = write!(
            out,
            r#"<line class="grid" x1="{LEFT}" x2="{}" y1="{py:.1}" y2="{py:.1}"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            WIDTH - RIGHT,
            LEFT - 6.0,
            py + 4.0,
            esc(text)
        );
    }
    for (px, text) in x {
        let _ = write!(
            out,
            r#"<text x="{px:.1}" y="{}" text-anchor="middle">{}</text>"#,
            HEIGHT - BOTTOM + 16.0,
            esc(text)
        );
    }
    let _ = write!(
        out,
        r#"<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{y0}"/><line x1="{LEFT}" x2="{}" y1="{y0}" y2="{y0}"/>"#,
        WIDTH - RIGHT,
        y0 = HEIGHT - BOTTOM
    );
    let _ = write!(
        out,
        r#"<text class="title" x="{}" y="{}" text-anchor="middle">{}</text><text class="title" transform="translate(14 {}) rotate(-90)" text-anchor="middle">{}</text></g>"#,
        (LEFT + WIDTH - RIGHT) / 2.0,
        HEIGHT - 6.0,
        esc(x_title),
        (TOP + HEIGHT - BOTTOM) / 2.0,
        esc(y_title)
    );
}

/// Maps `0..=max` onto the plot's width.
fn sx(value: f64, max: f64) -> f64 {
    LEFT + value / max * (WIDTH - LEFT - RIGHT)
}

/// Maps `0..=max` onto the plot's height, upwards.
fn sy(value: f64, max: f64) -> f64 {
    HEIGHT - BOTTOM - value / max * (HEIGHT - TOP - BOTTOM)
}

/// A point of a scatter plot.
pub(crate) struct Dot {
    pub x: f64,
    pub y: f64,
    /// Written beside the dot when it is among the first `labelled`.
    pub label: String,
    pub title: String,
}

/// Dots on linear axes from 0; the first `labelled` dots get their label.
pub(crate) fn scatter(
    dots: &[Dot],
    x_title: &str,
    y_title: &str,
    labelled: usize,
    aria: &str,
) -> String {
    let x_ticks = ticks(dots.iter().map(|d| d.x).fold(0.0, f64::max));
    let y_ticks = ticks(dots.iter().map(|d| d.y).fold(0.0, f64::max));
    let (xmax, ymax) = (
        *x_ticks.last().unwrap_or(&1.0),
        *y_ticks.last().unwrap_or(&1.0),
    );
    let mut out = String::new();
    open(&mut out, aria);
    let xs: Vec<(f64, String)> = x_ticks.iter().map(|t| (sx(*t, xmax), label(*t))).collect();
    let ys: Vec<(f64, String)> = y_ticks.iter().map(|t| (sy(*t, ymax), label(*t))).collect();
    axes(&mut out, &xs, &ys, x_title, y_title);
    for (i, d) in dots.iter().enumerate().rev() {
        let (cx, cy) = (sx(d.x, xmax), sy(d.y, ymax));
        let _ = write!(
            out,
            r#"<circle class="dot" cx="{cx:.1}" cy="{cy:.1}" r="5" fill="{}"><title>{}</title></circle>"#,
            if i < labelled { PALETTE[5] } else { PALETTE[0] },
            esc(&d.title)
        );
        if i < labelled {
            let anchor = if cx > WIDTH * 0.7 { "end" } else { "start" };
            let dx = if anchor == "end" { -8.0 } else { 8.0 };
            let _ = write!(
                out,
                r#"<text class="label" x="{:.1}" y="{:.1}" text-anchor="{anchor}">{}</text>"#,
                cx + dx,
                cy - 6.0,
                esc(&d.label)
            );
        }
    }
    out.push_str("</svg>");
    out
}

/// A horizontal bar.
pub(crate) struct Bar {
    pub label: String,
    pub value: f64,
    /// Written after the bar.
    pub text: String,
    pub title: String,
}

/// One row per bar, scaled to `max`.
pub(crate) fn bars(bars: &[Bar], max: f64, aria: &str) -> String {
    const ROW: f64 = 24.0;
    const NAMES: f64 = 200.0;
    let height = TOP + ROW * bars.len() as f64 + 8.0;
    let span = WIDTH - NAMES - 120.0;
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg">"#,
        esc(aria)
    );
    for (i, b) in bars.iter().enumerate() {
        let y = TOP + i as f64 * ROW;
        let w = if max > 0.0 {
            (b.value / max * span).max(1.0)
        } else {
            1.0
        };
        let _ = write!(
            out,
            r#"<g><title>{}</title><text x="{}" y="{:.1}" text-anchor="end">{}</text><rect class="bar" x="{NAMES}" y="{y:.1}" width="{w:.1}" height="{}" fill="{}"/><text x="{:.1}" y="{:.1}">{}</text></g>"#,
            esc(&b.title),
            NAMES - 8.0,
            y + ROW * 0.6,
            esc(&b.label),
            ROW - 6.0,
            PALETTE[0],
            NAMES + w + 6.0,
            y + ROW * 0.6,
            esc(&b.text)
        );
    }
    out.push_str("</svg>");
    out
}

/// A series of values over time.
pub(crate) struct Line {
    pub name: String,
    /// `(milliseconds since the epoch, value)`, oldest first.
    pub points: Vec<(i64, f64)>,
}

/// Lines over a time axis from the first point to the last; one colour per line, in
/// palette order, and a legend under the plot.
pub(crate) fn lines(lines: &[Line], y_title: &str, aria: &str) -> String {
    let all = lines.iter().flat_map(|l| l.points.iter());
    let t0 = all.clone().map(|p| p.0).min().unwrap_or(0);
    let t1 = all.clone().map(|p| p.0).max().unwrap_or(0);
    let y_ticks = ticks(all.map(|p| p.1).fold(0.0, f64::max));
    let ymax = *y_ticks.last().unwrap_or(&1.0);
    let span = (t1 - t0).max(1) as f64;
    let px = |t: i64| {
        if t1 == t0 {
            (LEFT + WIDTH - RIGHT) / 2.0
        } else {
            sx((t - t0) as f64, span)
        }
    };
    let mut out = String::new();
    open(&mut out, aria);
    let ys: Vec<(f64, String)> = y_ticks.iter().map(|t| (sy(*t, ymax), label(*t))).collect();
    let xs = if t1 == t0 {
        vec![(px(t0), crate::html::when(t0))]
    } else {
        vec![
            (px(t0), crate::html::when(t0)),
            (px(t1), crate::html::when(t1)),
        ]
    };
    axes(&mut out, &xs, &ys, "recorded at (UTC)", y_title);
    for (i, line) in lines.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let path: Vec<String> = line
            .points
            .iter()
            .map(|(t, v)| format!("{:.1},{:.1}", px(*t), sy(*v, ymax)))
            .collect();
        let _ = write!(
            out,
            r#"<g><title>{}</title><polyline class="line" points="{}" stroke="{colour}"/>"#,
            esc(&line.name),
            path.join(" ")
        );
        for (t, v) in &line.points {
            let _ = write!(
                out,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{colour}"><title>{}: {v:.0} ms at {}</title></circle>"#,
                px(*t),
                sy(*v, ymax),
                esc(&line.name),
                crate::html::when(*t)
            );
        }
        out.push_str("</g>");
    }
    out.push_str("</svg>");
    out
}

/// A column of stacked counts.
pub(crate) struct Stack {
    pub label: String,
    /// `(category index, count)`.
    pub counts: Vec<(usize, u32)>,
}

/// Stacked columns; category `i` is drawn in `colours[i]` and named `categories[i]` in
/// the legend under the plot.
pub(crate) fn stacked(
    stacks: &[Stack],
    categories: &[&str],
    colours: &[&str],
    aria: &str,
) -> String {
    let totals: Vec<u32> = stacks
        .iter()
        .map(|s| s.counts.iter().map(|c| c.1).sum())
        .collect();
    let y_ticks = ticks(f64::from(totals.iter().copied().max().unwrap_or(0)));
    let ymax = *y_ticks.last().unwrap_or(&1.0);
    let slot = (WIDTH - LEFT - RIGHT) / stacks.len().max(1) as f64;
    let width = (slot * 0.7).min(48.0);
    let mut out = String::new();
    open(&mut out, aria);
    let ys: Vec<(f64, String)> = y_ticks.iter().map(|t| (sy(*t, ymax), label(*t))).collect();
    // At most a dozen labels along the axis.
    let every = stacks.len().div_ceil(12).max(1);
    let xs: Vec<(f64, String)> = stacks
        .iter()
        .enumerate()
        .filter(|(i, _)| i % every == 0)
        .map(|(i, s)| (LEFT + slot * (i as f64 + 0.5), s.label.clone()))
        .collect();
    axes(&mut out, &xs, &ys, "day (UTC)", "verifications");
    for (i, stack) in stacks.iter().enumerate() {
        let x = LEFT + slot * (i as f64 + 0.5) - width / 2.0;
        let mut below = 0.0;
        for (category, count) in &stack.counts {
            let top = below + f64::from(*count);
            let (y, h) = (sy(top, ymax), sy(below, ymax) - sy(top, ymax));
            let _ = write!(
                out,
                r#"<rect class="bar" x="{x:.1}" y="{y:.1}" width="{width:.1}" height="{h:.1}" fill="{}"><title>{}: {count} {}</title></rect>"#,
                colours[*category % colours.len()],
                esc(&stack.label),
                esc(categories[*category])
            );
            below = top;
        }
    }
    out.push_str("</svg>");
    out
}

/// A node of the dependency graph.
pub(crate) struct Node {
    pub name: String,
    pub size: u32,
}

/// Nodes on a circle (largest at the top, clockwise), edges as arrows whose width grows
/// with their weight. `edges`: `(from, to, weight)` by node index.
pub(crate) fn graph(nodes: &[Node], edges: &[(usize, usize, u32)], aria: &str) -> String {
    // Wider than tall: the labels sit outside the ring, left and right of it.
    const W: f64 = 720.0;
    const H: f64 = 560.0;
    let (cx, cy) = (W / 2.0, H / 2.0);
    let ring = H / 2.0 - 60.0;
    let biggest = f64::from(nodes.iter().map(|n| n.size).max().unwrap_or(1).max(1));
    let angle = |i: usize| {
        std::f64::consts::TAU * i as f64 / nodes.len().max(1) as f64 - std::f64::consts::FRAC_PI_2
    };
    let at = |i: usize| (cx + ring * angle(i).cos(), cy + ring * angle(i).sin());
    let radius = |n: &Node| 5.0 + 12.0 * (f64::from(n.size) / biggest).sqrt();
    let heaviest = f64::from(edges.iter().map(|e| e.2).max().unwrap_or(1).max(1));
    let mut out = String::new();
    let _ = write!(
        out,
        r##"<svg viewBox="0 0 {W} {H}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg"><defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#777"/></marker></defs>"##,
        esc(aria)
    );
    for (from, to, weight) in edges {
        let ((x1, y1), (x2, y2)) = (at(*from), at(*to));
        let (dx, dy) = (x2 - x1, y2 - y1);
        let length = (dx * dx + dy * dy).sqrt().max(1.0);
        // From the edge of one circle to the edge of the other.
        let (r1, r2) = (radius(&nodes[*from]), radius(&nodes[*to]) + 2.0);
        let _ = write!(
            out,
            r#"<line class="edge" x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke-width="{:.1}" marker-end="url(#arrow)"><title>{} imports {}: {weight}</title></line>"#,
            x1 + dx / length * r1,
            y1 + dy / length * r1,
            x2 - dx / length * r2,
            y2 - dy / length * r2,
            1.0 + 3.0 * (f64::from(*weight) / heaviest),
            esc(&nodes[*from].name),
            esc(&nodes[*to].name)
        );
    }
    for (i, node) in nodes.iter().enumerate() {
        let (x, y) = at(i);
        let r = radius(node);
        // The label outside the ring, on the node's radius.
        let (cos, sin) = (angle(i).cos(), angle(i).sin());
        let anchor = if cos > 0.25 {
            "start"
        } else if cos < -0.25 {
            "end"
        } else {
            "middle"
        };
        let (lx, ly) = (x + cos * (r + 5.0), y + sin * (r + 9.0) + 4.0);
        let _ = write!(
            out,
            r#"<g class="node"><title>{}: {} files</title><circle cx="{x:.1}" cy="{y:.1}" r="{r:.1}" fill="{}"/><text x="{lx:.1}" y="{ly:.1}" text-anchor="{anchor}">{}</text></g>"#,
            esc(&node.name),
            node.size,
            PALETTE[4],
            esc(&node.name)
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_maximum() {
        assert_eq!(ticks(9.0), [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!(ticks(100.0), [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        assert_eq!(ticks(0.37), [0.0, 0.1, 0.2, 0.30000000000000004, 0.4]);
        assert_eq!(ticks(0.0), [0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]);
        assert_eq!(label(0.30000000000000004), "0.3");
        assert_eq!(label(25_000.0), "25k");
        assert_eq!(
            esc(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
