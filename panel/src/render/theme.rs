//! Colours (from Grafana's theme, handed over by the shim) and the panel's style sheet. Health
//! states and card geometry are CSS classes, so a theme switch rewrites one style sheet instead
//! of touching every node.

use pipeline_model::health::HEALTH_COLORS;
use pipeline_model::Health;

/// Grafana theme colours the panel uses. Defaults are Grafana's dark theme.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub dark: bool,
    pub background: String,
    pub card: String,
    pub text: String,
    pub text_secondary: String,
    pub border: String,
    pub primary: String,
    /// Colours of ok, warning, critical, unknown (`HEALTH_COLORS` order; defaults are their dark hex).
    pub health: [String; 4],
}

impl Default for Theme {
    fn default() -> Theme {
        Theme {
            dark: true,
            background: "#111217".into(),
            card: "#181b1f".into(),
            text: "#ccccdc".into(),
            text_secondary: "rgba(204, 204, 220, 0.65)".into(),
            border: "rgba(204, 204, 220, 0.2)".into(),
            primary: "#6e9fff".into(),
            health: HEALTH_COLORS.map(|c| c.dark.to_string()),
        }
    }
}

/// Colour slot of each health state (its place in `pipeline_model::health::HEALTH_COLORS`).
pub fn health_slot(h: Health) -> usize {
    h.slot()
}

impl Theme {
    /// Builds a theme from the shim's list: background, card, text, secondary text, border,
    /// primary, then ok, warning, critical, unknown. Missing entries keep the default.
    pub fn from_list(dark: bool, colors: &[String]) -> Theme {
        let mut t = Theme {
            dark,
            ..Theme::default()
        };
        let slots: [&mut String; 6] = [
            &mut t.background,
            &mut t.card,
            &mut t.text,
            &mut t.text_secondary,
            &mut t.border,
            &mut t.primary,
        ];
        for (slot, c) in slots.into_iter().zip(colors) {
            if is_safe_color(c) {
                slot.clone_from(c);
            }
        }
        for (slot, c) in t.health.iter_mut().zip(colors.iter().skip(6)) {
            if is_safe_color(c) {
                slot.clone_from(c);
            }
        }
        t
    }

    pub fn health_color(&self, h: Health) -> &str {
        &self.health[health_slot(h)]
    }
}

/// Colours end up in a style sheet: accept only what a colour can look like, so a hostile value
/// (from a `color` field) cannot inject CSS.
pub fn is_safe_color(c: &str) -> bool {
    !c.is_empty()
        && c.len() <= 64
        && c.chars().all(|ch| {
            ch.is_ascii_alphanumeric() || matches!(ch, '#' | '(' | ')' | ',' | '.' | ' ' | '%')
        })
}

/// Card size and text placement for the normal and the compact card.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CardGeometry {
    pub width: f64,
    pub height: f64,
    pub compact: bool,
}

impl CardGeometry {
    pub fn new(compact: bool) -> CardGeometry {
        CardGeometry::sized(compact, if compact { 156.0 } else { 208.0 })
    }

    /// A card `width` wide (narrower cards let a pipeline fit at a readable size).
    pub fn sized(compact: bool, width: f64) -> CardGeometry {
        CardGeometry {
            width,
            height: if compact { 44.0 } else { 76.0 },
            compact,
        }
    }
}

/// The whole style sheet of one panel, every rule under its own `scope` class: it cannot leak
/// into Grafana, nor into another panel on the dashboard (a compact one would resize our cards).
pub fn style_sheet(t: &Theme, g: &CardGeometry, scope: &str) -> String {
    let (w, h) = (g.width, g.height);
    let (x0, y0) = (-w / 2.0, -h / 2.0);
    let mut css = format!(
        ".pht{{position:relative;overflow:hidden;font-family:Inter,Helvetica,Arial,sans-serif;color:{text};background:transparent}}\
.pht svg{{display:block;cursor:grab;user-select:none}}\
.pht svg.dragging{{cursor:grabbing}}\
.pht .card{{x:{x0}px;y:{y0}px;width:{w}px;height:{h}px;rx:6px;fill:{card};stroke:{border};stroke-width:1.5px}}\
.pht .stripe{{x:{x0}px;y:{y0}px;width:5px;height:{h}px}}\
.pht .icon{{fill:none;stroke:{text2};stroke-width:1.5px}}\
.pht text{{fill:{text};font-size:12px}}\
.pht .title{{font-size:13px;font-weight:500}}\
.pht .sub{{fill:{text2};font-size:12px}}\
.pht .main{{font-size:{main_size}px;font-weight:600}}\
.pht .second{{fill:{text2};text-anchor:end}}\
.pht .main .l{{fill:{text2};font-size:12px;font-weight:400}}\
.pht .node{{cursor:pointer}}\
.pht .node:hover .card{{stroke:{primary}}}\
.pht .bottleneck .card{{stroke-width:3px;stroke-dasharray:7 3}}\
.pht .victim .card{{stroke-dasharray:2 3}}\
.pht .badge{{font-size:12px;font-weight:700;letter-spacing:.06em;text-anchor:end;paint-order:stroke;stroke:{bg};stroke-width:4px;stroke-linejoin:round}}\
.pht .arcbg{{fill:{border}}}\
.pht .overview .edge{{vector-effect:non-scaling-stroke;stroke-width:1px}}\
.pht .ov-bn{{fill:none;stroke:{crit};stroke-width:8px;stroke-dasharray:16 6}}\
.pht .edge{{fill:none;stroke:{text2};stroke-width:1.5px}}\
.pht .arrow{{fill:{text2}}}\
.pht .elabel{{fill:{text2};font-size:12px;text-anchor:middle;paint-order:stroke;stroke:{bg};stroke-width:4px;stroke-linejoin:round}}\
.pht .tooltip{{position:absolute;pointer-events:none;z-index:2;max-width:360px;padding:8px 10px;border-radius:4px;background:{card};border:1px solid {border};box-shadow:0 4px 8px rgba(0,0,0,{shadow});font-size:12px;line-height:1.5}}\
.pht .tooltip .t{{font-weight:600;font-size:13px}}\
.pht .tooltip .k{{color:{text2};margin-right:8px}}\
.pht .tooltip .r{{margin:2px 0 4px}}\
.pht .legend{{position:absolute;left:8px;bottom:6px;display:flex;flex-wrap:wrap;gap:4px 12px;font-size:11px;color:{text2};background:{bg};padding:2px 6px;border-radius:3px;opacity:.92}}\
.pht .legend i{{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px;vertical-align:-1px}}\
.pht .legend .bn{{border:2px dashed {text2};width:12px;height:8px;border-radius:2px;box-sizing:border-box}}\
.pht .message{{position:absolute;inset:0;display:flex;align-items:center;justify-content:center;text-align:center;padding:16px;color:{text2};font-size:14px}}\
.pht .message.error{{color:{crit}}}\
.pht .message:empty,.pht .warnings:empty{{display:none}}\
.pht .controls{{position:absolute;right:6px;top:6px;display:flex;gap:2px}}\
.pht .controls button{{width:24px;height:24px;padding:0;border:1px solid {border};border-radius:2px;background:{card};color:{text};cursor:pointer;font-size:14px;line-height:1}}\
.pht .warnings{{position:absolute;left:8px;right:8px;top:4px;font-size:11px;color:{warn}}}",
        text = t.text,
        text2 = t.text_secondary,
        card = t.card,
        border = t.border,
        primary = t.primary,
        bg = t.background,
        crit = t.health_color(Health::Critical),
        warn = t.health_color(Health::Warning),
        shadow = if t.dark { "0.5" } else { "0.15" },
        main_size = if g.compact { 12 } else { 15 },
    );
    // Text placement: CSS transforms keep each text element to a class and its text.
    let place = |css: &mut String, class: &str, x: f64, y: f64| {
        css.push_str(&format!(
            ".pht .{class}{{transform:translate({x}px,{y}px)}}"
        ));
    };
    if g.compact {
        place(&mut css, "title", x0 + 32.0, -2.0);
        place(&mut css, "main", x0 + 32.0, 14.0);
        place(&mut css, "badge", w / 2.0 - 4.0, y0 - 5.0);
    } else {
        place(&mut css, "title", x0 + 36.0, y0 + 22.0);
        place(&mut css, "sub", x0 + 36.0, y0 + 38.0);
        place(&mut css, "main", x0 + 14.0, h / 2.0 - 14.0);
        place(&mut css, "second", w / 2.0 - 10.0, h / 2.0 - 14.0);
        place(&mut css, "badge", w / 2.0 - 4.0, y0 - 5.0);
    }
    for colors in &HEALTH_COLORS {
        let name = colors.health.as_str();
        let c = t.health_color(colors.health);
        css.push_str(&format!(
            ".pht .h-{name} .stripe,.pht .a-{name},.pht .ov-{name},.pht i.h-{name}{{fill:{c};background:{c}}}\
.pht .h-{name} .card{{stroke:{c}}}.pht .h-{name} .badge,.pht .tooltip .h-{name}{{fill:{c};color:{c}}}"
        ));
    }
    // Rules are written under `.pht`, then each is narrowed to this panel's scope.
    css.replace(".pht", &format!(".{scope}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn theme_list_fills_slots_in_order_and_rejects_css_injection() {
        let list: Vec<String> = [
            "#fff",
            "#f4f5f5",
            "#24292e",
            "rgba(36, 41, 46, 0.75)",
            "red;}body{display:none",
            "#3d71d9",
            "#1a7f4b",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let t = Theme::from_list(false, &list);
        assert_eq!(t.background, "#fff");
        assert_eq!(t.text_secondary, "rgba(36, 41, 46, 0.75)");
        assert_eq!(t.border, Theme::default().border);
        assert_eq!(t.health_color(Health::Ok), "#1a7f4b");
        assert_eq!(t.health_color(Health::Critical), "#f2495c");
    }

    #[test]
    fn style_sheet_colours_each_health_state() {
        let t = Theme::default();
        let css = style_sheet(&t, &CardGeometry::new(false), "pht-1");
        assert!(css.contains(".pht-1 .h-critical .card{stroke:#f2495c}"));
        assert!(css.contains("width:208px"));
        let compact = style_sheet(&t, &CardGeometry::new(true), "pht-1");
        assert!(compact.contains("width:156px"));
    }

    #[test]
    fn every_rule_is_scoped_to_its_panel() {
        let css = style_sheet(&Theme::default(), &CardGeometry::new(true), "pht-7");
        let rules: Vec<&str> = css.split('}').filter(|r| !r.is_empty()).collect();
        assert!(rules.len() > 30);
        for rule in rules {
            let selectors = rule.split('{').next().unwrap_or_default();
            for sel in selectors.split(',') {
                let scoped =
                    sel == ".pht-7" || sel.starts_with(".pht-7 ") || sel.starts_with(".pht-7.");
                assert!(scoped, "unscoped selector {sel:?}");
            }
        }
    }
}
