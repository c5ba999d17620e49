//! The page's theme: colours parsed into RGB (so nothing but a colour reaches the CSS),
//! asset URLs parsed into the forms the Content-Security-Policy can name, and the CSS.

use url::Url;

/// An sRGB colour, written `#rgb` or `#rrggbb`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Color {
    red: u8,
    green: u8,
    blue: u8,
}

impl Color {
    /// Parses `#rgb` or `#rrggbb` (case-insensitive); anything else is `None`.
    pub fn parse(text: &str) -> Option<Self> {
        let hex = text.trim().strip_prefix('#')?;
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let digit = |i: usize, len: usize| u8::from_str_radix(&hex[i..i + len], 16).ok();
        match hex.len() {
            3 => {
                let d = |i| digit(i, 1).map(|v| v * 17);
                Some(Self::rgb(d(0)?, d(1)?, d(2)?))
            }
            6 => Some(Self::rgb(digit(0, 2)?, digit(2, 2)?, digit(4, 2)?)),
            _ => None,
        }
    }

    /// A colour from its components.
    pub const fn rgb(red: u8, green: u8, blue: u8) -> Self {
        Self { red, green, blue }
    }

    /// `#rrggbb`.
    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.red, self.green, self.blue)
    }

    /// WCAG 2 relative luminance.
    fn luminance(self) -> f64 {
        let channel = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.039_28 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(self.red) + 0.7152 * channel(self.green) + 0.0722 * channel(self.blue)
    }

    /// WCAG 2 contrast ratio, 1 to 21.
    pub(crate) fn contrast(self, other: Color) -> f64 {
        let (a, b) = (self.luminance(), other.luminance());
        let (light, dark) = if a > b { (a, b) } else { (b, a) };
        (light + 0.05) / (dark + 0.05)
    }

    /// Whichever of the page's dark and light text reads better on this colour.
    pub(crate) fn text_on(self) -> Color {
        if self.contrast(DARK_TEXT) >= self.contrast(LIGHT_TEXT) {
            DARK_TEXT
        } else {
            LIGHT_TEXT
        }
    }
}

pub(crate) const DARK_TEXT: Color = Color::rgb(0x1d, 0x23, 0x30);
pub(crate) const LIGHT_TEXT: Color = Color::rgb(0xff, 0xff, 0xff);
const CARD: Color = Color::rgb(0xff, 0xff, 0xff);
/// WCAG AA for normal text.
const READABLE: f64 = 4.5;

/// A logo, stylesheet or footer link: an `https` URL (`http` for loopback hosts), a path on
/// this site, or (logos only) a `data:image/…` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AssetUrl {
    /// The URL as written into the page.
    pub href: String,
    /// What the Content-Security-Policy must allow for it: `'self'`, an origin or `data:`.
    pub source: String,
}

impl AssetUrl {
    pub(crate) fn parse(text: &str, allow_data: bool) -> Result<Self, String> {
        let text = text.trim();
        // An image in `<img>` runs no script, SVG included.
        if allow_data && text.starts_with("data:image/") {
            return Ok(Self {
                href: text.to_owned(),
                source: "data:".into(),
            });
        }
        if text.starts_with('/') {
            // The same check as `return_to`: no `//`, `/\`, whitespace or control characters
            // that a browser would strip into another host.
            let path = crate::return_to::sanitize(text)
                .ok_or_else(|| format!("`{text}` is not a plain path on this site"))?;
            return Ok(Self {
                href: path,
                source: "'self'".into(),
            });
        }
        let url = Url::parse(text).map_err(|e| format!("`{text}` is not a URL: {e}"))?;
        // The origin goes into the Content-Security-Policy: a host of letters, digits, dots
        // and hyphens (or an IP address) cannot add a directive there.
        let plain_host = match url.host() {
            Some(url::Host::Domain(host)) => host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-'),
            Some(_) => true,
            None => false,
        };
        if !plain_host || !url.username().is_empty() || url.password().is_some() {
            return Err(format!(
                "`{text}` must name a plain host, without credentials"
            ));
        }
        let loopback = matches!(
            url.host(),
            Some(url::Host::Ipv4(ip)) if ip.is_loopback()
        ) || matches!(url.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback())
            || url.host_str() == Some("localhost");
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            _ => {
                return Err(format!(
                    "`{text}` must be an https URL (http only on loopback) or a path such as /brand/logo.png"
                ))
            }
        }
        Ok(Self {
            href: url.to_string(),
            source: url.origin().ascii_serialization(),
        })
    }
}

/// The page's CSS for a theme. Only parsed colours are interpolated.
pub(crate) fn stylesheet(primary: Color, background: Color) -> String {
    let on_primary = primary.text_on();
    let on_background = background.text_on();
    // Links and focus rings sit on the white card: the primary colour when it reads there,
    // else the text colour.
    let accent = if primary.contrast(CARD) >= READABLE {
        primary
    } else {
        DARK_TEXT
    };
    format!(
        ":root{{--primary:{primary};--on-primary:{on_primary};--background:{background};--on-background:{on_background};--accent:{accent}}}\n{BASE_CSS}",
        primary = primary.hex(),
        on_primary = on_primary.hex(),
        background = background.hex(),
        on_background = on_background.hex(),
        accent = accent.hex(),
    )
}

const BASE_CSS: &str = include_str!("templates/page.css");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_parse_strictly() {
        assert_eq!(Color::parse("#0b5e44"), Some(Color::rgb(11, 94, 68)));
        assert_eq!(Color::parse("#FFF"), Some(Color::rgb(255, 255, 255)));
        for bad in [
            "0b5e44",
            "#0b5e4",
            "#0b5e44;}",
            "red",
            "#ggg",
            "url(x)",
            "#+12",
        ] {
            assert_eq!(Color::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn text_colour_keeps_contrast() {
        for colour in [
            "#ffffff", "#000000", "#0b5ed7", "#ffcc00", "#777777", "#0b5e44",
        ] {
            let c = Color::parse(colour).unwrap();
            assert!(c.contrast(c.text_on()) >= 4.0, "{colour}");
        }
        assert!((DARK_TEXT.contrast(DARK_TEXT) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn asset_urls_name_their_csp_source() {
        let logo = AssetUrl::parse("https://cdn.example.com/logo.png?v=2", true).unwrap();
        assert_eq!(logo.source, "https://cdn.example.com");
        assert_eq!(
            AssetUrl::parse("/brand/logo.svg", false).unwrap().source,
            "'self'"
        );
        assert_eq!(
            AssetUrl::parse("http://127.0.0.1:9000/x.css", false)
                .unwrap()
                .source,
            "http://127.0.0.1:9000"
        );
        assert_eq!(
            AssetUrl::parse("data:image/png;base64,AAAA", true)
                .unwrap()
                .source,
            "data:"
        );
        for bad in [
            "http://cdn.example.com/x.png",
            "javascript:alert(1)",
            "//evil.example/x",
            "ftp://x/y",
            "/\\evil.example",
            "/\t/evil.example/x.css",
            "https://cdn.x;sandbox/a.css",
            "https://cdn.x*/a.css",
            "https://user:pw@cdn.example.com/a.css",
        ] {
            assert!(AssetUrl::parse(bad, true).is_err(), "{bad}");
        }
        assert!(AssetUrl::parse("data:image/png;base64,AA", false).is_err());
    }
}
