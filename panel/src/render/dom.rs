//! Thin helpers over web-sys. Every piece of text from the data goes in through `textContent`,
//! so a name like `<img src=x onerror=alert(1)>` is shown as those characters, never parsed.

use wasm_bindgen::JsValue;
use web_sys::{Document, Element};

pub const SVG_NS: &str = "http://www.w3.org/2000/svg";

pub type Res<T> = Result<T, JsValue>;

/// An SVG element with a class, appended to `parent`.
pub fn svg_child(doc: &Document, parent: &Element, tag: &str, class: &str) -> Res<Element> {
    let el = doc.create_element_ns(Some(SVG_NS), tag)?;
    if !class.is_empty() {
        el.set_attribute("class", class)?;
    }
    parent.append_child(&el)?;
    Ok(el)
}

/// An SVG `<text>` with a class and the given text (as text).
pub fn svg_text(doc: &Document, parent: &Element, class: &str, text: &str) -> Res<Element> {
    let el = svg_child(doc, parent, "text", class)?;
    el.set_text_content(Some(text));
    Ok(el)
}

/// An HTML element with a class and optional text, appended to `parent`.
pub fn html_child(
    doc: &Document,
    parent: &Element,
    tag: &str,
    class: &str,
    text: Option<&str>,
) -> Res<Element> {
    let el = doc.create_element(tag)?;
    if !class.is_empty() {
        el.set_attribute("class", class)?;
    }
    if text.is_some() {
        el.set_text_content(text);
    }
    parent.append_child(&el)?;
    Ok(el)
}
