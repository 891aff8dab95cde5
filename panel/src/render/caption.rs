//! Said on the panel, not only in a tooltip: the root cause in a sentence above the graph, and
//! a hint when part of the drawing is out of view or too small to read.

use pipeline_model::health::HEALTH_COLORS;
use pipeline_model::Health;
use web_sys::{Document, Element};

use super::dom::{html_child, Res};
use super::theme::Theme;
use crate::graph::Graph;

/// "ROOT CAUSE  clicks: consumer lag 5 min; affects job roas", in the cause's health colour.
pub fn fill_caption(doc: &Document, caption: &Element, graph: &Graph) -> Res<()> {
    caption.set_text_content(None);
    let Some(sentence) = &graph.root_cause else {
        return Ok(());
    };
    let health = graph.bottleneck().map_or(Health::Critical, |b| b.health);
    html_child(
        doc,
        caption,
        "span",
        &format!("tag h-{}", health.as_str()),
        Some("ROOT CAUSE "),
    )?;
    html_child(doc, caption, "span", "why", Some(sentence))?;
    Ok(())
}

/// What the hint says for a view: `readable` when text is drawn, `clipped` when part of the
/// drawing is outside the panel.
pub fn hint_text(readable: bool, clipped: bool) -> Option<&'static str> {
    match (readable, clipped) {
        (false, _) => Some("Zoom in to read names and numbers"),
        (true, true) => Some("Drag to see the rest \u{b7} \u{2922} shows all"),
        (true, false) => None,
    }
}

/// The caption's, the hint's and the top bar's rules, under the panel's `scope` class.
pub fn css(t: &Theme, scope: &str) -> String {
    let mut css = format!(
        ".pht .top{{position:absolute;left:8px;right:100px;top:4px;display:flex;flex-direction:column;align-items:flex-start;gap:2px;pointer-events:none}}\
.pht .small text{{display:none}}\
.pht .top>div{{position:static;background:{bg};opacity:.92;border-radius:3px;padding:1px 4px}}\
.pht .caption{{font-size:12px;line-height:16px;color:{text}}}\
.pht .caption:empty,.pht .hint:empty{{display:none}}\
.pht .caption .tag{{font-weight:700;letter-spacing:.04em;margin-right:4px}}\
.pht .hint{{position:absolute;right:6px;pointer-events:none;font-size:12px;color:{text2};background:{card};border:1px solid {border};border-radius:3px;padding:1px 6px}}",
        text = t.text,
        bg = t.background,
        text2 = t.text_secondary,
        card = t.card,
        border = t.border,
    );
    for c in &HEALTH_COLORS {
        css.push_str(&format!(
            ".pht .caption .h-{}{{color:{}}}",
            c.health.as_str(),
            t.health_color(c.health)
        ));
    }
    css.replace(".pht", &format!(".{scope}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hint_says_how_to_see_the_rest() {
        assert_eq!(hint_text(true, false), None);
        assert!(hint_text(true, true).unwrap().starts_with("Drag"));
        assert!(hint_text(false, false).unwrap().starts_with("Zoom in"));
    }
}
