//! Fitting card text into its room, measured rather than counted: a stat shortens or drops its
//! label, never its value; a name is cut with an ellipsis (the tooltip has it whole).

/// Width in px of `text` at `px` size and CSS `weight`.
pub trait Measure {
    fn width(&self, text: &str, px: f64, weight: u16) -> f64;
}

/// A wide sans-serif's widths, for native tests and when no canvas is at hand.
pub struct Estimate;

impl Measure for Estimate {
    fn width(&self, text: &str, px: f64, weight: u16) -> f64 {
        let bold = if weight >= 600 { 1.06 } else { 1.0 };
        text.chars().count() as f64 * px * 0.62 * bold
    }
}

/// The browser's own measure of the panel's font (no layout pass, unlike measuring the SVG).
pub struct Canvas(pub web_sys::CanvasRenderingContext2d);

impl Measure for Canvas {
    fn width(&self, text: &str, px: f64, weight: u16) -> f64 {
        self.0.set_font(&format!("{weight} {px}px {FONT_FAMILY}"));
        self.0
            .measure_text(text)
            .map_or_else(|_| Estimate.width(text, px, weight), |m| m.width())
    }
}

pub const FONT_FAMILY: &str = "Inter,Helvetica,Arial,sans-serif";

/// One run of a stat's text: its size and weight.
#[derive(Debug, Clone, Copy)]
pub struct Font {
    pub px: f64,
    pub weight: u16,
}

/// `text` cut with an ellipsis to fit `room` px.
pub fn shorten(m: &dyn Measure, text: &str, room: f64, f: Font) -> String {
    if m.width(text, f.px, f.weight) <= room {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    (1..chars.len())
        .rev()
        .map(|n| format!("{}…", chars[..n].iter().collect::<String>().trim_end()))
        .find(|t| m.width(t, f.px, f.weight) <= room)
        .unwrap_or_default()
}

/// A stat for [`card_stats`]: its label and the width of its value (the widest of its kind,
/// so cards of one kind label alike).
#[derive(Clone, Copy)]
pub struct Stat<'a> {
    pub label: &'a str,
    pub value_width: f64,
}

/// What of two stats goes on a card.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Shown {
    pub main_label: bool,
    pub second: bool,
    pub second_label: bool,
}

/// Which labels and stats go on a card `room` px wide: every value that fits whole, the labels
/// given up first (the main one first: its unit says most), then the second stat.
pub fn card_stats(
    m: &dyn Measure,
    main: Option<Stat>,
    second: Option<Stat>,
    room: f64,
    label: Font,
) -> Shown {
    const GAP: f64 = 10.0;
    let lw = |s: &Stat| {
        if s.label.is_empty() {
            0.0
        } else {
            m.width(&format!("{} ", s.label), label.px, label.weight)
        }
    };
    let width = |s: Option<&Stat>, labelled: bool| {
        s.map_or(0.0, |s| s.value_width + if labelled { lw(s) } else { 0.0 })
    };
    let gap = if main.is_some() && second.is_some() {
        GAP
    } else {
        0.0
    };
    let options = [
        (true, true, true),
        (false, true, true),
        (false, true, false),
        (true, false, false),
        (false, false, false),
    ];
    options
        .into_iter()
        .filter(|&(_, two, _)| two || second.is_none() || main.is_some())
        .map(|(main_label, two, second_label)| Shown {
            main_label: main_label && main.is_some(),
            second: two && second.is_some(),
            second_label,
        })
        .find(|c| {
            let w = width(main.as_ref(), c.main_label)
                + if c.second {
                    gap + width(second.as_ref(), c.second_label)
                } else {
                    0.0
                };
            w <= room
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const F12: Font = Font {
        px: 12.0,
        weight: 400,
    };

    #[test]
    fn names_are_cut_with_an_ellipsis_to_fit() {
        assert_eq!(shorten(&Estimate, "orders", 200.0, F12), "orders");
        let cut = shorten(&Estimate, "Source: impressions[1] -> Calc[2]", 100.0, F12);
        assert!(
            cut.ends_with('…') && Estimate.width(&cut, 12.0, 400) <= 100.0,
            "{cut}"
        );
        let chain = "Source: KafkaSource-default_catalog.default_database.clicks -> Calc[4]";
        // A Flink vertex is shortened by the model before it is cut (nodes.rs).
        let vertex = Some(pipeline_model::NodeKind::FlinkSource);
        let shown = pipeline_model::vertex_name::shown(vertex, chain);
        assert_eq!(shorten(&Estimate, &shown, 160.0, F12), "Source: clicks");
    }

    #[test]
    fn a_card_gives_up_labels_then_its_second_stat_never_a_value() {
        let stat = |label, value: &str| {
            Some(Stat {
                label,
                value_width: Estimate.width(value, 12.0, 400),
            })
        };
        let fit = |room| {
            card_stats(
                &Estimate,
                stat("lag", "182 K"),
                stat("time lag", "6 min"),
                room,
                F12,
            )
        };
        let shown = |main_label, second, second_label| Shown {
            main_label,
            second,
            second_label,
        };
        assert_eq!(fit(300.0), shown(true, true, true));
        assert_eq!(fit(160.0), shown(false, true, true));
        assert_eq!(fit(90.0), shown(false, true, false));
        assert_eq!(fit(60.0), shown(false, false, false));
    }
}
