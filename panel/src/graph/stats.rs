//! A node's numbers as Grafana displays them. Our datasource writes `mainstat` as text
//! ("busy 97 %") and the same number in a `detail__busy` field that carries its unit; the card
//! takes that field's display text, so card and tooltip show one number, formatted by Grafana.

use super::Shown;
use crate::handoff::Frame;

/// Field `name` of `row` as a labelled number, preferring the detail field it names.
pub fn stat(frame: &Frame, name: &str, row: usize, details: &[Shown]) -> Option<Shown> {
    let field = frame.field(name)?;
    let text = field.column.display(row).filter(|t| !t.trim().is_empty())?;
    if !matches!(field.column, crate::handoff::Column::Text(_)) {
        return Some(Shown {
            label: field.label.clone(),
            text,
            color: field.column.color(row),
            source: field.name.clone(),
        });
    }
    let text = text.trim();
    if let Some(d) = named_detail(text, details) {
        return Some(d.clone());
    }
    let (label, value) = split_label(text);
    Some(Shown {
        label: if label.is_empty() {
            field.label.clone()
        } else {
            label.to_string()
        },
        text: value.to_string(),
        color: None,
        source: field.name.clone(),
    })
}

/// The detail whose label starts `text` ("busy 97 %" names `busy`), the longest such label.
fn named_detail<'a>(text: &str, details: &'a [Shown]) -> Option<&'a Shown> {
    let lower = text.to_lowercase();
    details
        .iter()
        .filter(|d| !d.label.is_empty())
        .filter(|d| {
            let l = d.label.to_lowercase();
            lower
                .strip_prefix(&l)
                .is_some_and(|rest| rest.starts_with(' '))
        })
        .max_by_key(|d| d.label.len())
}

/// "records in 1234/s" -> ("records in", "1234/s"): the leading words without digits are the
/// label. Text without a number is all value ("HASH").
pub fn split_label(text: &str) -> (&str, &str) {
    let mut end = 0;
    for (i, word) in text.split_inclusive(' ').scan(0, |at, w| {
        let start = *at;
        *at += w.len();
        Some((start, w))
    }) {
        if word.chars().any(|c| c.is_ascii_digit()) {
            return (text[..end].trim_end(), text[i..].trim());
        }
        end = i + word.len();
    }
    ("", text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_label_is_the_words_before_the_number() {
        assert_eq!(split_label("records in 1234/s"), ("records in", "1234/s"));
        assert_eq!(split_label("busy 97 %"), ("busy", "97 %"));
        assert_eq!(split_label("12/s"), ("", "12/s"));
        assert_eq!(split_label("HASH"), ("", "HASH"));
    }

    #[test]
    fn a_text_stat_takes_the_display_of_the_detail_it_names() {
        let d = |label: &str, text: &str| Shown {
            label: label.into(),
            text: text.into(),
            color: None,
            source: format!("detail__{label}"),
        };
        let details = [d("records", "1"), d("records in", "1.23 K req/s")];
        let got = named_detail("records in 1234/s", &details).unwrap();
        assert_eq!(got.text, "1.23 K req/s");
        assert!(named_detail("recordsin 3", &details).is_none());
    }
}
