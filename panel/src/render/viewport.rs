//! Zoom and pan: screen = content * scale + offset. Pure arithmetic, tested natively.

pub const MIN_SCALE: f64 = 0.02;
pub const MAX_SCALE: f64 = 4.0;
const MARGIN: f64 = 24.0;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct View {
    pub scale: f64,
    pub x: f64,
    pub y: f64,
}

impl Default for View {
    fn default() -> View {
        View {
            scale: 1.0,
            x: 0.0,
            y: 0.0,
        }
    }
}

impl View {
    /// The whole drawing, centred, never enlarged beyond its natural size. `top` keeps room for
    /// the warning line, `bottom` for the legend.
    pub fn fit(content: (f64, f64), panel: (f64, f64), top: f64, bottom: f64) -> View {
        let (cw, ch) = (content.0.max(1.0), content.1.max(1.0));
        let aw = (panel.0 - 2.0 * MARGIN).max(1.0);
        let ah = (panel.1 - 2.0 * MARGIN - top - bottom).max(1.0);
        let scale = (aw / cw).min(ah / ch).clamp(MIN_SCALE, 1.0);
        View {
            scale,
            x: (panel.0 - cw * scale) / 2.0,
            y: top + MARGIN + (ah - ch * scale) / 2.0,
        }
    }

    /// Zooms by `factor` keeping the content point under (`px`, `py`) in place.
    pub fn zoom_at(self, px: f64, py: f64, factor: f64) -> View {
        let scale = (self.scale * factor).clamp(MIN_SCALE, MAX_SCALE);
        let f = scale / self.scale;
        View {
            scale,
            x: px - (px - self.x) * f,
            y: py - (py - self.y) * f,
        }
    }

    pub fn pan(self, dx: f64, dy: f64) -> View {
        View {
            x: self.x + dx,
            y: self.y + dy,
            ..self
        }
    }

    pub fn transform(&self) -> String {
        format!(
            "translate({:.2},{:.2}) scale({:.4})",
            self.x, self.y, self.scale
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_drawings_are_centred_at_natural_size() {
        let v = View::fit((200.0, 100.0), (800.0, 400.0), 0.0, 0.0);
        assert_eq!(v.scale, 1.0);
        assert_eq!(v.x, 300.0);
        assert_eq!(v.y, 24.0 + (352.0 - 100.0) / 2.0);
    }

    #[test]
    fn large_drawings_shrink_to_fit() {
        let v = View::fit((10_000.0, 1_000.0), (1_048.0, 600.0), 0.0, 0.0);
        assert!((v.scale - 0.1).abs() < 1e-9);
        assert!((v.x - 24.0).abs() < 1e-9);
    }

    #[test]
    fn zoom_keeps_the_point_under_the_cursor() {
        let v = View {
            scale: 0.5,
            x: 10.0,
            y: 20.0,
        };
        let content = ((300.0 - v.x) / v.scale, (200.0 - v.y) / v.scale);
        let z = v.zoom_at(300.0, 200.0, 2.0);
        assert_eq!(z.scale, 1.0);
        assert!((content.0 * z.scale + z.x - 300.0).abs() < 1e-9);
        assert!((content.1 * z.scale + z.y - 200.0).abs() < 1e-9);
        assert_eq!(z.zoom_at(0.0, 0.0, 1000.0).scale, MAX_SCALE);
    }
}
